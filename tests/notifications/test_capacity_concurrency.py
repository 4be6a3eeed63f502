"""Two requests racing for the last place of a day, or of an account manager, at once.

Real commits on PostgreSQL (the ``pg_engine`` fixture): the day's advisory lock and the
manager's row lock only show between two connections.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from models import AuditEntry, Job, OutboundEmail, Role, User
from notifications.capacity import set_per_day
from notifications.jobs import DayFull, JobSettings, assign_waiting_jobs, create_job
from tests.factories import make_user

pytestmark = pytest.mark.postgres
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SETTINGS = JobSettings(timezone="Europe/Berlin")


def _race(pg_engine, work, expected=(DayFull,)):
    """Run ``work(session, n)`` in two threads whose transactions start together."""
    barrier = threading.Barrier(2)
    outcomes: list[object] = [None, None]

    def runner(n: int) -> None:
        with Session(pg_engine) as session:
            session.execute(text("SET LOCAL lock_timeout = '15s'"))
            barrier.wait(timeout=10)
            try:
                work(session, n)
                session.commit()
                outcomes[n] = "ok"
            except expected as exc:
                session.rollback()
                outcomes[n] = exc

    threads = [threading.Thread(target=runner, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def _create(session, reference, eta="2026-12-10", **kwargs):
    return create_job(
        session,
        reference=reference,
        customer={"name": f"Customer {reference}", "email": f"{reference.lower()}@example.com"},
        eta=eta,
        actor="api:shop",
        settings=SETTINGS,
        now=NOW,
        **kwargs,
    )


def _manager(session, name, capacity):
    return make_user(
        session,
        role=Role.ACCOUNT_MANAGER,
        name=name,
        email=f"{name.lower()}@acme.example",
        capacity=capacity,
    )


def test_two_jobs_racing_for_the_last_place_of_a_day_never_both_get_it(pg_engine):
    with Session(pg_engine) as session:
        _manager(session, "Carol", 10)
        set_per_day(session, 2, actor="test")
        _create(session, "FIRST")
        session.commit()

    outcomes = _race(pg_engine, lambda session, n: _create(session, f"RACE-{n}"))

    assert outcomes.count("ok") == 1
    refused = next(o for o in outcomes if isinstance(o, DayFull))
    assert (refused.load.booked, refused.load.capacity) == (2, 2)
    with Session(pg_engine) as session:
        count = session.scalar(select(func.count(Job.id)).where(Job.eta_date.is_not(None)))
        assert count == 2
        loser = outcomes.index(refused)
        assert session.scalar(select(Job).where(Job.reference == f"RACE-{loser}")) is None
        # The refused job left nothing behind: no customer email queued for it.
        introductions = session.scalars(
            select(OutboundEmail.to_email).where(OutboundEmail.kind == "introduction")
        ).all()
        assert sorted(introductions) == sorted(
            ["first@example.com", f"race-{1 - loser}@example.com"]
        )


def test_two_eta_changes_racing_for_the_last_place_never_both_get_it(pg_engine):
    from notifications.jobs import update_job

    with Session(pg_engine) as session:
        _manager(session, "Carol", 10)
        set_per_day(session, 1, actor="test")
        ids = [_create(session, f"MOVE-{n}", eta=f"2026-12-1{4 + n}").id for n in range(2)]
        session.commit()

    def move(session, n):
        update_job(
            session,
            session.get(Job, ids[n]),
            eta="2026-12-10",
            eta_reason="sooner",
            actor="api:shop",
            settings=SETTINGS,
            now=NOW,
        )

    outcomes = _race(pg_engine, move)

    assert outcomes.count("ok") == 1
    with Session(pg_engine) as session:
        moved = session.scalars(select(Job).where(Job.eta_date == datetime(2026, 12, 10).date()))
        assert len(moved.all()) == 1


def test_two_sweeps_never_give_a_manager_more_than_her_last_place(pg_engine):
    with Session(pg_engine) as session:
        carol = _manager(session, "Carol", 0)
        waiting = [_create(session, f"WAIT-{n}").id for n in range(2)]
        carol.capacity = 1  # one place left, two processes each with a different job
        carol_id = carol.id
        session.commit()

    def sweep(session, n):
        # Each process takes a different waiting job (SKIP LOCKED), then picks a manager.
        assign_waiting_jobs(session, actor=f"worker-{n}", settings=SETTINGS, now=NOW, limit=1)

    outcomes = _race(pg_engine, sweep, expected=())
    assert outcomes == ["ok", "ok"]
    with Session(pg_engine) as session:
        assigned = session.scalars(
            select(Job.id).where(Job.account_manager_id == carol_id, Job.id.in_(waiting))
        ).all()
        assert len(assigned) == 1
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "assigned")).all()
        assert len(entries) == 1


def test_two_new_jobs_never_give_a_manager_more_than_her_last_place(pg_engine):
    with Session(pg_engine) as session:
        carol = _manager(session, "Carol", 1)
        carol_id = carol.id
        session.commit()

    outcomes = _race(pg_engine, lambda session, n: _create(session, f"NEW-{n}"), expected=())

    assert outcomes == ["ok", "ok"]
    with Session(pg_engine) as session:
        jobs = session.scalars(select(Job).order_by(Job.reference)).all()
        assert [job.account_manager_id for job in jobs].count(carol_id) == 1
        assert [job.account_manager_id for job in jobs].count(None) == 1
        assert session.get(User, carol_id).capacity == 1
