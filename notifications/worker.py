"""The worker process: one APScheduler 3.11 scheduler that sends the outbox on time.

The outbox table is the truth; the scheduler only decides *when* to look at it:

* every worker runs ``dispatch_outbox`` every few seconds: it claims whatever is due
  (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and sends it — this is the sweep that
  catches anything the scheduler lost (APScheduler removes a date job before running
  it, so a crash mid-run loses the job, never the email);
* rows due later get a date job ``email:<id>`` in the SQLAlchemy job store (deterministic
  id, ``replace_existing=True``: an ETA change that moves a pending email moves its job),
  registered by the periodic ``schedule_future_emails`` — the web process never talks
  to the scheduler, it only commits rows;
* ``PERIODIC_JOBS`` run on one worker only: the one holding a PostgreSQL advisory lock.

Jobs are referenced as ``"module:function"`` with plain id arguments and open their own
sessions, so the pickled job store survives restarts and code changes.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from importlib import import_module
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED, BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import Connection, Engine, or_, select, text, update

from models import Database, EmailStatus, OutboundEmail, make_engine, utcnow

from .delivery import (
    DATABASE_GONE,
    DeliverySettings,
    DispatchReport,
    LeaseKeeper,
    dispatch_due,
    send_email_now,
)
from .senders import Sender, sender_from_config

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    """A job run every ``seconds`` on the leader worker only.

    ``func`` is ``"module:function"``; it is called with the :class:`WorkerRuntime`
    (``runtime.db``, ``runtime.config``, ``runtime.clock`` …) and opens its own sessions.
    """

    id: str
    func: str
    seconds: int


# Add a line here to run something periodically (once across all workers).
PERIODIC_JOBS: list[PeriodicJob] = [
    PeriodicJob("schedule-future-emails", "notifications.worker:schedule_future_emails", 15),
    PeriodicJob("enquiry-sla-breaches", "notifications.sla:run_sla_check", 60),
    PeriodicJob("enquiry-sla-warnings", "notifications.sla:run_sla_warning_check", 60),
    PeriodicJob("salesperson-digests", "notifications.digest:run_digests", 300),
    PeriodicJob("assign-waiting-jobs", "notifications.jobs:run_assign_waiting_jobs", 60),
    PeriodicJob("reminder-upkeep", "notifications.reminders:run_reminder_upkeep", 300),
]

DISPATCH_SECONDS = 2
# Arbitrary constant identifying the leader lock among PostgreSQL advisory locks.
LEADER_LOCK_KEY = 0x5B0A2D


class LeaderLock:
    """Whether this worker is the one that runs the periodic jobs.

    PostgreSQL: a session-level advisory lock held on a dedicated connection for as long
    as the worker lives; if that connection dies the lock is released and another
    worker takes over at its next try. SQLite has a single worker: always the leader.
    """

    def __init__(self, engine: Engine, key: int = LEADER_LOCK_KEY):
        self.engine = engine
        self.key = key
        self._conn: Connection | None = None
        self._mutex = threading.Lock()

    def is_leader(self) -> bool:
        if self.engine.dialect.name != "postgresql":
            return True
        with self._mutex:
            if self._conn is not None:
                try:
                    self._conn.exec_driver_sql("SELECT 1")
                    self._conn.commit()
                    return True
                except Exception:
                    log.warning("lost the leader connection; trying to take the lock again")
                    self._drop()
            conn = self.engine.connect()
            got = conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key})
            conn.commit()
            if got:
                self._conn = conn
                log.info("this worker is now the leader (runs periodic jobs)")
                return True
            conn.close()
            return False

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.invalidate()
                self._conn.close()
            except Exception:
                pass
            self._conn = None

    def release(self) -> None:
        with self._mutex:
            if self._conn is not None:
                try:
                    self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
                    self._conn.commit()
                finally:
                    self._conn.close()
                    self._conn = None


class SharedSQLAlchemyJobStore(SQLAlchemyJobStore):
    """SQLAlchemy job store that tolerates a second worker having run a job first.

    Two workers may both pick up the same date job; the outbox claim makes sure only
    one of them sends, and the loser must not crash when the job row is already gone.
    """

    def update_job(self, job: Any) -> None:
        try:
            super().update_job(job)
        except JobLookupError:
            pass

    def remove_job(self, job_id: str) -> None:
        try:
            super().remove_job(job_id)
        except JobLookupError:
            pass


@dataclass
class WorkerRuntime:
    """Everything a running worker's jobs need; built once when the worker starts."""

    config: Any
    db: Database
    sender: Sender
    clock: Callable[[], datetime] = utcnow
    concurrency: int = 8
    batch: int = 100
    settings: DeliverySettings = field(default_factory=DeliverySettings)
    sweep_seconds: float = DISPATCH_SECONDS
    leader: LeaderLock | None = None
    scheduler: BaseScheduler | None = None
    leases: LeaseKeeper | None = None
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        if self.leader is None:
            self.leader = LeaderLock(self.db.engine)
        if self.leases is None:
            self.leases = LeaseKeeper(self.db, self.settings, self.clock)


