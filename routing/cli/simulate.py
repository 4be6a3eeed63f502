"""``switchboard simulate call``: walk a running server through a whole call, signed.

A newcomer starts the web process, opens the console, and runs this to watch a call
arrive, ring, get answered (or not) and end, exactly as Twilio's webhooks would drive it.
"""

from __future__ import annotations

import secrets
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import click
import requests
from flask import current_app
from flask.cli import with_appcontext
from twilio.request_validator import RequestValidator

MODES = ("answer", "no-answer", "voicemail", "abandon")


class SimulationFailed(click.ClickException):
    """The server answered something a real call could not continue with."""


@dataclass
class Twilio:
    """Plays Twilio's part: posts signed form requests and follows the TwiML."""

    http: requests.Session
    url: str  # where the server listens
    signed_base: str  # the public URL Twilio would have used (PUBLIC_BASE_URL)
    token: str
    echo: Callable[[str], Any] = click.echo
    timeout: float = 10.0

    def post(self, path: str, params: dict[str, str]) -> ET.Element:
        path = path if path.startswith("/") else "/" + path
        signature = RequestValidator(self.token).compute_signature(
            self.signed_base.rstrip("/") + path, params
        )
        try:
            response = self.http.post(
                urljoin(self.url.rstrip("/") + "/", path.lstrip("/")),
                data=params,
                headers={"X-Twilio-Signature": signature},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise SimulationFailed(f"cannot reach {self.url}: {exc}") from None
        if response.status_code != 200:
            raise SimulationFailed(
                f"POST {path} answered {response.status_code}: {response.text[:200]}"
                + (" (is TWILIO_AUTH_TOKEN the server's?)" if response.status_code == 403 else "")
            )
        try:
            return ET.fromstring(response.content)
        except ET.ParseError:
            raise SimulationFailed(f"POST {path} did not answer TwiML") from None


def _said(element: ET.Element) -> str:
    return " ".join((say.text or "").strip() for say in element.iter("Say"))


@dataclass
class _Call:
    """One simulated call: its form fields and its status callbacks, numbered in order."""

    twilio: Twilio
    base: dict[str, str]
    sequence: Iterator[int] = field(default_factory=lambda: iter(range(100)))

    @property
    def sid(self) -> str:
        return self.base["CallSid"]

    def status(self, value: str, **extra: str) -> None:
        self.twilio.post(
            "/twilio/voice/status",
            {**self.base, "CallStatus": value, "SequenceNumber": str(next(self.sequence)), **extra},
        )
        self.twilio.echo(f"  status callback: {value}")

    def dial_ended(self, action: str, call_status: str, dial_status: str, **extra: str):
        """The coordinators' <Dial> ended as Twilio reports it; the TwiML that follows."""
        form = {**self.base, "CallStatus": call_status, "DialCallStatus": dial_status}
        return self.twilio.post(action, {**form, **extra})


def simulate_call(
    twilio: Twilio,
    *,
    from_number: str,
    to_number: str,
    mode: str = "answer",
    talk_seconds: float = 5.0,
) -> str:
    """Drive one call through the server. Returns the CallSid."""
    echo = twilio.echo
    call = _Call(
        twilio,
        {
            "AccountSid": "AC" + "0" * 32,
            "CallSid": "CA" + secrets.token_hex(16),
            "From": from_number,
            "To": to_number,
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
        },
    )
    echo(f"Call {call.sid} from {from_number} to {to_number}")
    root = twilio.post("/twilio/voice/incoming", {**call.base, "CallStatus": "ringing"})
    call.status("ringing")
    dial = root.find("Dial")
    if root.find("Gather") is not None:
        echo(f"  teleconference dial-in: {_said(root)!r}")
        call.status("completed", CallDuration="3")
        return call.sid
    if dial is None:
        echo(f"  no coordinator rings (closed or nobody available): {_said(root)!r}")
        _leave_voicemail(twilio, call.base, root, echo)
        call.status("completed", CallDuration="25")
        return call.sid

    numbers = dial.findall("Number")
    echo(f"  ringing {len(numbers)} coordinator(s): {', '.join(n.text or '' for n in numbers)}")
    action = dial.get("action") or "/twilio/voice/dial-complete"
    if mode == "abandon":
        time.sleep(min(talk_seconds, 2))
        echo("  the caller hangs up before anyone answers")
        call.dial_ended(action, "completed", "no-answer")
        call.status("completed", CallDuration="8")
        return call.sid
    if mode in ("answer", "voicemail") and numbers:
        _coordinator_picks_up(call, numbers[0], press_1=mode == "answer")
        if mode == "answer":
            _talk_and_hang_up(call, action, talk_seconds)
            return call.sid
        root = _ring_the_others(call, action)
    else:
        root = call.dial_ended(action, "in-progress", "no-answer")
    echo(f"  nobody took the call: {_said(root)!r}")
    _leave_voicemail(twilio, call.base, root, echo)
    call.status("completed", CallDuration="40")
    return call.sid


def _coordinator_picks_up(call: _Call, number: ET.Element, *, press_1: bool) -> None:
    """Her leg hears the whisper; she presses 1, or (her own voicemail) no key at all."""
    twilio = call.twilio
    leg = {**call.base, "CallSid": "CA" + secrets.token_hex(16), "ParentCallSid": call.sid}
    leg.update({"To": number.text or "", "Direction": "outbound-api"})
    whisper = twilio.post(number.get("url") or "", {**leg, "CallStatus": "in-progress"})
    twilio.echo(f"  {number.text} answers and hears: {_said(whisper)!r}")
    gather = whisper.find("Gather")
    if gather is None:
        raise SimulationFailed("the whisper did not ask for a key")
    digits = "1" if press_1 else ""
    twilio.echo("  presses 1" if digits else "  (a personal voicemail picked up: no key pressed)")
    answer = twilio.post(gather.get("action") or "", {**leg, "Digits": digits})
    if press_1 and answer.find("Hangup") is not None:
        raise SimulationFailed("pressing 1 did not connect the call")


def _talk_and_hang_up(call: _Call, action: str, talk_seconds: float) -> None:
    call.status("in-progress")
    call.twilio.echo(f"  connected; talking for {talk_seconds:g} s (watch the console)")
    time.sleep(talk_seconds)
    call.dial_ended(action, "in-progress", "completed", DialCallDuration=str(round(talk_seconds)))
    call.status("completed", CallDuration=str(round(talk_seconds) + 4))
    call.twilio.echo("  call completed")


def _ring_the_others(call: _Call, action: str) -> ET.Element:
    """A leg picked up without pressing 1: the rest of the team rings once more, unanswered."""
    after = call.dial_ended(action, "in-progress", "completed")
    again = after.find("Dial")
    if again is None:
        return after
    call.twilio.echo(
        f"  ringing the rest of the team again: {len(again.findall('Number'))} phone(s)"
    )
    return call.dial_ended(again.get("action") or action, "in-progress", "no-answer")


def _leave_voicemail(twilio: Twilio, base: dict[str, str], root: ET.Element, echo) -> None:
    record = root.find("Record")
    if record is None:
        raise SimulationFailed("expected a voicemail prompt (<Record>)")
    recording = {
        **base,
        "CallStatus": "in-progress",
        "RecordingSid": "RE" + secrets.token_hex(16),
        "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/simulated",
        "RecordingDuration": "12",
    }
    thanks = twilio.post(record.get("action") or "/twilio/voice/recording", recording)
    echo(f"  voicemail left (12 s); caller hears: {_said(thanks)!r}")
    callback = record.get("transcribeCallback")
    if callback:
        twilio.post(
            callback,
            {
                **recording,
                "TranscriptionStatus": "completed",
                "TranscriptionText": "Hello, this is a simulated caller. Please call me back.",
            },
        )
        echo("  transcription delivered")


@click.group()
def simulate() -> None:
    """Play Twilio's part against a running server (for demos and newcomers)."""


@simulate.command("call")
@click.option("--from", "from_number", required=True, help="The caller's number.")
@click.option("--to", "to_number", required=True, help="The Twilio number called (a line's).")
@click.option("--answer", "mode", flag_value="answer", default=True, help="A coordinator takes it.")
@click.option("--no-answer", "mode", flag_value="no-answer", help="Nobody takes it; voicemail.")
@click.option(
    "--voicemail",
    "mode",
    flag_value="voicemail",
    help="A coordinator's own voicemail picks up; the team rings again, then voicemail.",
)
@click.option("--abandon", "mode", flag_value="abandon", help="The caller hangs up while ringing.")
@click.option("--url", default="http://127.0.0.1:5000", show_default=True, help="The server.")
@click.option("--talk", "talk_seconds", default=5.0, show_default=True, help="Seconds connected.")
@with_appcontext
def call_command(
    from_number: str, to_number: str, mode: str, url: str, talk_seconds: float
) -> None:
    """Post correctly signed webhooks for one call: incoming, ringing, answer or voicemail."""
    config = current_app.config
    twilio = Twilio(
        http=requests.Session(),
        url=url,
        signed_base=config.get("PUBLIC_BASE_URL") or url,
        token=config["TWILIO_AUTH_TOKEN"],
    )
    simulate_call(
        twilio, from_number=from_number, to_number=to_number, mode=mode, talk_seconds=talk_seconds
    )
