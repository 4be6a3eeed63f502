"""The cached incoming-call TwiML is byte for byte what VoiceResponse renders."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from routing.voice import twiml as t
from routing.voice.routing_table import Coordinator

TEAM = (
    Coordinator(3, "Carol", "+14155550103"),
    Coordinator(7, "Dan & Co", "+14155550107"),
)


@pytest.mark.parametrize(
    "call_sid, caller_id",
    [
        ("CA" + "0" * 32, "+14155550199"),
        ("CA" + "1" * 32, None),
        ('CA&<>"\n\t\r ?=+/é', '+1 "555" & <you>\n\t\r'),
        ("", ""),
        ("SwitchboardCallerIdSlot", "SwitchboardCallSidSlot"),
    ],
)
@pytest.mark.parametrize("round_number", [1, 2])
def test_ring_document_matches_voice_response(call_sid, caller_id, round_number):
    expected = str(
        t.ring_coordinators(
            TEAM, call_sid=call_sid, timeout=25, caller_id=caller_id, round_number=round_number
        )
    )
    cached = t.ring_coordinators_xml(
        TEAM, call_sid=call_sid, timeout=25, caller_id=caller_id, round_number=round_number
    )
    assert cached == expected
    dial = ET.fromstring(cached).find("Dial")
    assert dial.get("callerId") == caller_id
    assert [n.text for n in dial.findall("Number")] == [c.phone for c in TEAM]


def test_ring_document_follows_the_team():
    first = t.ring_coordinators_xml(TEAM, call_sid="CA1", timeout=20, caller_id=None)
    fewer = t.ring_coordinators_xml(TEAM[:1], call_sid="CA1", timeout=20, caller_id=None)
    assert len(ET.fromstring(first).find("Dial").findall("Number")) == 2
    assert len(ET.fromstring(fewer).find("Dial").findall("Number")) == 1


@pytest.mark.parametrize("name", ["Alice Smith", None, "O'Brien & <Sons>"])
@pytest.mark.parametrize("within_hours", [True, False])
def test_voicemail_document_matches_voice_response(name, within_hours):
    expected = str(t.voicemail(name, within_hours=within_hours))
    assert t.voicemail_xml(name, within_hours=within_hours) == expected