_runtime: WorkerRuntime | None = None


def current_runtime() -> WorkerRuntime:
    if _runtime is None:
        raise RuntimeError("no worker is running in this process")
    return _runtime


# --- jobs (referenced by "module:function" from the job stores) -----------------------


def send_email(email_id: int) -> None:
    """Date job ``email:<id>``: send one row if it is (still) due."""
    runtime = current_runtime()
    try:
        outcome = send_email_now(
            runtime.db,
            runtime.sender,
            email_id,
            clock=runtime.clock,
            settings=runtime.settings,
            leases=runtime.leases,
        )
    except DATABASE_GONE as exc:
        # The sweep sends it once the database is back.
        log.warning("email %s: database unreachable (%s)", email_id, exc.__class__.__name__)
        return
    log.info("email %s: %s", email_id, outcome)


def dispatch_outbox() -> DispatchReport:
    """Every worker, every few seconds: send whatever is due."""
    runtime = current_runtime()
    try:
        report = dispatch_due(
            runtime.db,
            runtime.sender,
            clock=runtime.clock,
            batch=runtime.batch,
            concurrency=runtime.concurrency,
            should_stop=runtime.stopping.is_set,
            settings=runtime.settings,
            leases=runtime.leases,
        )
    except DATABASE_GONE as exc:
        # Restart or failover: the pool reconnects, the next sweep carries on. Rows
        # claimed before are still held (heartbeat) or their leases run out: never lost.
        log.warning("outbox sweep: database unreachable, retrying (%s)", _first_line(exc))
        return DispatchReport(errors=[_first_line(exc)])
    if report.claimed:
        log.info(
            "outbox: %d sent, %d to retry, %d failed", report.sent, report.retried, report.failed
        )
    return report


def _first_line(exc: BaseException) -> str:
    text_ = str(getattr(exc, "orig", None) or exc).strip()
    return text_.splitlines()[0][:200] if text_ else exc.__class__.__name__


def run_periodic(job_id: str) -> None:
    """Run one of PERIODIC_JOBS if this worker is the leader."""
    runtime = current_runtime()
    assert runtime.leader is not None
    try:
        if not runtime.leader.is_leader():
            return
        job = next((j for j in PERIODIC_JOBS if j.id == job_id), None)
        if job is None:
            log.warning("periodic job %r is no longer defined", job_id)
            return
        _resolve(job.func)(runtime)
    except DATABASE_GONE as exc:
        log.warning("periodic job %s: database unreachable (%s)", job_id, _first_line(exc))


def _resolve(reference: str) -> Callable[..., Any]:
    module_name, _, name = reference.partition(":")
    return getattr(import_module(module_name), name)


def schedule_future_emails(runtime: WorkerRuntime, limit: int = 500) -> int:
    """Give every pending email due later a date job at its due time (once per due time)."""
    scheduler = runtime.scheduler
    if scheduler is None:
        return 0
    now = runtime.clock()
    with runtime.db.Session() as session:
        rows = session.execute(
            select(OutboundEmail.id, OutboundEmail.next_attempt_at)
            .where(
                OutboundEmail.status == EmailStatus.PENDING,
                OutboundEmail.next_attempt_at > now,
                or_(
                    OutboundEmail.scheduled_for.is_(None),
                    OutboundEmail.scheduled_for != OutboundEmail.next_attempt_at,
                ),
            )
            .order_by(OutboundEmail.next_attempt_at)
            .limit(limit)
        ).all()
    for email_id, due in rows:
        scheduler.add_job(
            "notifications.worker:send_email",
            trigger="date",
            run_date=due,
            args=[email_id],
            id=f"email:{email_id}",
            name=f"send email {email_id}",
            jobstore="default",
            replace_existing=True,
        )
        with runtime.db.Session.begin() as session:
            session.execute(
                update(OutboundEmail)
                .where(OutboundEmail.id == email_id, OutboundEmail.next_attempt_at == due)
                .values(scheduled_for=due)
                .execution_options(synchronize_session=False)
            )
    return len(rows)


