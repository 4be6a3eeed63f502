"""The worker: late emails still go out once, two workers never send twice, clean stops."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, text

from models import Database, EmailStatus, OutboundEmail, make_engine, utcnow
from notifications.delivery import dispatch_due
from notifications.outbox import enqueue_email
from notifications.senders import SendResult
from notifications.worker import (
    PERIODIC_JOBS,
    LeaderLock,
    WorkerRuntime,
    schedule_future_emails,
    start,
    stop,
)

KEY_PREFIX = "worker-test:"


class CountingSender:
    """Records every email handed to it; thread-safe, like the real pooled sender."""

    name = "counting"

    def __init__(self, delay: float = 0.0):
        self.sent: Counter[str] = Counter()
        self.delay = delay
        self._lock = threading.Lock()

    def send(self, email: OutboundEmail) -> SendResult:
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            self.sent[email.idempotency_key] += 1
        return SendResult(message_id=f"counted-{email.id}")


@pytest.fixture
def committed_db(engine, database_url):
    """A Database that really commits (workers run in other threads); cleaned up after."""
    database = Database(make_engine(database_url))

    def clean() -> None:
        with database.Session.begin() as session:
            session.execute(
                delete(OutboundEmail).where(OutboundEmail.idempotency_key.like(f"{KEY_PREFIX}%"))
            )
            session.execute(text("DELETE FROM apscheduler_jobs WHERE id LIKE 'email:%'"))

    with database.engine.begin() as conn:  # the job store's table, as a first worker makes it
        conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS apscheduler_jobs (id VARCHAR(191) PRIMARY KEY, "
                "next_run_time FLOAT, job_state BYTEA NOT NULL)"
                if database.engine.dialect.name == "postgresql"
                else "CREATE TABLE IF NOT EXISTS apscheduler_jobs (id VARCHAR(191) PRIMARY KEY, "
                "next_run_time FLOAT, job_state BLOB NOT NULL)"
            )
        )
    clean()
    yield database
    clean()
    database.dispose()


def _add_emails(database: Database, count: int, due) -> list[int]:
    with database.Session.begin() as session:
        rows = [
            enqueue_email(
                session,
                kind="test",
                idempotency_key=f"{KEY_PREFIX}{n}",
                to_email=f"person{n}@example.com",
                subject=f"Email {n}",
                text_body="text",
                html_body="<p>html</p>",
                now=due,
            )
            for n in range(count)
        ]
        return [row.id for row in rows]


def _wait_for(condition, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_worker_stopped_past_a_due_time_sends_the_email_once_when_started(committed_db):
    due = utcnow() - timedelta(hours=1)
    [email_id] = _add_emails(committed_db, 1, due)

    # Worker A registers the email's date job while it is still in the future for it …
    first = WorkerRuntime(
        config=None,
        db=committed_db,
        sender=CountingSender(),
        clock=lambda: due - timedelta(hours=1),
    )
    scheduler = start(first, blocking=False, paused=True)
    assert schedule_future_emails(first) == 1
    assert scheduler.get_job(f"email:{email_id}") is not None
    stop(first)  # … and is stopped before the due time: the job is still in the store.
    with committed_db.Session() as session:
        assert session.scalar(text("SELECT count(*) FROM apscheduler_jobs")) >= 1
        assert session.get(OutboundEmail, email_id).status == EmailStatus.PENDING

    # Worker B starts an hour late: the misfired job still runs, and the sweep does not
    # send the email a second time.
    sender = CountingSender()
    second = WorkerRuntime(config=None, db=committed_db, sender=sender)
    start(second, blocking=False)
    try:
        assert _wait_for(lambda: sender.sent[f"{KEY_PREFIX}0"] >= 1)
        assert _wait_for(lambda: second.scheduler.get_job(f"email:{email_id}") is None), (
            "the date job ran and was removed"
        )
        time.sleep(2.5)  # one more sweep: it must find nothing to send
    finally:
        stop(second)
    assert sender.sent == Counter({f"{KEY_PREFIX}0": 1})
    with committed_db.Session() as session:
        row = session.get(OutboundEmail, email_id)
        assert row.status == EmailStatus.SENT
        assert row.attempts == 1


@pytest.mark.postgres
def test_two_workers_on_postgresql_never_send_the_same_email_twice(committed_db, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("needs TEST_DATABASE_URL pointing at PostgreSQL")
    _add_emails(committed_db, 300, utcnow() - timedelta(seconds=1))
    other = Database(make_engine(database_url))
    sender = CountingSender(delay=0.003)
    reports = []
    ready = threading.Barrier(2)

    def work(database: Database) -> None:
        with database.engine.connect():  # warm the pool so both start together
            pass
        ready.wait(timeout=10)
        reports.append(dispatch_due(database, sender, batch=20, concurrency=4))

    threads = [threading.Thread(target=work, args=(d,)) for d in (committed_db, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    other.dispose()
    assert len(sender.sent) == 300
    assert max(sender.sent.values()) == 1
    assert sum(r.sent for r in reports) == 300
    assert all(r.sent > 0 for r in reports), "both workers took part"
    with committed_db.Session() as session:
        statuses = session.scalars(
            select(OutboundEmail.status).where(OutboundEmail.idempotency_key.like(f"{KEY_PREFIX}%"))
        ).all()
    assert set(statuses) == {EmailStatus.SENT}


@pytest.mark.postgres
def test_only_one_worker_leads_the_periodic_jobs(database_url, engine):
    if not database_url.startswith("postgresql"):
        pytest.skip("needs TEST_DATABASE_URL pointing at PostgreSQL")
    engines = [make_engine(database_url), make_engine(database_url)]
    first, second = (LeaderLock(e) for e in engines)
    try:
        assert first.is_leader()
        assert first.is_leader()
        assert not second.is_leader()
        first.release()
        assert second.is_leader()
    finally:
        first.release()
        second.release()
        for e in engines:
            e.dispose()


def test_periodic_jobs_are_one_list_of_importable_functions():
    from notifications.worker import _resolve

    assert PERIODIC_JOBS, "at least the email scheduling job"
    for job in PERIODIC_JOBS:
        assert callable(_resolve(job.func))
        assert job.seconds > 0


def test_worker_command_stops_cleanly_on_sigterm(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'worker.sqlite3'}",
        "SWITCHBOARD_ENV": "development",
        "SWITCHBOARD_INSTANCE_PATH": str(tmp_path),
        "SENDGRID_API_KEY": "",
    }
    switchboard = os.path.join(os.path.dirname(sys.executable), "switchboard")
    subprocess.run([switchboard, "db", "upgrade"], env=env, check=True, capture_output=True)
    process = subprocess.Popen(
        [switchboard, "worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
    )
    try:
        first_line = process.stdout.readline()
        assert "worker: sending with the development backend" in first_line
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "worker: stopped" in output


def test_a_moved_email_moves_its_date_job_instead_of_adding_one(committed_db):
    later = utcnow() + timedelta(hours=1)
    [email_id] = _add_emails(committed_db, 1, later)
    runtime = WorkerRuntime(config=None, db=committed_db, sender=CountingSender())
    scheduler = start(runtime, blocking=False, paused=True)
    try:
        assert schedule_future_emails(runtime) == 1
        assert schedule_future_emails(runtime) == 0  # already scheduled for that time
        moved = later + timedelta(minutes=10)  # e.g. another ETA change in the settle window
        with committed_db.Session.begin() as session:
            session.get(OutboundEmail, email_id).next_attempt_at = moved
        assert schedule_future_emails(runtime) == 1
        jobs = [job for job in scheduler.get_jobs() if job.id.startswith("email:")]
        assert [(job.id, job.next_run_time) for job in jobs] == [(f"email:{email_id}", moved)]
    finally:
        stop(runtime)
    assert runtime.sender.sent == Counter()  # scheduling is not sending
