"""Twilio voice webhooks. Thin: parse the form, call a service, answer TwiML.

Each takes the request's instant once (``request_now()``) and passes it to the service;
``never_fail`` commits the request's work once, after the answer is built.

No path here ever answers Twilio with an error or keeps it waiting: a failure or a database
that does not answer in time is logged and the caller gets TwiML, built without the
database, that still reaches a human or a voicemail (see ``safety.never_fail``).
"""

from __future__ import annotations

import logging
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from flask import Blueprint, Response, current_app, request
from twilio.twiml.voice_response import VoiceResponse

from ..clock import request_now
from ..database import get_session
from . import calls, conference
from . import twiml as t
from .routing_table import RoutingTable, RoutingTableCache
from .safety import never_fail
from .whisper import whisper_text

log = logging.getLogger(__name__)

bp = Blueprint("voice", __name__, url_prefix="/twilio/voice")
CACHE_EXTENSION = "switchboard_directory_cache"


def _snapshot() -> RoutingTable:
    cache: RoutingTableCache = current_app.extensions[CACHE_EXTENSION]
    return cache.get(get_session(), now=request_now())


def _region() -> str:
    return current_app.config.get("DEFAULT_REGION", "US")


def _int(name: str, source: Any = None) -> int | None:
    raw = (source if source is not None else request.form).get(name)
    try:
        return int(raw) if raw not in (None, "") else None
    except ValueError:
        return None


def _generic_whisper() -> VoiceResponse:
    """The whisper without the database: who is calling is unknown, pressing 1 still connects."""
    call_sid = request.args.get("call") or request.form.get("ParentCallSid") or ""
    return t.whisper(
        "Call for the sales team. Press 1 to take it.",
        call_sid=call_sid,
        coordinator_id=_int("coordinator", request.args),
    )


def _answer_without_db() -> VoiceResponse:
    """A coordinator pressed a key and the database cannot say who took it: 1 connects."""
    if (request.form.get("Digits") or "").strip() == "1":
        return t.connect_leg()
    return t.hang_up_leg()


def _dial_ended_without_db() -> VoiceResponse:
    """After the coordinators' <Dial>: a call that was taken ends; otherwise voicemail."""
    if (request.form.get("DialCallStatus") or "").strip() in calls.DIAL_PICKED_UP:
        return _hangup()
    return t.voicemail(None)


def _fallback_dial() -> VoiceResponse:
    return t.degraded(current_app.config)


@bp.post("/whisper")
@never_fail(_generic_whisper)
def whisper() -> Response:
    """Played to a coordinator who picked up: whose customer is calling; press 1."""
    call_sid = request.args.get("call") or request.form.get("ParentCallSid") or ""
    coordinator_id = _int("coordinator", request.args)
    text = whisper_text(get_session(), call_sid)
    return t.twiml(t.whisper(text, call_sid=call_sid, coordinator_id=coordinator_id))


@bp.post("/whisper-answer")
@never_fail(_answer_without_db)
def whisper_answer() -> Response:
    """The coordinator's key after the whisper: 1 connects her, anything else hangs up."""
    call_sid = request.args.get("call") or request.form.get("ParentCallSid") or ""
    coordinator_id = _int("coordinator", request.args)
    digits = (request.form.get("Digits") or "").strip()
    taken = calls.accept_whisper(get_session(), call_sid, coordinator_id, digits, now=request_now())
    return t.twiml(t.connect_leg() if taken else t.hang_up_leg())


@bp.post("/dial-complete")
@never_fail(_dial_ended_without_db)
def dial_complete() -> Response:
    """The coordinators' <Dial> ended (DialCallStatus): done, ring again, or voicemail."""
    params = calls.CallParams.from_form(request.form)
    decision = calls.complete_dial(
        get_session(),
        _snapshot(),
        params,
        dial_status=(request.form.get("DialCallStatus") or "").strip(),
        dial_duration=_int("DialCallDuration"),
        round_number=_int("round", request.args) or 1,
        now=request_now(),
    )
    if decision.action == "hangup":
        return t.twiml(t.empty() if params.call_status in calls.FINAL_STATUSES else _hangup())
    if decision.action == "ring_again":
        return t.twiml(
            t.ring_coordinators(
                decision.coordinators,
                call_sid=decision.call_sid,
                timeout=decision.ring_timeout,
                caller_id=decision.caller_id,
                round_number=2,
            )
        )
    return t.twiml(t.voicemail(decision.salesperson_name))


def _hangup() -> VoiceResponse:
    response = VoiceResponse()
    response.hangup()
    return response


@bp.post("/recording")
@never_fail(t.voicemail_thanks)
def recording() -> Response:
    """The voicemail was recorded: store it on the call's enquiry and thank the caller."""
    params = calls.CallParams.from_form(request.form)
    calls.record_voicemail(
        get_session(),
        _snapshot(),
        params,
        recording_url=request.form.get("RecordingUrl"),
        recording_seconds=_int("RecordingDuration"),
        now=request_now(),
    )
    return t.twiml(t.voicemail_thanks())


@bp.post("/transcription")
@never_fail(t.empty)
def transcription() -> Response:
    """Twilio's transcript of a voicemail: stored on the enquiry."""
    params = calls.CallParams.from_form(request.form)
    calls.record_transcription(
        get_session(),
        _snapshot(),
        params,
        status=(request.form.get("TranscriptionStatus") or "").strip(),
        text=request.form.get("TranscriptionText"),
        recording_url=request.form.get("RecordingUrl"),
        now=request_now(),
    )
    return t.twiml(t.empty())


def _timestamp() -> datetime | None:
    raw = request.form.get("Timestamp")
    if not raw:
        return None
    try:
        return parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None


@bp.post("/status")
@never_fail(t.empty)
def status() -> Response:
    """Status callback of a call: applied once, in any order; ends missed calls."""
    params = calls.CallParams.from_form(request.form)
    stamp = _timestamp()
    calls.apply_status(
        get_session(),
        _snapshot(),
        params,
        sequence=_int("SequenceNumber"),
        duration=_int("CallDuration"),
        timestamp=stamp if stamp is not None and stamp.tzinfo is not None else None,
        now=request_now(),
    )
    return t.twiml(t.empty())


@bp.post("/fallback")
def fallback() -> Response:
    """Twilio's fallback URL: dial the fallback numbers without touching the database."""
    return t.twiml(t.degraded(current_app.config))


@bp.post("/fallback/dial-complete")
def fallback_dial_complete() -> Response:
    """The fallback <Dial> ended: connected calls end; otherwise take a voicemail."""
    if (request.form.get("DialCallStatus") or "") in calls.DIAL_PICKED_UP:
        return t.twiml(_hangup())
    return t.twiml(t.voicemail(None))


@bp.post("/conference/pin")
@never_fail(_fallback_dial)
def conference_pin() -> Response:
    """A teleconference PIN was entered: join the room, ask again, or say goodbye."""
    attempt = _int("attempt", request.args) or 1
    snapshot = _snapshot()
    result = conference.check_pin(
        get_session(),
        pin=request.form.get("Digits") or "",
        dialled_number=calls.normalise_dialled(request.form.get("To") or "", _region()),
        org_number=snapshot.org_teleconference_number,
        attempt=attempt,
        now=request_now(),
    )
    if result.room:
        return t.twiml(t.join_conference(result.room, result.title))
    if result.attempts_left <= 0:
        return t.twiml(t.goodbye_wrong_pin())
    return t.twiml(t.ask_for_pin(attempt + 1, retry=True))
