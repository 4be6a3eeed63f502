"""Teleconference dial-in, the fallback URL, and a database that is down."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from models import Call, CallResult, Enquiry, Teleconference, utcnow
from models.db import StatementConnection
from routing.voice import calls
from routing.voice.routing_table import RoutingTableCache
from tests.factories import make_business_hours
from tests.routing.test_voice_support import (
    incoming,
    make_office,
    new_sid,
    org_settings,
    parse,
    post,
)


def conference(db_session, *, starts_in: timedelta, pin: str = "482913", number="+18005550100"):
    start = utcnow() + starts_in
    tele = Teleconference(
        title="Acme kick-off",
        start_at=start,
        end_at=start + timedelta(hours=1),
        dial_in_number=number,
        pin=pin,
        room=f"room-{pin}-{int(start.timestamp())}",
    )
    db_session.add(tele)
    db_session.commit()
    return tele


def enter_pin(client, sid: str, digits: str, attempt: int, to: str = "+18005550100"):
    return parse(
        post(
            client,
            f"/twilio/voice/conference/pin?attempt={attempt}",
            CallSid=sid,
            To=to,
            From="+12025550111",
            Digits=digits,
        )
    )


def test_the_dial_in_number_asks_for_the_pin_and_joins_the_room(client, db_session):
    tele = conference(db_session, starts_in=timedelta(minutes=10))
    sid, response = incoming(client, to="+18005550100")
    gather = parse(response).find("Gather")
    assert gather is not None and gather.get("finishOnKey") == "#"
    assert gather.get("action") == "/twilio/voice/conference/pin?attempt=1"
    root = enter_pin(client, sid, "482913", 1)
    room = root.find("Dial/Conference")
    assert room is not None and room.text == tele.room
    call = db_session.scalar(select(Call).where(Call.call_sid == sid))
    assert call.result == CallResult.TELECONFERENCE


def test_the_organisations_number_works_for_every_teleconference(client, db_session):
    org_settings(db_session, teleconference_number="+18005550199")
    tele = conference(db_session, starts_in=-timedelta(minutes=20))  # in progress
    sid, response = incoming(client, to="+18005550199")
    assert parse(response).find("Gather") is not None
    root = enter_pin(client, sid, "482913", 1, to="+18005550199")
    assert root.find("Dial/Conference").text == tele.room


def test_a_pin_for_a_later_or_finished_conference_is_refused(client, db_session):
    conference(db_session, starts_in=timedelta(hours=2), pin="111111")
    conference(db_session, starts_in=-timedelta(hours=3), pin="222222")
    sid, _ = incoming(client, to="+18005550100")
    for pin in ("111111", "222222"):
        root = enter_pin(client, sid, pin, 1)
        assert root.find("Dial") is None
        assert "not valid" in " ".join(s.text for s in root.iter("Say"))


def test_three_wrong_pins_end_the_call_politely(client, db_session):
    conference(db_session, starts_in=timedelta(minutes=5))
    sid, _ = incoming(client, to="+18005550100")
    second = enter_pin(client, sid, "000000", 1)
    assert second.find("Gather").get("action") == "/twilio/voice/conference/pin?attempt=2"
    third = enter_pin(client, sid, "", 2)
    assert third.find("Gather").get("action") == "/twilio/voice/conference/pin?attempt=3"
    last = enter_pin(client, sid, "999999", 3)
    assert last.find("Gather") is None and last.find("Hangup") is not None
    assert "Goodbye" in " ".join(s.text for s in last.iter("Say"))


class TestFallbackNumbers:
    @pytest.fixture
    def app_overrides(self):
        return {"FALLBACK_NUMBERS": ["+14155550001", "+14155550002"]}

    def test_the_fallback_url_dials_the_fallback_numbers(self, client):
        root = parse(
            post(
                client, "/twilio/voice/fallback", CallSid=new_sid(), From="+1202", To="+16465550101"
            )
        )
        dial = root.find("Dial")
        assert [n.text for n in dial.findall("Number")] == ["+14155550001", "+14155550002"]
        assert dial.get("action") == "/twilio/voice/fallback/dial-complete"

    def test_nobody_answering_the_fallback_records_a_voicemail(self, client):
        root = parse(
            post(
                client,
                "/twilio/voice/fallback/dial-complete",
                CallSid=new_sid(),
                DialCallStatus="no-answer",
            )
        )
        assert root.find("Record") is not None
        root = parse(
            post(
                client,
                "/twilio/voice/fallback/dial-complete",
                CallSid=new_sid(),
                DialCallStatus="completed",
            )
        )
        assert [el.tag for el in root] == ["Hangup"]


class TestDatabaseDown:
    @pytest.fixture
    def app(self, tmp_path):
        from routing import create_app
        from tests.conftest import make_test_config

        # A SQLite file inside a folder that does not exist: every query fails.
        dead = f"sqlite:///{tmp_path / 'missing' / 'nowhere.sqlite3'}"
        return create_app(make_test_config(dead, FALLBACK_NUMBERS=["+14155550001"]))

    def test_incoming_answers_the_fallback_twiml_with_200(self, client, caplog):
        root = parse(
            post(
                client,
                "/twilio/voice/incoming",
                CallSid=new_sid(),
                To="+16465550101",
                From="+12025550111",
            )
        )
        assert [n.text for n in root.findall("Dial/Number")] == ["+14155550001"]
        assert "voice webhook /twilio/voice/incoming failed" in caplog.text

    @pytest.mark.parametrize(
        ("path", "check"),
        [
            ("/twilio/voice/status", lambda root: list(root) == []),
            ("/twilio/voice/recording", lambda root: root.find("Hangup") is not None),
            ("/twilio/voice/dial-complete", lambda root: root.find("Record") is not None),
            # The coordinator still hears "press 1", and pressing it connects her.
            (
                "/twilio/voice/whisper?call=CA1&coordinator=1",
                lambda root: (
                    root.find("Gather")
                    .get("action")
                    .startswith("/twilio/voice/whisper-answer?call=CA1")
                ),
            ),
            ("/twilio/voice/whisper-answer?call=CA1&coordinator=1", lambda root: list(root) == []),
            # A teleconference caller goes to a human rather than being hung up on.
            (
                "/twilio/voice/conference/pin?attempt=1",
                lambda root: [n.text for n in root.findall("Dial/Number")] == ["+14155550001"],
            ),
            ("/twilio/console/transfer/1/2", lambda root: root.find("Dial/Number") is not None),
            ("/twilio/console/announce/1", lambda root: root.find("Say") is not None),
            ("/twilio/console/callback/1", lambda root: root.find("Hangup") is not None),
        ],
    )
    def test_no_webhook_ever_answers_an_error(self, client, path, check):
        root = parse(
            post(
                client,
                path,
                CallSid=new_sid(),
                CallStatus="completed",
                DialCallStatus="no-answer",
                RecordingUrl="https://x/RE1",
                RecordingDuration="5",
                Digits="1",
            )
        )
        assert check(root)


class TestDeadPostgres:
    @pytest.fixture
    def app(self):
        from routing import create_app
        from tests.conftest import make_test_config

        return create_app(make_test_config("postgresql+psycopg://postgres@127.0.0.1:1/none"))

    def test_incoming_without_fallback_numbers_records_a_voicemail(self, client):
        root = parse(
            post(
                client,
                "/twilio/voice/incoming",
                CallSid=new_sid(),
                To="+16465550101",
                From="+12025550111",
            )
        )
        assert root.find("Dial") is None and root.find("Record") is not None


# --- the routing service without Flask -------------------------------------------------

NY = ZoneInfo("America/New_York")


def route_at(db_session, office, when: datetime) -> calls.IncomingDecision:
    snapshot = RoutingTableCache().get(db_session, now=when)
    params = calls.CallParams(
        call_sid=new_sid(), to_number=office.alice_line, from_number=office.customer_phone
    )
    connection = StatementConnection(
        db_session.connection().connection.driver_connection, db_session.get_bind().dialect
    )
    return calls.route_incoming_call(connection, snapshot, params, now=when)


def test_business_hours_decide_across_the_autumn_dst_change(db_session):
    office = make_office(db_session)
    org_settings(db_session, timezone="America/New_York")
    make_business_hours(db_session, opens=time(9), closes=time(17))
    db_session.commit()
    # Friday 30 October 2026 (EDT, UTC-4) 08:30 local = 12:30 UTC: closed.
    assert route_at(db_session, office, datetime(2026, 10, 30, 12, 30, tzinfo=UTC)).action == (
        "voicemail"
    )
    # Monday 2 November 2026 (EST, UTC-5) 12:30 UTC = 07:30 local: still closed ...
    assert route_at(db_session, office, datetime(2026, 11, 2, 12, 30, tzinfo=UTC)).action == (
        "voicemail"
    )
    # ... and 14:30 UTC = 09:30 local: open, the coordinators ring.
    decision = route_at(db_session, office, datetime(2026, 11, 2, 14, 30, tzinfo=UTC))
    assert decision.action == "ring" and len(decision.coordinators) == 2


def test_a_missed_call_on_friday_evening_is_due_on_monday_morning(db_session):
    office = make_office(db_session)
    org_settings(db_session, timezone="America/New_York", enquiry_sla_minutes=15)
    make_business_hours(db_session, opens=time(9), closes=time(18))
    db_session.commit()
    friday = datetime(2026, 11, 20, 17, 55, tzinfo=NY)
    snapshot = RoutingTableCache().get(db_session, now=friday)
    assert snapshot.sla_deadline(friday) == datetime(2026, 11, 23, 9, 10, tzinfo=NY)
    decision = route_at(db_session, office, friday)
    assert decision.action == "ring"


def test_a_call_whose_row_was_lost_is_recreated_with_its_line_and_customer(client, db_session):
    # /incoming's commit does not wait for the WAL flush; if a database crash lost the
    # row, the call's next webhooks recreate it, still tied to Alice's line and Carol.
    office = make_office(db_session)
    sid = new_sid()
    post(
        client,
        "/twilio/voice/dial-complete",
        CallSid=sid,
        To=office.alice_line,
        From=office.customer_phone,
        DialCallStatus="no-answer",
    )
    post(
        client,
        "/twilio/voice/recording",
        CallSid=sid,
        To=office.alice_line,
        From=office.customer_phone,
        RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE9",
        RecordingDuration="12",
    )
    call = db_session.scalar(select(Call).where(Call.call_sid == sid))
    assert call is not None and call.line is not None
    assert call.line.twilio_number == office.alice_line and not call.unknown_line
    assert call.customer is not None and call.customer.phone == office.customer_phone
    enquiries = db_session.scalars(select(Enquiry).where(Enquiry.call_id == call.id)).all()
    assert [e.recording_seconds for e in enquiries] == [12]
