"""Jobs that found no account manager with room are assigned as soon as one has room."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from models import (
    AuditEntry,
    Job,
    OutboundEmail,
    Role,
    User,
)
from notifications.jobs import (
    JobSettings,
    assign_waiting_jobs,
    create_job,
    run_assign_waiting_jobs,
    update_job,
)
from notifications.worker import PERIODIC_JOBS
from tests.factories import make_user

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SETTINGS = JobSettings(timezone="Europe/Berlin", settle_minutes=10, secret_key="s3cret")


def _manager(session: Session, name: str, capacity: int = 1, **fields: object) -> User:
    email = f"{name.split()[0].lower()}@acme.example"
    return make_user(
        session, role=Role.ACCOUNT_MANAGER, name=name, email=email, capacity=capacity, **fields
    )


def _create(session: Session, reference: str, **kwargs: object) -> Job:
    """A job from the API; its customer is named after the reference."""
    customer = {"name": f"Customer {reference}", "email": f"{reference.lower()}@example.com"}
    return create_job(
        session,
        reference=reference,
        customer=customer,
        eta="2026-12-10",
        actor="api:shop",
        settings=SETTINGS,
        now=NOW,
        **kwargs,
    )


def _outbox(session: Session, job: Job) -> list[tuple[str, str]]:
    """(kind, recipient) of every email about the job, in the order they were queued."""
    rows = session.execute(
        select(OutboundEmail.kind, OutboundEmail.to_email)
        .where(OutboundEmail.job_id == job.id)
        .order_by(OutboundEmail.id)
    )
    return [tuple(row) for row in rows]


def _kinds(session: Session, job: Job, kind: str) -> list[str]:
    return [to for k, to in _outbox(session, job) if k == kind]


@pytest.fixture
def admin(db_session) -> User:
    return make_user(db_session, role=Role.ADMIN, name="Ada Admin", email="ada@acme.example")


@pytest.mark.parametrize("status", ["delivered", "cancelled"])
def test_job_that_waited_goes_to_the_manager_whose_job_is_done(db_session, admin, status):
    carol = _manager(db_session, "Carol King")
    first = _create(db_session, "J-1")
    waiting = _create(db_session, "J-2")
    assert first.account_manager == carol
    assert waiting.account_manager is None
    assert _outbox(db_session, waiting) == [("job-unassigned", admin.email)]

    update_job(
        db_session, first, status=status, actor="carol@acme.example", settings=SETTINGS, now=NOW
    )

    assert waiting.account_manager == carol
    assert _kinds(db_session, waiting, "introduction") == ["j-2@example.com"]
    assert _kinds(db_session, waiting, "assignment") == [carol.email]
    assert _kinds(db_session, waiting, "job-unassigned") == [admin.email]
    [intro] = db_session.scalars(
        select(OutboundEmail).where(
            OutboundEmail.job_id == waiting.id, OutboundEmail.kind == "introduction"
        )
    ).all()
    assert (intro.from_name, intro.reply_to) == ("Carol King", carol.email)
    entry = db_session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_type == "job",
            AuditEntry.entity_id == waiting.id,
            AuditEntry.action == "assigned",
        )
    ).one()
    assert entry.actor == "carol@acme.example"
    assert entry.details["automatic"] is True


def test_job_moved_to_another_manager_frees_room_for_a_waiting_job(db_session, admin):
    carol = _manager(db_session, "Carol King")
    bob = _manager(db_session, "Bob Stone")
    moved = _create(db_session, "J-1", account_manager_email=carol.email)
    _create(db_session, "J-2", account_manager_email=bob.email)
    waiting = _create(db_session, "J-3")
    assert waiting.account_manager is None

    update_job(
        db_session, moved, account_manager_email=bob.email, actor="ada", settings=SETTINGS, now=NOW
    )

    assert moved.account_manager == bob
    assert waiting.account_manager == carol
    assert _kinds(db_session, waiting, "introduction") == ["j-3@example.com"]
    assert _kinds(db_session, waiting, "assignment") == [carol.email]


def test_oldest_waiting_job_gets_the_room_first(db_session, admin):
    carol = _manager(db_session, "Carol King")
    busy = _create(db_session, "J-1")
    newer = _create(db_session, "J-2")
    older = _create(db_session, "J-3")
    # Creation time decides, not the order of ids (e.g. jobs imported with their history).
    newer.created_at = NOW - timedelta(hours=1)
    older.created_at = NOW - timedelta(hours=2)
    db_session.flush()

    update_job(db_session, busy, status="delivered", actor="carol", settings=SETTINGS, now=NOW)

    assert older.account_manager == carol
    assert newer.account_manager is None
    assert _outbox(db_session, newer) == [("job-unassigned", admin.email)]


def test_sweep_with_nobody_free_sends_no_second_alert(db_session, admin):
    _manager(db_session, "Carol King", capacity=0)
    waiting = _create(db_session, "J-1")

    assert assign_waiting_jobs(db_session, actor="worker", settings=SETTINGS, now=NOW) == []
    assert assign_waiting_jobs(db_session, actor="worker", settings=SETTINGS, now=NOW) == []

    assert waiting.account_manager is None
    assert _outbox(db_session, waiting) == [("job-unassigned", admin.email)]


def test_sweep_fills_the_room_there_is_and_leaves_the_rest_waiting(db_session, admin):
    carol = _manager(db_session, "Carol King", capacity=0)
    bob = _manager(db_session, "Bob Stone", capacity=0)
    jobs = [_create(db_session, f"J-{n}") for n in range(1, 5)]
    cancelled = jobs.pop(0)
    update_job(db_session, cancelled, status="cancelled", actor="ada", settings=SETTINGS, now=NOW)
    carol.capacity = bob.capacity = 1
    db_session.flush()

    assigned = assign_waiting_jobs(db_session, actor="worker", settings=SETTINGS, now=NOW)

    assert assigned == jobs[:2]
    assert {job.account_manager for job in jobs[:2]} == {carol, bob}
    assert cancelled.account_manager is None
    assert jobs[2].account_manager is None
    assert _outbox(db_session, jobs[2]) == [("job-unassigned", admin.email)]
    assert _kinds(db_session, cancelled, "introduction") == []


def test_running_the_sweep_twice_assigns_once_and_queues_each_email_once(db_session, admin):
    carol = _manager(db_session, "Carol King", capacity=0)
    waiting = _create(db_session, "J-1")
    carol.capacity = 5
    db_session.flush()

    first = assign_waiting_jobs(db_session, actor="worker", settings=SETTINGS, now=NOW)
    second = assign_waiting_jobs(db_session, actor="worker", settings=SETTINGS, now=NOW)

    assert (first, second) == ([waiting], [])
    assert waiting.account_manager == carol
    kinds = [(kind, to) for kind, to in _outbox(db_session, waiting) if not kind.startswith("eta")]
    assert kinds == [
        ("job-unassigned", admin.email),
        ("assignment", carol.email),
        ("introduction", "j-1@example.com"),
    ]


def _runtime(db, clock) -> SimpleNamespace:
    config = SimpleNamespace(TIMEZONE="Europe/Berlin", PUBLIC_BASE_URL="https://sb.example.com")
    return SimpleNamespace(config=config, db=db, clock=clock)


def _capacity_raised(session: Session, carol: User) -> None:
    carol.capacity = 2


def _new_manager(session: Session, carol: User) -> None:
    _manager(session, "Erin Wu")


def _active_again(session: Session, carol: User) -> None:
    erin = _manager(session, "Erin Wu", active=False)
    session.flush()
    erin.active = True


@pytest.mark.parametrize("make_room", [_capacity_raised, _new_manager, _active_again])
def test_worker_assigns_waiting_jobs_once_someone_has_room(db_session, db, clock, admin, make_room):
    assert any(
        job.func == "notifications.jobs:run_assign_waiting_jobs" and job.seconds == 60
        for job in PERIODIC_JOBS
    )
    carol = _manager(db_session, "Carol King")
    _create(db_session, "J-1")
    waiting = _create(db_session, "J-2")
    db_session.commit()
    runtime = _runtime(db, clock)
    assert run_assign_waiting_jobs(runtime) == 0

    make_room(db_session, carol)
    db_session.commit()
    assert run_assign_waiting_jobs(runtime) == 1
    assert run_assign_waiting_jobs(runtime) == 0

    db_session.expire_all()
    assert waiting.account_manager is not None
    manager = waiting.account_manager.email
    assert _kinds(db_session, waiting, "assignment") == [manager]
    assert _kinds(db_session, waiting, "introduction") == ["j-2@example.com"]
    assert _kinds(db_session, waiting, "job-unassigned") == [admin.email]


# --- two processes at once (PostgreSQL row locks need real commits) -------------------


@pytest.mark.postgres
def test_two_sweeps_at_once_never_assign_the_same_job_twice(pg_engine):
    with Session(pg_engine, expire_on_commit=False) as session:
        carol = _manager(session, "Carol King", capacity=0)
        waiting = [_create(session, f"J-{n}") for n in (1, 2)]
        carol.capacity = 2
        session.commit()
    ids = [job.id for job in waiting]

    # The web request's sweep takes the oldest job; the worker's sweep, started while the
    # web's is uncommitted, waits for Carol's row, then counts the web's job and takes
    # the other one: never the same job, never more than her capacity.
    with Session(pg_engine) as web:
        web_took = assign_waiting_jobs(web, actor="web", settings=SETTINGS, now=NOW, limit=1)
        assert [job.id for job in web_took] == ids[:1]
        worker_took: list[int] = []

        def sweep() -> None:
            with Session(pg_engine) as worker:
                worker.execute(text("SET LOCAL lock_timeout = '10s'"))
                took = assign_waiting_jobs(worker, actor="worker", settings=SETTINGS, now=NOW)
                worker_took.extend(job.id for job in took)
                worker.commit()

        thread = threading.Thread(target=sweep)
        thread.start()
        thread.join(timeout=0.5)
        assert thread.is_alive(), "the worker's sweep must wait for Carol's row"
        web.commit()
        thread.join(timeout=15)
        assert worker_took == ids[1:]

    with Session(pg_engine) as session:
        for job_id in ids:
            job = session.get(Job, job_id)
            assert job.account_manager_id == carol.id
            assert _kinds(session, job, "assignment") == [carol.email]
            assert _kinds(session, job, "introduction") == [job.customer.email]
        assert assign_waiting_jobs(session, actor="worker", settings=SETTINGS, now=NOW) == []
