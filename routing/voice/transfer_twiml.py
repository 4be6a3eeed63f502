"""TwiML for calls the console controls: warm and cold transfers and click-to-call.

The console redirects a live call here (routing/console/calls.py) and places click-to-call
callbacks through these URLs. Under /twilio/, so the app-level check refuses any request
without Twilio's signature; like every webhook there, each answers TwiML built without
the database when the database fails or does not answer in time (``never_fail``).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request, url_for
from sqlalchemy import select
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from models import Call, Enquiry, Job, Line, User
from models.job import OPEN_JOB_STATUSES

from ..clock import request_now
from ..database import get_session
from ..desk.live import caller_label
from . import transfer
from . import twiml as t
from .safety import never_fail

# The endpoint names ("console_twiml.…") are in the console's templates and in the URLs
# Twilio already holds for live calls: they stay as they are.
bp = Blueprint("console_twiml", __name__, url_prefix="/twilio/console")


def _sorry(text: str) -> Response:
    response = VoiceResponse()
    t.say(response, text)
    response.hangup()
    return t.twiml(response)


def _transfer_without_db() -> VoiceResponse:
    """The caller was being transferred: ring the fallback numbers (or take a voicemail)."""
    return t.degraded(current_app.config)


def _announce_without_db() -> VoiceResponse:
    response = VoiceResponse()
    t.say(response, "Transferred call. Connecting you now.")
    return response


def _callback_without_db() -> VoiceResponse:
    response = VoiceResponse()
    t.say(response, "Sorry, the call back could not be placed. Please try again.")
    response.hangup()
    return response


def _caller_voicemail() -> VoiceResponse:
    """A transfer step failed: the caller still reaches a voicemail that is followed up."""
    return t.voicemail(None)


def _connect() -> VoiceResponse:
    return VoiceResponse()


def _transfer_parties(call_id: int, user_id: int) -> tuple[Call | None, User | None]:
    session = get_session()
    return session.get(Call, call_id), session.get(User, user_id)


def _mode() -> str:
    mode = request.args.get("mode", transfer.WARM)
    return mode if mode in transfer.MODES else transfer.WARM


@bp.post("/transfer/<int:call_id>/<int:user_id>")
@never_fail(_transfer_without_db)
def transfer_call(call_id: int, user_id: int):
    """The caller's leg, redirected by the console: hold on, then ring the account manager.

    Warm (the default): she hears who is calling first and presses 1 to take it. Cold
    (``?mode=cold``): connected as soon as she answers. Either way the <Dial> action says
    what happened, so a finished call never hears "not available".
    """
    call, manager = _transfer_parties(call_id, user_id)
    if call is None or manager is None:
        return t.twiml(_caller_voicemail())
    if not manager.phone:
        # Her number was removed since the coordinator chose her: keep the promise anyway.
        transfer.callback_task_for_missed_transfer(get_session(), call, manager, request_now())
        return _sorry(
            f"Sorry, {manager.name} cannot be reached by phone right now. "
            f"{manager.name} will call you back within the hour. Goodbye."
        )
    mode = _mode()
    transfer.start_transfer(get_session(), call, manager, mode, request_now())
    response = VoiceResponse()
    t.say(response, f"Please hold while I put you through to {manager.name}.")
    dial = Dial(
        caller_id=call.to_number,
        timeout=25,
        action=url_for(
            "console_twiml.transfer_complete", call_id=call.id, user_id=manager.id, mode=mode
        ),
        method="POST",
    )
    if mode == transfer.WARM:
        dial.number(
            manager.phone,
            url=url_for("console_twiml.announce", call_id=call.id, user=manager.id),
            method="POST",
        )
    else:
        dial.number(manager.phone)
    response.append(dial)
    return t.twiml(response)


@bp.post("/transfer/<int:call_id>/<int:user_id>/accept")
@never_fail(t.hang_up_leg)
def transfer_accept(call_id: int, user_id: int):
    """The account manager's key after the announcement: 1 connects her to the caller."""
    call, manager = _transfer_parties(call_id, user_id)
    if call is None or manager is None:
        return t.twiml(t.hang_up_leg())
    taken = transfer.accept_transfer(
        get_session(), call, manager, request.form.get("Digits") or "", request_now()
    )
    return t.twiml(_connect() if taken else t.hang_up_leg())


@bp.post("/transfer/<int:call_id>/<int:user_id>/complete")
@never_fail(_caller_voicemail)
def transfer_complete(call_id: int, user_id: int):
    """Her <Dial> ended (DialCallStatus): done, or an honest apology, voicemail or callback."""
    call, manager = _transfer_parties(call_id, user_id)
    if call is None or manager is None:
        return t.twiml(_caller_voicemail())
    raw_duration = request.form.get("DialCallDuration") or ""
    result = transfer.complete_transfer(
        get_session(),
        call,
        manager,
        mode=_mode(),
        dial_status=(request.form.get("DialCallStatus") or "").strip(),
        dial_duration=int(raw_duration) if raw_duration.isdigit() else None,
        call_status=(request.form.get("CallStatus") or "").strip(),
        now=request_now(),
    )
    response = VoiceResponse()
    if result.connected or result.caller_gone:
        if not result.caller_gone:
            response.hangup()
        return t.twiml(response)
    t.say(response, f"{result.apology} {result.manager_name} will call you back within the hour.")
    gather = Gather(
        num_digits=1,
        timeout=6,
        action=url_for("console_twiml.transfer_choice", call_id=call.id, user_id=manager.id),
        method="POST",
    )
    t.say(
        gather,
        f"To leave {result.manager_name} a message now, press 1. "
        "To simply be called back, press 2, or hang up.",
    )
    response.append(gather)
    _goodbye(response, result.manager_name)
    return t.twiml(response)


