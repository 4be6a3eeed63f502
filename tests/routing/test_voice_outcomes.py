"""After the ringing: DialCallStatus, voicemail, transcription, status callbacks."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from sqlalchemy import func, select

from models import Call, CallEvent, CallResult, Enquiry, EnquiryKind
from routing.clock import EXTENSION
from tests.routing.test_voice_support import (
    incoming,
    make_office,
    new_sid,
    org_settings,
    parse,
    post,
    said,
)


def the_call(db_session, sid: str) -> Call:
    db_session.expire_all()
    return db_session.scalar(select(Call).where(Call.call_sid == sid))


def enquiries_of(db_session, sid: str) -> list[Enquiry]:
    db_session.expire_all()
    return list(db_session.scalars(select(Enquiry).join(Call).where(Call.call_sid == sid)))


def answer(client, sid: str, coordinator_id: int):
    return post(
        client,
        f"/twilio/voice/whisper-answer?call={sid}&coordinator={coordinator_id}",
        CallSid=new_sid(),
        ParentCallSid=sid,
        Digits="1",
    )


def dial_complete(client, sid: str, status: str, *, round_number: int = 1, **extra: str):
    return post(
        client,
        f"/twilio/voice/dial-complete?round={round_number}",
        CallSid=sid,
        CallStatus=extra.pop("CallStatus", "in-progress"),
        DialCallStatus=status,
        **extra,
    )


@pytest.fixture
def office(db_session):
    return make_office(db_session, coordinators=2)


def test_a_taken_call_ends_when_the_dial_completes(client, db_session, office):
    sid, _ = incoming(client, to=office.alice_line)
    answer(client, sid, office.coordinators[0].id)
    root = parse(dial_complete(client, sid, "completed", DialCallDuration="95"))
    assert [el.tag for el in root] == ["Hangup"]
    call = the_call(db_session, sid)
    assert call.result == CallResult.ANSWERED
    assert call.talk_seconds == 95
    assert call.dial_status == "completed"
    assert enquiries_of(db_session, sid) == []


@pytest.mark.parametrize("status", ["no-answer", "busy", "failed", "canceled"])
def test_nobody_taking_it_sends_the_caller_to_voicemail(client, db_session, office, status):
    sid, _ = incoming(client, to=office.alice_line)
    root = parse(dial_complete(client, sid, status))
    assert root.find("Record") is not None
    assert "Alice Smith's line" in said(root)
    call = the_call(db_session, sid)
    assert call.result == CallResult.NO_ANSWER and call.dial_status == status


@pytest.mark.parametrize("status", ["completed", "answered"])
def test_a_leg_that_picked_up_without_pressing_1_rings_the_others_again(
    client, db_session, office, status
):
    # Coordinator 0's personal voicemail answered (and so cancelled the other legs).
    sid, _ = incoming(client, to=office.alice_line)
    first, second = office.coordinators
    post(
        client,
        f"/twilio/voice/whisper-answer?call={sid}&coordinator={first.id}",
        CallSid=new_sid(),
        ParentCallSid=sid,
        Digits="",
    )
    root = parse(dial_complete(client, sid, status))
    dial = root.find("Dial")
    assert dial is not None and dial.get("action") == "/twilio/voice/dial-complete?round=2"
    assert [n.text for n in dial.findall("Number")] == [second.phone]
    # The second round is not taken either: voicemail, never a dropped caller.
    root = parse(dial_complete(client, sid, status, round_number=2))
    assert root.find("Record") is not None


def test_when_everyone_declined_the_caller_goes_to_voicemail(client, db_session, office):
    sid, _ = incoming(client, to=office.alice_line)
    for coordinator in office.coordinators:
        post(
            client,
            f"/twilio/voice/whisper-answer?call={sid}&coordinator={coordinator.id}",
            CallSid=new_sid(),
            ParentCallSid=sid,
            Digits="9",
        )
    root = parse(dial_complete(client, sid, "completed"))
    assert root.find("Record") is not None and root.find("Dial") is None


def test_a_caller_hanging_up_while_it_rings_is_an_abandoned_enquiry(client, db_session, office):
    sid, _ = incoming(client, to=office.alice_line)
    parse(dial_complete(client, sid, "no-answer", CallStatus="completed"))
    call = the_call(db_session, sid)
    assert call.result == CallResult.ABANDONED
    [enquiry] = enquiries_of(db_session, sid)
    assert enquiry.kind == EnquiryKind.ABANDONED
    assert enquiry.caller_number == office.customer_phone
    assert enquiry.line_id == call.line_id and enquiry.customer_id == call.customer_id


def test_abandoned_when_only_the_status_callback_says_so(client, db_session, office):
    sid, _ = incoming(client, to=office.alice_line)
    post(
        client,
        "/twilio/voice/status",
        CallSid=sid,
        CallStatus="completed",
        SequenceNumber="2",
        CallDuration="12",
    )
    call = the_call(db_session, sid)
    assert call.result == CallResult.ABANDONED and call.duration_seconds == 12
    [enquiry] = enquiries_of(db_session, sid)
    assert enquiry.kind == EnquiryKind.ABANDONED


def test_a_voicemail_with_transcription_lands_on_the_enquiry(client, db_session, office):
    org_settings(db_session, enquiry_sla_minutes=30)
    sid, _ = incoming(client, to=office.alice_line)
    dial_complete(client, sid, "no-answer")
    url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"
    root = parse(
        post(
            client,
            "/twilio/voice/recording",
            CallSid=sid,
            RecordingUrl=url,
            RecordingDuration="14",
            RecordingSid="RE1",
        )
    )
    assert "Thank you" in said(root) and root.find("Hangup") is not None
    post(client, "/twilio/voice/status", CallSid=sid, CallStatus="completed", SequenceNumber="3")
    post(
        client,
        "/twilio/voice/transcription",
        CallSid=sid,
        RecordingUrl=url,
        TranscriptionStatus="completed",
        TranscriptionText="Please call me about 4711.",
    )
    [enquiry] = enquiries_of(db_session, sid)
    assert enquiry.kind == EnquiryKind.VOICEMAIL
    assert enquiry.recording_url == url and enquiry.recording_seconds == 14
    assert enquiry.transcript == "Please call me about 4711."
    # Always open around the clock here (no hours configured): 30 plain minutes.
    minutes = (enquiry.sla_deadline - enquiry.created_at).total_seconds() / 60
    assert minutes == pytest.approx(30, abs=0.1)
    assert the_call(db_session, sid).result == CallResult.VOICEMAIL


def test_a_voicemail_whose_transcription_failed_keeps_the_recording(client, db_session, office):
    sid, _ = incoming(client, to=office.alice_line)
    dial_complete(client, sid, "busy")
    url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE2"
    post(client, "/twilio/voice/recording", CallSid=sid, RecordingUrl=url, RecordingDuration="150")
    post(
        client,
        "/twilio/voice/transcription",
        CallSid=sid,
        RecordingUrl=url,
        TranscriptionStatus="failed",
    )
    [enquiry] = enquiries_of(db_session, sid)
    assert enquiry.kind == EnquiryKind.VOICEMAIL
    assert enquiry.recording_url == url and enquiry.transcript is None


def test_hanging_up_at_the_voicemail_prompt_is_a_missed_enquiry(client, db_session, office):
    sid, _ = incoming(client, to=office.alice_line)
    dial_complete(client, sid, "no-answer")
    post(client, "/twilio/voice/status", CallSid=sid, CallStatus="completed", SequenceNumber="4")
    [enquiry] = enquiries_of(db_session, sid)
    assert enquiry.kind == EnquiryKind.MISSED
    assert the_call(db_session, sid).result == CallResult.NO_ANSWER


def test_a_recording_after_the_completed_callback_upgrades_the_enquiry(client, db_session, office):
    sid, _ = incoming(client, to=office.alice_line)
    dial_complete(client, sid, "no-answer")
    post(client, "/twilio/voice/status", CallSid=sid, CallStatus="completed", SequenceNumber="4")
    post(
        client,
        "/twilio/voice/recording",
        CallSid=sid,
        RecordingUrl="https://x/RE3",
        RecordingDuration="7",
    )
    [enquiry] = enquiries_of(db_session, sid)
    assert enquiry.kind == EnquiryKind.VOICEMAIL and enquiry.recording_seconds == 7


def test_duplicate_webhooks_create_one_enquiry_and_one_event(client, db_session, office):
    sid, _ = incoming(client, to=office.alice_line)
    dial_complete(client, sid, "no-answer")
    for _ in range(2):
        post(
            client,
            "/twilio/voice/recording",
            CallSid=sid,
            RecordingUrl="https://x/RE4",
            RecordingDuration="9",
        )
        post(
            client, "/twilio/voice/status", CallSid=sid, CallStatus="completed", SequenceNumber="5"
        )
    assert len(enquiries_of(db_session, sid)) == 1
    events = db_session.scalar(
        select(func.count())
        .select_from(CallEvent)
        .join(Call)
        .where(Call.call_sid == sid, CallEvent.status == "completed")
    )
    assert events == 1


def test_late_callbacks_never_move_a_call_backwards(client, db_session, office):
    sid, _ = incoming(client, to=office.alice_line)
    answer(client, sid, office.coordinators[0].id)
    post(
        client,
        "/twilio/voice/status",
        CallSid=sid,
        CallStatus="completed",
        SequenceNumber="3",
        CallDuration="60",
    )
    post(client, "/twilio/voice/status", CallSid=sid, CallStatus="ringing", SequenceNumber="1")
    post(client, "/twilio/voice/status", CallSid=sid, CallStatus="in-progress", SequenceNumber="2")
    call = the_call(db_session, sid)
    assert call.status == "completed"
    assert call.result == CallResult.ANSWERED
    assert call.talk_seconds is not None and call.duration_seconds == 60
    assert sorted(e.status for e in call.events if e.sequence_number is not None) == [
        "completed",
        "in-progress",
        "ringing",
    ]
    assert enquiries_of(db_session, sid) == []


def test_callbacks_for_a_call_never_seen_are_kept(client, db_session):
    # /incoming failed (database down) and the caller left a voicemail via the fallback.
    sid = new_sid()
    post(
        client,
        "/twilio/voice/recording",
        CallSid=sid,
        From="+12025550123",
        To="+16465550000",
        RecordingUrl="https://x/RE5",
        RecordingDuration="20",
    )
    call = the_call(db_session, sid)
    assert call is not None and call.result == CallResult.VOICEMAIL
    [enquiry] = enquiries_of(db_session, sid)
    assert enquiry.caller_number == "+12025550123"


def test_a_webhook_that_fails_after_writing_keeps_nothing(client, db_session, office, monkeypatch):
    """The voicemail is written, then building the answer fails: the caller is still
    thanked, and no enquiry is left behind that the failed request half-made."""
    sid, _ = incoming(client, to=office.alice_line)
    dial_complete(client, sid, "no-answer")

    def broken_thanks():
        raise RuntimeError("TwiML could not be built")

    monkeypatch.setattr("routing.voice.twiml.voicemail_thanks", broken_thanks)
    root = parse(
        post(
            client,
            "/twilio/voice/recording",
            CallSid=sid,
            RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE9",
            RecordingDuration="20",
        )
    )
    assert "Thank you" in said(root) and root.find("Hangup") is not None
    assert enquiries_of(db_session, sid) == []
    assert the_call(db_session, sid).result == CallResult.NO_ANSWER


def test_a_webhook_records_the_instant_of_its_request(app, client, db_session, office):
    sid, _ = incoming(client, to=office.alice_line)
    dial_complete(client, sid, "no-answer")
    when = the_call(db_session, sid).started_at + timedelta(minutes=3)
    app.extensions[EXTENSION] = lambda: when
    post(
        client,
        "/twilio/voice/recording",
        CallSid=sid,
        RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE8",
        RecordingDuration="20",
    )
    [enquiry] = enquiries_of(db_session, sid)
    assert enquiry.created_at.replace(tzinfo=UTC) == when.replace(tzinfo=UTC)
