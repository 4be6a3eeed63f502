"""Reminders go out through the worker at the local reminder time, once; the digest lists
the appointments coming up."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select

from models import (
    BusinessHours,
    EmailStatus,
    OrgSettings,
    OutboundEmail,
    Role,
)
from notifications.delivery import dispatch_due
from notifications.digest import queue_salesperson_digests
from notifications.reminders import ReminderLinks, reminder_upkeep
from notifications.senders import DevelopmentSender
from routing.desk.booking import book_appointment
from routing.desk.changes import ChangeSettings, cancel_appointment, move_appointment
from tests.factories import make_customer, make_salesperson, make_user

BERLIN = ZoneInfo("Europe/Berlin")
LINKS = ReminderLinks("https://sb.example.com", "s3cret")
CHANGE = ChangeSettings(zone=BERLIN, mail_from="sales@acme.example", links=LINKS)


def _org(session):
    session.add(OrgSettings(name="Acme", timezone="Europe/Berlin"))
    for weekday in range(5):
        session.add(BusinessHours(weekday=weekday, opens_at=time(8), closes_at=time(18)))
    alice = make_salesperson(session, name="Alice Seller")
    dana = make_customer(session, name="Dana Buyer", email="dana@example.com", salesperson=alice)
    cora = make_user(session, role=Role.COORDINATOR)
    session.flush()
    return alice, dana, cora


def _book(session, alice, dana, cora, start, now):
    return book_appointment(
        session,
        salesperson=alice,
        customer=dana,
        start=start,
        length_minutes=30,
        zone=BERLIN,
        actor=cora,
        mail_from="sales@acme.example",
        place="Showroom",
        now=now,
        links=LINKS,
    )


def _sent_reminders(session):
    return session.scalars(
        select(OutboundEmail).where(
            OutboundEmail.kind == "appointment-reminder", OutboundEmail.status == EmailStatus.SENT
        )
    ).all()


def test_the_worker_sends_one_reminder_at_16_local_the_business_day_before(db, clock):
    # Tuesday 1 December 2026, 10:00 UTC (11:00 in Berlin).
    with db.Session() as session:
        alice, dana, cora = _org(session)
        monday = datetime(2026, 12, 7, 10, 0, tzinfo=BERLIN)
        appointment_id = _book(session, alice, dana, cora, monday, clock()).id
        session.commit()
    sender = DevelopmentSender()
    clock.now = datetime(2026, 12, 4, 14, 59, tzinfo=UTC)  # Friday 15:59 in Berlin
    dispatch_due(db, sender, clock=clock)
    with db.Session() as session:
        assert _sent_reminders(session) == []
    clock.now = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)  # Friday 16:00 in Berlin
    dispatch_due(db, sender, clock=clock)
    clock.advance(hours=1)
    dispatch_due(db, sender, clock=clock)
    with db.Session() as session:
        (sent,) = _sent_reminders(session)
        assert sent.sent_at == datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
        assert sent.to_email == "dana@example.com"
        assert "Monday 07 December 2026, 10:00" in sent.text_body
        assert "Showroom" in sent.text_body
        assert "https://sb.example.com/bookings/change/" in sent.text_body
        assert sent.idempotency_key == f"appointment-reminder:{appointment_id}:0"


def test_a_reschedule_replaces_the_pending_reminder_and_a_cancellation_sends_none(db, clock):
    with db.Session() as session:
        alice, dana, cora = _org(session)
        first = _book(session, alice, dana, cora, datetime(2026, 12, 7, 10, tzinfo=BERLIN), clock())
        move_appointment(
            session, first.id, start=datetime(2026, 12, 9, 14, tzinfo=BERLIN), actor=cora,
            settings=CHANGE, now=clock(),
        )  # fmt: skip
        second = _book(session, alice, dana, cora, datetime(2026, 12, 8, 9, tzinfo=BERLIN), clock())
        cancel_appointment(
            session, second.id, reason=None, actor=cora, settings=CHANGE, now=clock()
        )
        session.commit()
        first_id = first.id
    clock.now = datetime(2026, 12, 10, 0, 0, tzinfo=UTC)
    dispatch_due(db, DevelopmentSender(), clock=clock)
    with db.Session() as session:
        sent = _sent_reminders(session)
        assert [e.idempotency_key for e in sent] == [f"appointment-reminder:{first_id}:0"]
        # Sent on Tuesday 8 December at 16:00 Berlin, for Wednesday's new time.
        assert "Wednesday 09 December 2026, 14:00" in sent[0].text_body
        assert sent[0].next_attempt_at == datetime(2026, 12, 8, 15, 0, tzinfo=UTC)


def test_upkeep_follows_a_new_reminder_time_and_drops_reminders_of_started_meetings(db, clock):
    with db.Session() as session:
        alice, dana, cora = _org(session)
        appointment = _book(
            session, alice, dana, cora, datetime(2026, 12, 7, 10, tzinfo=BERLIN), clock()
        )
        session.scalar(select(OrgSettings)).reminder_time = time(9, 30)
        counts = reminder_upkeep(session, now=clock(), links=LINKS)
        assert counts["retimed"] == 1
        reminder = session.get(OutboundEmail, appointment.reminder_email_id)
        session.refresh(reminder)
        assert reminder.next_attempt_at == datetime(2026, 12, 4, 9, 30, tzinfo=BERLIN)
        reminder_upkeep(session, now=datetime(2026, 12, 7, 10, 1, tzinfo=BERLIN), links=LINKS)
        session.refresh(reminder)
        assert reminder.status is EmailStatus.CANCELLED


def test_the_digest_lists_tomorrows_appointments_even_without_calls(db_session):
    alice, dana, cora = _org(db_session)
    now = datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)  # Monday
    _book(db_session, alice, dana, cora, datetime(2026, 12, 1, 11, tzinfo=BERLIN), now)
    _book(db_session, alice, dana, cora, datetime(2026, 12, 3, 11, tzinfo=BERLIN), now)
    evening = datetime(2026, 11, 30, 18, 30, tzinfo=BERLIN)
    assert queue_salesperson_digests(db_session, now=evening) == 1
    digest = db_session.scalar(
        select(OutboundEmail).where(OutboundEmail.kind == "salesperson-digest")
    )
    assert digest.to_email == alice.email
    assert "No calls on your old mobile number" in digest.text_body
    assert "Your appointments until Tuesday 01 December" in digest.text_body
    assert "Tue 01 Dec 11:00–11:30 with Dana Buyer" in digest.text_body
    assert "03 Dec" not in digest.text_body
    assert "1 coming up" in digest.subject