def _goodbye(response: VoiceResponse, name: str) -> None:
    t.say(response, f"Thank you. {name} will call you back. Goodbye.")
    response.hangup()


@bp.post("/transfer/<int:call_id>/<int:user_id>/choice")
@never_fail(_caller_voicemail)
def transfer_choice(call_id: int, user_id: int):
    """The caller's key: 1 records a message for her; anything else ends with the promise."""
    call, manager = _transfer_parties(call_id, user_id)
    name = manager.name if manager else "We"
    response = VoiceResponse()
    if call is None or manager is None or (request.form.get("Digits") or "").strip() != "1":
        _goodbye(response, name)
        return t.twiml(response)
    t.say(
        response, f"Please leave your message for {name} after the tone, then press the pound key."
    )
    response.record(
        action=url_for("console_twiml.transfer_recording", call_id=call.id, user_id=manager.id),
        method="POST",
        max_length=120,
        finish_on_key="#",
        play_beep=True,
    )
    _goodbye(response, name)
    return t.twiml(response)


@bp.post("/transfer/<int:call_id>/<int:user_id>/recording")
@never_fail(t.voicemail_thanks)
def transfer_recording(call_id: int, user_id: int):
    """Her voicemail was recorded: kept on the call and her callback task."""
    call, manager = _transfer_parties(call_id, user_id)
    if call is None or manager is None:
        return t.twiml(t.voicemail_thanks())
    raw_seconds = request.form.get("RecordingDuration") or ""
    transfer.record_transfer_voicemail(
        get_session(),
        call,
        manager,
        recording_url=request.form.get("RecordingUrl"),
        seconds=int(raw_seconds) if raw_seconds.isdigit() else None,
        now=request_now(),
    )
    response = VoiceResponse()
    t.say(response, f"Thank you. {manager.name} has your message and will call you back. Goodbye.")
    response.hangup()
    return t.twiml(response)


def _announcement(session, call: Call) -> str:
    parts = [f"Transferred call from {caller_label(call, call.customer)}"]
    if call.customer and call.customer.company:
        parts.append(f"of {call.customer.company}")
    line = session.get(Line, call.line_id) if call.line_id else None
    if line is not None:
        parts.append(f"on {line.salesperson.name}'s line")
    text = " ".join(parts) + "."
    if call.customer is not None:
        job = session.scalars(
            select(Job)
            .where(Job.customer_id == call.customer.id, Job.status.in_(OPEN_JOB_STATUSES))
            .order_by(Job.created_at.desc())
        ).first()
        if job is not None:
            text += f" Job {job.reference}."
    if call.disposition_notes:
        text += f" Note: {call.disposition_notes}"
    return text


@bp.post("/announce/<int:call_id>")
@never_fail(_announce_without_db)
def announce(call_id: int):
    """Played to the account manager before the caller is connected: who it is and why.

    She presses 1 to take the call; no key (or her own voicemail answering) hangs her leg
    up, and the caller is offered a voicemail or a callback instead.
    """
    session = get_session()
    call = session.get(Call, call_id)
    response = VoiceResponse()
    if call is None:
        t.say(response, "Transferred call.")
        return t.twiml(response)
    text = _announcement(session, call)
    user_id = request.args.get("user", "")
    if not user_id.isdigit():
        t.say(response, text + " Connecting you now.")
        return t.twiml(response)
    gather = Gather(
        num_digits=1,
        timeout=8,
        action=url_for("console_twiml.transfer_accept", call_id=call.id, user_id=int(user_id)),
        method="POST",
    )
    t.say(gather, text + " Press 1 to take the call.")
    response.append(gather)
    t.say(response, "The caller will be offered a callback. Goodbye.")
    response.hangup()
    return t.twiml(response)


@bp.post("/callback/<int:enquiry_id>")
@never_fail(_callback_without_db)
def callback(enquiry_id: int):
    """The coordinator answered the console's click-to-call: now dial the customer."""
    session = get_session()
    enquiry = session.get(Enquiry, enquiry_id)
    if enquiry is None or not enquiry.caller_number:
        return _sorry("Sorry, this enquiry has no number to call back.")
    line = session.get(Line, enquiry.line_id) if enquiry.line_id else None
    who = enquiry.customer.name if enquiry.customer else "the caller"
    response = VoiceResponse()
    t.say(response, f"Calling {who} back now.")
    dial = Dial(caller_id=line.twilio_number if line else None, timeout=30)
    dial.number(enquiry.caller_number)
    response.append(dial)
    return t.twiml(response)
