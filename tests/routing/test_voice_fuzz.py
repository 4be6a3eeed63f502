"""Whatever Twilio (or a carrier behind it) puts in a webhook's form, the caller gets TwiML.

Hypothesis generates correctly signed forms — odd and withheld numbers, unicode, missing
fields, huge values, NUL bytes, numbers where text is expected and the reverse — for every
webhook under /twilio/. Each must answer 200 with a TwiML document, never an error. The
reliability suite runs the same property with many more cases and records the figure.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import urlencode

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.twilio_signing import signed_post

MAX_FORM_BYTES = 64 * 1024  # /incoming refuses larger bodies (413): not Twilio's

ODD_NUMBERS = [
    "",
    "anonymous",
    "Anonymous",
    "+266696687",
    "266696687",
    "restricted",
    "unknown",
    "+",
    "00",
    "+1",
    "+1 (202) 555-0111",
    "client:alice",
    "sip:bob@example.com",
    "+16465550101",
    "+442071838750",
    "0",
]
STATUSES = [
    "queued",
    "ringing",
    "in-progress",
    "completed",
    "busy",
    "failed",
    "no-answer",
    "canceled",
    "answered",
]


def _huge(alphabet: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda c, n: c * n, alphabet, st.integers(min_value=500, max_value=3000))


def _value(specials: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(specials),
        st.from_regex(r"\+?[0-9 ()-]{0,34}", fullmatch=True),
        st.text(max_size=40),
        st.integers(min_value=-(10**30), max_value=10**30).map(str),
        _huge(st.characters(codec="utf-8")),
    )


def _sid() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(alphabet="0123456789abcdef", min_size=32, max_size=32).map(lambda h: "CA" + h),
        _value(["", "CA", "CA" + "f" * 200]),
    )


TWILIO_FORM = st.fixed_dictionaries(
    {},
    optional={
        "AccountSid": _value(["AC" + "a" * 32]),
        "CallSid": _sid(),
        "ParentCallSid": _sid(),
        "From": _value(ODD_NUMBERS),
        "To": _value(ODD_NUMBERS),
        "Caller": _value(ODD_NUMBERS),
        "Called": _value(ODD_NUMBERS),
        "ForwardedFrom": _value(ODD_NUMBERS),
        "Direction": _value(["inbound", "outbound-dial", "outbound-api"]),
        "CallStatus": _value(STATUSES),
        "DialCallStatus": _value(STATUSES),
        "DialCallDuration": _value(["0", "30", "-1"]),
        "CallDuration": _value(["0", "42", "99999999999"]),
        "SequenceNumber": _value(["0", "1", "2", "-3"]),
        "Timestamp": _value(["Tue, 01 Dec 2026 09:00:00 +0000", "Tue, 01 Dec 2026 09:00:00"]),
        "Digits": _value(["1", "2", "#", "482913", "*"]),
        "RecordingUrl": _value(["https://api.twilio.com/RE1", "javascript:alert(1)"]),
        "RecordingDuration": _value(["5", "0", "121"]),
        "TranscriptionStatus": _value(["completed", "failed"]),
        "TranscriptionText": _value(["Call me back please."]),
    },
)
# Any extra field a future Twilio might add.
EXTRA_FIELDS = st.dictionaries(st.text(min_size=1, max_size=20), st.text(max_size=40), max_size=3)
# Query values stay URL-safe: Twilio requests the action URLs we wrote, and werkzeug's test
# client would re-quote anything else (the signed URL then differs from the one received).
SAFE_TEXT = st.text(alphabet="abcXYZ0123456789-_.~", max_size=12)
QUERY_INT = st.one_of(st.integers(min_value=-5, max_value=10**12).map(str), SAFE_TEXT)
QUERY_SID = st.one_of(
    st.text(alphabet="0123456789abcdef", min_size=32, max_size=32).map(lambda h: "CA" + h),
    SAFE_TEXT,
)


@st.composite
def webhook_paths(draw: st.DrawFn) -> str:
    """A webhook under /twilio/ with whatever its query or path parameters may be."""
    kind = draw(
        st.sampled_from(
            [
                "incoming",
                "status",
                "fallback",
                "fallback/dial-complete",
                "dial-complete",
                "recording",
                "transcription",
                "whisper",
                "whisper-answer",
                "conference/pin",
                "console/transfer",
                "console/announce",
                "console/callback",
            ]
        )
    )
    if kind.startswith("console/"):
        ids = draw(st.lists(st.integers(min_value=0, max_value=2**62), min_size=2, max_size=2))
        tail = f"/{ids[0]}/{ids[1]}" if kind == "console/transfer" else f"/{ids[0]}"
        return f"/twilio/{kind}{tail}"
    query: dict[str, str] = {}
    if kind in ("whisper", "whisper-answer"):
        query = {"call": draw(QUERY_SID), "coordinator": draw(QUERY_INT)}
    elif kind == "conference/pin":
        query = {"attempt": draw(QUERY_INT)}
    elif kind == "dial-complete":
        query = {"round": draw(QUERY_INT)}
    query = {k: v for k, v in query.items() if draw(st.booleans())}
    return f"/twilio/voice/{kind}" + (f"?{urlencode(query)}" if query else "")


def assert_twiml(response, path: str) -> None:
    assert response.status_code == 200, (path, response.status_code, response.data[:300])
    assert response.mimetype == "text/xml", (path, response.mimetype)
    assert ET.fromstring(response.data).tag == "Response", (path, response.data[:300])


def fuzz_webhooks(client, max_examples: int) -> int:
    """Post ``max_examples`` generated, signed forms; the number of cases that ran."""
    cases = [0]

    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(path=webhook_paths(), form=TWILIO_FORM, extra=EXTRA_FIELDS)
    def property_(path: str, form: dict[str, str], extra: dict[str, str]) -> None:
        params = {**extra, **form}
        assume(len(urlencode(params).encode()) <= MAX_FORM_BYTES)
        assert_twiml(signed_post(client, path, params), path)
        cases[0] += 1

    property_()
    return cases[0]


def test_any_signed_twilio_form_gets_twiml_never_an_error(client):
    assert fuzz_webhooks(client, max_examples=100) >= 60
