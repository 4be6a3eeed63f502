"""The account manager's day (home page service), on a fixed clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from models import (
    EnquiryStatus,
    Job,
    JobStatus,
    Role,
    Task,
    TaskKind,
)
from models.hours import BusinessCalendar
from routing.desk.day import account_manager_day
from tests.factories import make_customer, make_enquiry, make_user

# Wednesday 10 June 2026, 10:00 UTC; business days Monday to Friday.
NOW = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)
CALENDAR = BusinessCalendar(ZoneInfo("UTC"), {d: (time(8), time(18)) for d in range(5)})


def _job(session, reference, manager, *, day=None, at=None, status=JobStatus.OPEN, **fields):
    customer = fields.pop("customer", None) or make_customer(session, name=f"Customer {reference}")
    job = Job(
        reference=reference,
        customer_id=customer.id,
        account_manager_id=manager.id if manager else None,
        eta_date=day,
        eta_at=at,
        status=status,
        **fields,
    )
    session.add(job)
    session.flush()
    return job


@pytest.fixture
def team(db_session):
    fay = make_user(db_session, role=Role.ACCOUNT_MANAGER, name="Fay", capacity=10)
    gus = make_user(db_session, role=Role.ACCOUNT_MANAGER, name="Gus", capacity=2)
    _job(db_session, "PASSED-DATE", fay, day=date(2026, 6, 8))
    _job(db_session, "PASSED-AT", fay, at=datetime(2026, 6, 10, 9, 0, tzinfo=UTC))
    _job(db_session, "TODAY-DATE", fay, day=date(2026, 6, 10))
    _job(db_session, "TODAY-AT", fay, at=datetime(2026, 6, 10, 15, 0, tzinfo=UTC))
    _job(db_session, "RISK-DATE", fay, day=date(2026, 6, 11))
    _job(db_session, "RISK-AT", fay, at=datetime(2026, 6, 11, 9, 0, tzinfo=UTC))
    _job(db_session, "WEEK-AT", fay, at=datetime(2026, 6, 11, 11, 0, tzinfo=UTC))
    _job(db_session, "WEEK-DATE", fay, day=date(2026, 6, 15))
    _job(db_session, "LATER", fay, day=date(2026, 6, 30))
    _job(db_session, "DONE", fay, day=date(2026, 6, 1), status=JobStatus.DELIVERED)
    _job(db_session, "GUS-LATE", gus, day=date(2026, 6, 9))
    _job(db_session, "GUS-WEEK", gus, day=date(2026, 6, 12))
    db_session.commit()
    return fay, gus


def _refs(day, bucket):
    return [row.job.reference for row in day.buckets[bucket]]


def _day(session, managers, **kwargs):
    ids = [m.id for m in managers] if managers is not None else None
    return account_manager_day(
        session, manager_ids=ids, task_assignee_ids=ids, calendar=CALENDAR, now=NOW, **kwargs
    )


def test_her_jobs_by_urgency(db_session, team):
    fay, _ = team
    day = _day(db_session, [fay])
    assert _refs(day, "overdue") == ["PASSED-AT", "PASSED-DATE"]  # most recently passed first
    assert _refs(day, "today") == ["TODAY-AT", "TODAY-DATE"]
    assert _refs(day, "at-risk") == ["RISK-AT", "RISK-DATE"]
    assert _refs(day, "week") == ["WEEK-AT", "WEEK-DATE"]
    assert day.counts == {"overdue": 2, "today": 2, "at-risk": 2, "week": 2}


def test_buckets_agree_with_the_eta_warning_emails(db_session, team):
    day = _day(db_session, None)
    assert {row.state for row in day.buckets["overdue"]} == {"overdue"}
    assert {row.state for row in day.buckets["at-risk"]} == {"at-risk"}
    assert {row.state for row in day.buckets["week"]} == {"on-track"}


def test_friday_puts_monday_at_risk(db_session):
    fay = make_user(db_session, role=Role.ACCOUNT_MANAGER)
    _job(db_session, "MONDAY", fay, day=date(2026, 6, 15))
    _job(db_session, "TUESDAY", fay, day=date(2026, 6, 16))
    friday = datetime(2026, 6, 12, 10, 0, tzinfo=UTC)
    day = account_manager_day(
        db_session, manager_ids=[fay.id], task_assignee_ids=[fay.id], calendar=CALENDAR, now=friday
    )
    assert _refs(day, "at-risk") == ["MONDAY"]
    assert _refs(day, "week") == ["TUESDAY"]


def test_team_view_counts_everyone_and_lists_are_cut(db_session, team):
    day = _day(db_session, None, limit=1)
    assert day.counts["overdue"] == 3
    assert len(day.buckets["overdue"]) == 1
    assert [(load.manager.name, load.open_jobs, load.full) for load in day.loads] == [
        ("Fay", 9, False),
        ("Gus", 2, True),
    ]


def test_bounced_customers_low_feedback_tasks_and_enquiries(db_session, team):
    fay, gus = team
    bounced = make_customer(db_session, name="Bounce Ltd")
    bounced.email_undeliverable = True
    _job(db_session, "B1", fay, day=date(2026, 7, 1), customer=bounced)
    _job(db_session, "B2", gus, day=date(2026, 7, 1), customer=make_customer(db_session))
    _job(
        db_session,
        "LOW",
        fay,
        day=date(2026, 6, 1),
        status=JobStatus.DELIVERED,
        feedback_rating=1,
        feedback_comment="Late and nobody called",
        feedback_at=NOW - timedelta(days=2),
    )
    _job(
        db_session,
        "HAPPY",
        fay,
        day=date(2026, 6, 1),
        status=JobStatus.DELIVERED,
        feedback_rating=5,
        feedback_at=NOW - timedelta(days=1),
    )
    _job(
        db_session,
        "OLD-LOW",
        fay,
        day=date(2026, 3, 1),
        status=JobStatus.DELIVERED,
        feedback_rating=2,
        feedback_at=NOW - timedelta(days=60),
    )
    db_session.add_all(
        [
            Task(
                kind=TaskKind.CALLBACK,
                assignee_id=fay.id,
                description="Call Dana back",
                due_at=NOW - timedelta(minutes=5),
            ),
            Task(kind=TaskKind.CALLBACK, assignee_id=gus.id, description="Gus's task"),
        ]
    )
    make_enquiry(db_session, owner_id=fay.id, status=EnquiryStatus.CLAIMED, sla_deadline=NOW)
    make_enquiry(db_session, sla_deadline=NOW)
    db_session.commit()

    day = _day(db_session, [fay])
    assert [(c.name, n) for c, n in day.bounced] == [("Bounce Ltd", 1)]
    assert [job.reference for job in day.low_feedback] == ["LOW"]
    assert [t.description for t in day.tasks] == ["Call Dana back"]
    assert day.open_tasks == 1 and day.overdue_tasks == 1
    assert day.open_enquiries == 1 and day.enquiries[0].owner_id == fay.id
    assert [load.manager.name for load in day.loads] == ["Fay"]
