"""The salesperson's daily digest of calls on their old line."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from models import (
    BusinessHours,
    Call,
    CallResult,
    Enquiry,
    EnquiryKind,
    OrgSettings,
    OutboundEmail,
    Outcome,
    Role,
)
from notifications.digest import queue_salesperson_digests
from tests.factories import make_customer, make_salesperson, make_user

# Monday 23 November 2026 in London (UTC+0 in winter); the team closes at 18:00.
MONDAY_MORNING = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _setup(session):
    session.add(OrgSettings(name="Acme Windows", timezone="Europe/London"))
    for weekday in range(5):
        session.add(BusinessHours(weekday=weekday, opens_at=time(8), closes_at=time(18)))
    alice = make_salesperson(session, name="Alice Smith", email="alice@example.com")
    bob = make_salesperson(session, name="Bob Brown", email="bob@example.com")
    cora = make_user(session, role=Role.COORDINATOR, name="Cora Jones")
    customer = make_customer(session, name="Dana White", company="Globex", salesperson=alice)
    line = alice.lines[0]
    session.add_all(
        [
            Call(
                call_sid="CA-answered",
                line_id=line.id,
                to_number=line.twilio_number,
                from_number=customer.phone,
                caller_number=customer.phone,
                customer_id=customer.id,
                started_at=MONDAY_MORNING + timedelta(minutes=30),
                result=CallResult.ANSWERED.value,
                answered_by_id=cora.id,
                outcome=Outcome.APPOINTMENT,
                disposition_notes="Wants a quote for six windows",
            ),
            Call(
                call_sid="CA-missed",
                line_id=line.id,
                to_number=line.twilio_number,
                from_number="anonymous",
                started_at=MONDAY_MORNING + timedelta(hours=2),
                result=CallResult.VOICEMAIL.value,
            ),
        ]
    )
    session.flush()
    missed = session.scalar(select(Call).where(Call.call_sid == "CA-missed"))
    session.add(
        Enquiry(
            call_id=missed.id,
            line_id=line.id,
            kind=EnquiryKind.VOICEMAIL,
            transcript="Please call me about my invoice",
            sla_deadline=MONDAY_MORNING + timedelta(hours=3),
        )
    )
    session.commit()
    return alice, bob


def _digests(session):
    return session.scalars(
        select(OutboundEmail).where(OutboundEmail.kind == "salesperson-digest")
    ).all()


def test_nothing_is_sent_before_the_team_closes(db_session):
    _setup(db_session)
    queued = queue_salesperson_digests(db_session, now=datetime(2026, 11, 23, 17, 59, tzinfo=UTC))
    assert queued == 0
    assert _digests(db_session) == []


def test_digest_after_closing_tells_the_salesperson_what_happened(db_session):
    alice, _bob = _setup(db_session)
    queued = queue_salesperson_digests(db_session, now=datetime(2026, 11, 23, 18, 5, tzinfo=UTC))
    assert queued == 1  # Bob's line had no calls: no email for him
    (digest,) = _digests(db_session)
    assert digest.to_email == "alice@example.com"
    assert "2 calls" in digest.subject and "Monday 23 November 2026" in digest.subject
    body = digest.text_body
    assert "Dana White (Globex) - answered: appointment booked with you (by Cora Jones)" in body
    assert "Wants a quote for six windows" in body
    assert "Withheld number (voicemail)" in body
    assert "Please call me about my invoice" in body
    assert "Dana White" in digest.html_body


def test_reruns_and_next_morning_catch_up_send_one_digest(db_session):
    _setup(db_session)
    evening = datetime(2026, 11, 23, 18, 5, tzinfo=UTC)
    assert queue_salesperson_digests(db_session, now=evening) == 1
    assert queue_salesperson_digests(db_session, now=evening + timedelta(minutes=10)) == 0
    # The worker was down overnight: the next morning's run finds nothing new to send.
    assert queue_salesperson_digests(db_session, now=evening + timedelta(hours=15)) == 0
    assert len(_digests(db_session)) == 1


def test_worker_down_all_evening_still_sends_yesterdays_digest(db_session):
    _setup(db_session)
    tuesday_morning = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
    assert queue_salesperson_digests(db_session, now=tuesday_morning) == 1
    (digest,) = _digests(db_session)
    assert digest.idempotency_key.endswith(":2026-11-23")


def test_worker_job_queues_and_commits_the_digest(connection, db_session):
    from types import SimpleNamespace

    from sqlalchemy.orm import sessionmaker

    from notifications.digest import run_digests

    _setup(db_session)
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
    runtime = SimpleNamespace(
        config=SimpleNamespace(TIMEZONE="UTC", PUBLIC_BASE_URL="https://sb.example.com"),
        db=SimpleNamespace(Session=factory),
        clock=lambda: datetime(2026, 11, 23, 18, 5, tzinfo=UTC),
    )
    assert run_digests(runtime) == 1
    (digest,) = _digests(db_session)
    assert "https://sb.example.com" in digest.text_body
