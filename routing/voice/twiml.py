"""TwiML the voice webhooks answer with, built only through twilio's VoiceResponse."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote_plus, urlencode
from xml.sax.saxutils import escape

from flask import Response
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from .routing_table import Coordinator

log = logging.getLogger(__name__)

VOICE = "Polly.Amy"
PREFIX = "/twilio/voice"
# Twilio transcribes recordings of 2 to 120 seconds.
MAX_VOICEMAIL_SECONDS = 120


# Characters XML 1.0 does not allow anywhere, even escaped (control characters, lone
# surrogates, U+FFFE/U+FFFF). A caller id or a name imported from a file can carry them;
# VoiceResponse escapes markup but passes these through, and Twilio cannot parse the result.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(document: str) -> str:
    """``document`` without the characters XML cannot carry."""
    return _NOT_XML.sub("", document)


def twiml(response: VoiceResponse) -> Response:
    """A TwiML document as Twilio wants it (text/xml, HTTP 200)."""
    return Response(xml_safe(str(response)), status=200, mimetype="text/xml")


def url(path: str, **query: object) -> str:
    """A webhook URL relative to the request Twilio made (Twilio resolves it)."""
    params = {k: v for k, v in query.items() if v is not None}
    return f"{PREFIX}/{path}" + (f"?{urlencode(params)}" if params else "")


def say(target: VoiceResponse | Gather, text: str) -> None:
    target.say(text, voice=VOICE)


def ring_coordinators(
    coordinators: Iterable[Coordinator],
    *,
    call_sid: str,
    timeout: int,
    caller_id: str | None,
    round_number: int = 1,
) -> VoiceResponse:
    """Ring every coordinator at once; each hears the whisper before being connected."""
    response = VoiceResponse()
    dial = Dial(
        timeout=timeout,
        action=url("dial-complete", round=round_number),
        method="POST",
        caller_id=caller_id,
    )
    # One encoding per call, not per coordinator: this runs on every incoming call.
    whisper_url = url("whisper", call=call_sid) + "&coordinator="
    for coordinator in coordinators:
        dial.number(coordinator.phone, url=f"{whisper_url}{coordinator.user_id}", method="POST")
    response.append(dial)
    return response


# Stand-ins for the per-call values in a cached document. Letters only, so URL encoding
# and XML escaping leave them as they are and they can be found again in the output.
_CALL_SID_SLOT = "SwitchboardCallSidSlot"
_CALLER_ID_SLOT = "SwitchboardCallerIdSlot"
_SLOTS = re.compile(f"({_CALL_SID_SLOT}|{_CALLER_ID_SLOT})")
# What ElementTree does to an attribute value (besides &, < and >).
_ATTRIBUTE_ENTITIES = {'"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#09;"}


@functools.lru_cache(maxsize=64)
def _ring_template(
    coordinators: tuple[Coordinator, ...], timeout: int, round_number: int, with_caller_id: bool
) -> tuple[str, ...]:
    """``ring_coordinators`` rendered once through VoiceResponse, split at the slots."""
    document = str(
        ring_coordinators(
            coordinators,
            call_sid=_CALL_SID_SLOT,
            timeout=timeout,
            caller_id=_CALLER_ID_SLOT if with_caller_id else None,
            round_number=round_number,
        )
    )
    # Even items are literal text, odd items the slot names between them.
    return tuple(_SLOTS.split(document))


def ring_coordinators_xml(
    coordinators: tuple[Coordinator, ...],
    *,
    call_sid: str,
    timeout: int,
    caller_id: str | None,
    round_number: int = 1,
) -> str:
    """The same document as ``str(ring_coordinators(...))``, without rebuilding it.

    Every incoming call rings the same team with the same settings until the directory
    changes; only the CallSid (in the whisper URLs) and the callerId differ. Rendering
    the tree each time was a quarter of the request, so the document is rendered once
    per team and settings, and the two values are encoded here exactly as urlencode and
    ElementTree would.
    """
    parts = list(_ring_template(coordinators, timeout, round_number, caller_id is not None))
    values = {
        _CALL_SID_SLOT: escape(quote_plus(call_sid), _ATTRIBUTE_ENTITIES),
        _CALLER_ID_SLOT: escape(caller_id or "", _ATTRIBUTE_ENTITIES),
    }
    for i in range(1, len(parts), 2):
        parts[i] = values[parts[i]]
    return "".join(parts)


def whisper(text: str, *, call_sid: str, coordinator_id: int | None) -> VoiceResponse:
    """Played to the coordinator's leg: press 1 to take it; anything else hangs that leg up.

    A personal voicemail that answers never presses 1, so it never swallows the call.
    """
    response = VoiceResponse()
    answer = url("whisper-answer", call=call_sid, coordinator=coordinator_id)
    gather = Gather(
        num_digits=1, timeout=6, action=answer, method="POST", action_on_empty_result=True
    )
    say(gather, text)
    response.append(gather)
    # No key at all: report it, so the call is marked declined by this leg.
    response.redirect(answer, method="POST")
    return response


def connect_leg() -> VoiceResponse:
    """An empty document: the coordinator's leg is bridged to the caller."""
    return VoiceResponse()