# --- the scheduler ------------------------------------------------------------------


class _StopAware:
    """APScheduler 3.11's loop processes jobs once more after ``shutdown()``; with a due job
    that crashes the loop thread (executors are gone). Skip that last round: the job stays
    in the store and the next start runs it.
    """

    def _process_jobs(self):  # type: ignore[no-untyped-def]
        if self.state == STATE_STOPPED:  # type: ignore[attr-defined]
            return None
        return super()._process_jobs()  # type: ignore[misc]


class WorkerBlockingScheduler(_StopAware, BlockingScheduler):
    pass


class WorkerBackgroundScheduler(_StopAware, BackgroundScheduler):
    pass


def build_scheduler(runtime: WorkerRuntime, *, blocking: bool = True) -> BaseScheduler:
    """The worker's scheduler with its stores, executors and recurring jobs registered."""
    scheduler_class = WorkerBlockingScheduler if blocking else WorkerBackgroundScheduler
    scheduler = scheduler_class(
        jobstores={
            # Its own small engine: the job store disposes of it at shutdown.
            "default": SharedSQLAlchemyJobStore(
                engine=make_engine(
                    runtime.db.engine.url.render_as_string(hide_password=False),
                    pool_size=2,
                    max_overflow=2,
                )
                if runtime.db.engine.dialect.name == "postgresql"
                else make_engine(runtime.db.engine.url.render_as_string(hide_password=False))
            ),
            # Recurring jobs are re-registered at every start: nothing to persist.
            "local": MemoryJobStore(),
        },
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
        timezone="UTC",
    )
    scheduler.add_job(
        "notifications.worker:dispatch_outbox",
        trigger="interval",
        seconds=runtime.sweep_seconds,
        id="dispatch-outbox",
        jobstore="local",
        replace_existing=True,
        next_run_time=runtime.clock(),
    )
    for job in PERIODIC_JOBS:
        scheduler.add_job(
            "notifications.worker:run_periodic",
            trigger="interval",
            seconds=job.seconds,
            args=[job.id],
            id=f"periodic:{job.id}",
            jobstore="local",
            replace_existing=True,
            next_run_time=runtime.clock(),
        )
    runtime.scheduler = scheduler
    return scheduler


def start(runtime: WorkerRuntime, *, blocking: bool = True, paused: bool = False) -> BaseScheduler:
    """Make ``runtime`` this process's worker and start its scheduler.

    Blocking (the ``switchboard worker`` command) returns after SIGTERM/SIGINT, once
    running jobs have finished; non-blocking returns the started background scheduler.
    """
    global _runtime
    _runtime = runtime
    scheduler = build_scheduler(runtime, blocking=blocking)
    if blocking:

        def _stop(signum: int, _frame: Any) -> None:
            log.info("signal %s: finishing running jobs, then stopping", signum)
            runtime.stopping.set()
            # Waits for running jobs; the dispatch loop stops after its current batch.
            scheduler.shutdown(wait=True)

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        try:
            scheduler.start()
        finally:
            stop(runtime)
    else:
        scheduler.start(paused=paused)
    return scheduler


def stop(runtime: WorkerRuntime) -> None:
    """Stop the scheduler (waiting for running jobs) and let go of the leader lock."""
    global _runtime
    runtime.stopping.set()
    scheduler = runtime.scheduler
    if scheduler is not None and scheduler.running:
        scheduler.shutdown(wait=True)
    if runtime.leases is not None:
        runtime.leases.close()
    if runtime.leader is not None:
        try:
            runtime.leader.release()
        except DATABASE_GONE:
            pass  # the lock went with the connection
    close = getattr(runtime.sender, "close", None)
    if close is not None:
        close()
    if _runtime is runtime:
        _runtime = None


def runtime_from_config(config: Any, *, concurrency: int = 8, batch: int = 100) -> WorkerRuntime:
    return WorkerRuntime(
        config=config,
        db=Database.from_config(config),
        sender=sender_from_config(config, pool_size=concurrency),
        concurrency=concurrency,
        batch=batch,
        settings=DeliverySettings.from_config(config),
        sweep_seconds=float(getattr(config, "OUTBOX_SWEEP_SECONDS", DISPATCH_SECONDS)),
    )
