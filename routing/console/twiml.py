"""TwiML for calls the console controls: warm transfers and click-to-call.

Under /twilio/, so the app-level check refuses any request without Twilio's signature; like
every webhook there, each answers TwiML built without the database when the database fails
or does not answer in time (``never_fail``).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, url_for
from sqlalchemy import select
from twilio.twiml.voice_response import Dial, VoiceResponse

from models import Call, Enquiry, Job, Line, User
from models.job import OPEN_JOB_STATUSES

from ..database import get_session
from ..desk.live import caller_label
from ..security import csrf
from ..voice import twiml as voice_twiml
from ..voice.safety import never_fail

bp = Blueprint("console_twiml", __name__, url_prefix="/twilio/console")
csrf.exempt(bp)

VOICE = "Polly.Amy"


def _twiml(response: VoiceResponse) -> Response:
    return Response(str(response), status=200, mimetype="text/xml")


def _sorry_twiml(text: str) -> VoiceResponse:
    response = VoiceResponse()
    response.say(text, voice=VOICE)
    response.hangup()
    return response


def _sorry(text: str) -> Response:
    return _twiml(_sorry_twiml(text))


def _transfer_without_db() -> VoiceResponse:
    """The caller was being transferred: ring the fallback numbers (or take a voicemail)."""
    return voice_twiml.degraded(current_app.config)


def _announce_without_db() -> VoiceResponse:
    response = VoiceResponse()
    response.say("Transferred call. Connecting you now.", voice=VOICE)
    return response


def _callback_without_db() -> VoiceResponse:
    return _sorry_twiml("Sorry, the call back could not be placed. Please try again.")


@bp.post("/transfer/<int:call_id>/<int:user_id>")
@never_fail(_transfer_without_db)
def transfer(call_id: int, user_id: int):
    """The caller's leg, redirected by the console: hold on, then ring the account manager.

    She hears who is calling first (the ``url`` of her <Number>), then is connected.
    """
    session = get_session()
    call = session.get(Call, call_id)
    manager = session.get(User, user_id)
    if call is None or manager is None or not manager.phone:
        return _sorry("Sorry, we could not transfer your call. We will call you back shortly.")
    response = VoiceResponse()
    response.say(f"Please hold while I put you through to {manager.name}.", voice=VOICE)
    dial = Dial(caller_id=call.to_number, timeout=25)
    dial.number(
        manager.phone,
        url=url_for("console_twiml.announce", call_id=call.id),
        method="POST",
    )
    response.append(dial)
    response.say(
        f"{manager.name} is not available right now. She will call you back shortly. Goodbye.",
        voice=VOICE,
    )
    return _twiml(response)


@bp.post("/announce/<int:call_id>")
@never_fail(_announce_without_db)
def announce(call_id: int):
    """Played to the account manager before the caller is connected: who it is and why."""
    session = get_session()
    call = session.get(Call, call_id)
    response = VoiceResponse()
    if call is None:
        response.say("Transferred call.", voice=VOICE)
        return _twiml(response)
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
    response.say(text + " Connecting you now.", voice=VOICE)
    return _twiml(response)


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
    response.say(f"Calling {who} back now.", voice=VOICE)
    dial = Dial(caller_id=line.twilio_number if line else None, timeout=30)
    dial.number(enquiry.caller_number)
    response.append(dial)
    return _twiml(response)