def hang_up_leg() -> VoiceResponse:
    response = VoiceResponse()
    response.hangup()
    return response


def voicemail(salesperson_name: str | None, *, within_hours: bool = True) -> VoiceResponse:
    """Ask for a message in the salesperson's name and record it (transcribed)."""
    response = VoiceResponse()
    whose = f"{salesperson_name}'s line" if salesperson_name else "our sales team"
    if within_hours:
        greeting = f"Thank you for calling {whose}. Nobody can take your call right now."
    else:
        greeting = f"Thank you for calling {whose}. Our office is closed at the moment."
    say(
        response,
        f"{greeting} Please leave your name, number and message after the tone, "
        "and we will call you back.",
    )
    response.record(
        action=url("recording"),
        method="POST",
        max_length=MAX_VOICEMAIL_SECONDS,
        timeout=5,
        finish_on_key="#",
        play_beep=True,
        transcribe=True,
        transcribe_callback=url("transcription"),
    )
    say(response, "We did not receive a message. Goodbye.")
    response.hangup()
    return response


@functools.lru_cache(maxsize=4096)
def voicemail_xml(salesperson_name: str | None, *, within_hours: bool = True) -> str:
    """``str(voicemail(...))``, rendered once per line name and hours (no per-call value)."""
    return xml_safe(str(voicemail(salesperson_name, within_hours=within_hours)))


def voicemail_thanks() -> VoiceResponse:
    response = VoiceResponse()
    say(response, "Thank you. Your message has been passed on and we will call you back.")
    response.hangup()
    return response


def fallback(numbers: list[str], *, timeout: int) -> VoiceResponse:
    """Degraded mode, built without the database: dial the fallback numbers, or record."""
    if not numbers:
        return voicemail(None)
    response = VoiceResponse()
    dial = Dial(timeout=timeout, action=url("fallback/dial-complete"), method="POST")
    for number in numbers[:10]:
        dial.number(number)
    response.append(dial)
    return response


def degraded(config: Mapping[str, Any]) -> VoiceResponse:
    """What a caller hears when Switchboard cannot route the call (no database needed).

    The fallback numbers from the configuration, or a voicemail when there are none or
    they cannot be dialled.
    """
    try:
        return fallback(
            list(config.get("FALLBACK_NUMBERS") or []),
            timeout=int(config.get("RING_TIMEOUT_SECONDS") or 20),
        )
    except Exception:
        log.exception("fallback TwiML failed; recording a voicemail instead")
        return voicemail(None)


def ask_for_pin(attempt: int, *, retry: bool = False) -> VoiceResponse:
    response = VoiceResponse()
    action = url("conference/pin", attempt=attempt)
    gather = Gather(
        input="dtmf",
        finish_on_key="#",
        timeout=10,
        action=action,
        method="POST",
        action_on_empty_result=True,
    )
    if retry:
        say(gather, "Sorry, that PIN is not valid for a conference starting now. ")
    say(gather, "Please enter your conference PIN, followed by the hash key.")
    response.append(gather)
    response.redirect(action, method="POST")
    return response


def join_conference(room: str, title: str | None) -> VoiceResponse:
    response = VoiceResponse()
    say(response, f"Joining {title}." if title else "Joining your conference.")
    dial = Dial()
    dial.conference(room, start_conference_on_enter=True, end_conference_on_exit=False)
    response.append(dial)
    return response


def goodbye_wrong_pin() -> VoiceResponse:
    response = VoiceResponse()
    say(
        response,
        "Sorry, we could not find a conference for that PIN. Please check your invitation "
        "and call again. Goodbye.",
    )
    response.hangup()
    return response


def empty() -> VoiceResponse:
    return VoiceResponse()
