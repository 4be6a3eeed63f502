"""Engine and session factory for one database. Built by the process that needs it."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect, Engine, TextClause, create_engine, event, exc
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT; take it over (SQLAlchemy docs).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    # Readers never block the writer (web workers and the scheduler share one file).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # A deferred transaction that reads and then writes fails at once with "database is
    # locked" when another process wrote in between (the busy timeout does not apply to
    # that upgrade). Taking the write lock up front makes concurrent transactions queue
    # behind the busy timeout instead: SQLite serialises writers anyway.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


# A pooled connection unused for longer than this is tested before it is handed out.
IDLE_PING_SECONDS = 10.0
# Connections older than this are replaced on checkout (server or proxy idle limits).
POOL_RECYCLE_SECONDS = 1800
_RETURNED_AT = "switchboard_returned_at"


def _ping_idle_connections(engine: Engine, idle_seconds: float) -> None:
    """``pool_pre_ping``, but only for connections that sat in the pool for a while.

    The built-in pre-ping costs a round trip on every checkout (0.3 ms of a 2 ms incoming
    call on the webhook benchmark). The connections it saves are the ones that went
    stale while unused: the database restarted or a proxy/firewall dropped them during a
    quiet spell, and those are still pinged (and replaced, invalidating the pool as the
    built-in one does). A connection returned moments ago is used without a ping; if the
    database went away in between, the statement fails with a disconnect error, SQLAlchemy
    invalidates the whole pool so the next checkouts reconnect, and that one request
    fails as any request in flight during an outage would (/incoming still answers the
    fallback TwiML).
    """
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED_AT)
        if returned is None or time.monotonic() - returned < idle_seconds:
            return  # fresh from connect(), or just used
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                # The pool replaces this connection and every older one, then retries.
                raise exc.InvalidatePoolError() from error
            raise


def wait_on_gevent_hub() -> bool:
    """Make psycopg wait for the server through gevent's hub directly (gevent workers).

    Under gevent psycopg cannot use its C wait (it would block the whole worker) and falls
    back to ``select.poll``, which gevent emulates: a poll object, a watcher and a
    100 ms timer for every wait, about 60 µs of CPU per statement on the incoming-call
    benchmark — more than the rest of the round trip. Here each wait is one io watcher on
    the connection's socket (``gevent.socket.wait_read``/``wait_write``), as gevent's own
    sockets wait. Interruptions are unchanged: a ``gevent.Timeout`` (routing/deadline.py)
    or a kill raises out of the wait just as it did out of the emulated poll.

    Does nothing (and answers False) unless gevent has patched ``select`` in this process.
    """
    monkey = sys.modules.get("gevent.monkey")
    if monkey is None or not monkey.is_module_patched("select"):
        return False
    from gevent.socket import wait_read, wait_readwrite, wait_write
    from psycopg import errors, waiting

    waits = {waiting.WAIT_R: wait_read, waiting.WAIT_W: wait_write, waiting.WAIT_RW: wait_readwrite}
    # A watcher that fired says "ready" for what was asked: libpq's non-blocking reads and
    # flushes treat a readiness that was not there as "nothing yet" and ask again.
    ready = {
        waiting.WAIT_R: waiting.READY_R,
        waiting.WAIT_W: waiting.READY_W,
        waiting.WAIT_RW: waiting.READY_RW,
    }
    timed_out = getattr(errors, "_WaitTimeout", errors.OperationalError)

    def wait_gevent(gen: Any, fileno: int, interval: Any = None, timeout: Any = None) -> Any:
        # ``interval`` (psycopg's periodic wake-up for Ctrl-C) has no use under gevent.
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            state = next(gen)
            while True:
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    waits[state](fileno, timeout=remaining)
                except TimeoutError:  # gevent's socket.timeout: only with ``timeout`` given
                    raise timed_out("wait timeout expired") from None
                state = gen.send(ready[state])
        except StopIteration as done:
            return done.value

    waiting.wait = wait_gevent
    return True


class BusyConnection(Exception):
    """A connection came back to the pool with a statement still in flight."""


def _discard_if_busy(dbapi_connection: Any, _record: Any, _state: Any) -> None:
    """Refuse back into the pool a connection interrupted in the middle of a statement.

    A deadline that fired while psycopg waited for the server leaves the connection with
    its query in flight (ACTIVE) and no way to know when, or whether, the answer comes.
    The autocommit pool of the call path does not even roll back on return, so without
    this the next call would get it; a rollback, where there is one, fails on it. The pool
    invalidates (closes) a connection whose reset raises, so this raises.
    """
    status = dbapi_connection.info.transaction_status  # psycopg's pq.TransactionStatus
    if status.name in ("ACTIVE", "UNKNOWN"):
        raise BusyConnection(f"connection returned in state {status.name}: discarded")


def make_engine(
    url: str,
    *,
    statement_timeout_ms: int | None = None,
    connect_timeout_s: int | None = None,
    synchronous_commit: bool = True,
    **kwargs: Any,
) -> Engine:
    """An engine with the timeouts the call path needs and sane pooling.

    ``synchronous_commit=False`` (PostgreSQL only) lets a commit return before its WAL
    record is flushed: a crash of the database server (not of the application) can lose
    the last fraction of a second of commits. Only for writes something else repairs.
    """
    connect_args: dict[str, Any] = kwargs.pop("connect_args", {})
    if url.startswith("postgresql"):
        if connect_timeout_s:
            connect_args.setdefault("connect_timeout", connect_timeout_s)
        options = []
        if statement_timeout_ms:
            options.append(f"-c statement_timeout={statement_timeout_ms}")
        if not synchronous_commit:
            options.append("-c synchronous_commit=off")
        if options:
            connect_args.setdefault("options", " ".join(options))
        # Stale connections are caught by _ping_idle_connections, not a ping per checkout.
        kwargs.setdefault("pool_recycle", POOL_RECYCLE_SECONDS)
        if "poolclass" not in kwargs:
            kwargs.setdefault("pool_size", 10)
            kwargs.setdefault("max_overflow", 10)
            kwargs.setdefault("pool_timeout", 5)
    elif url.startswith("sqlite"):
        connect_args.setdefault("check_same_thread", False)
        if connect_timeout_s:
            connect_args.setdefault("timeout", connect_timeout_s * 5)
    engine = create_engine(url, connect_args=connect_args, **kwargs)
    if engine.dialect.name == "postgresql":
        event.listen(engine, "reset", _discard_if_busy)
        if not kwargs.get("pool_pre_ping"):
            _ping_idle_connections(engine, IDLE_PING_SECONDS)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


# Compiled text statements per dialect: (SQL in the driver's paramstyle, positional
# parameter order or None, bind processors by parameter name).
_Compiled = tuple[str, tuple[str, ...] | None, dict[str, Callable[[Any], Any]]]
_compiled: dict[tuple[TextClause, str], _Compiled] = {}


def _compile(statement: TextClause, dialect: Dialect) -> _Compiled:
    key = (statement, dialect.name)
    compiled = _compiled.get(key)
    if compiled is None:
        sql = statement.compile(dialect=dialect)
        processors = {}
        for name, bind in sql.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors[name] = processor
        order = tuple(sql.positiontup) if sql.positiontup else None
        compiled = _compiled[key] = (sql.string, order, processors)
    return compiled


@dataclass(frozen=True)
class StatementConnection:
    """A bare DBAPI connection for a hot path's few statements, and how to talk to it.

    SQLAlchemy's Session and statement execution cost more CPU than the driver does for a
    one-row write (measured on the incoming-call webhook: 0.26 ms of that machinery around
    0.08 ms of psycopg work per call). Statements here are
    ``text()`` clauses compiled once per dialect; their typed binds go through the types'
    own bind processors, so values are stored exactly as the ORM stores them.
    """

    dbapi: Any
    dialect: Dialect

    def fetch_one(self, statement: TextClause, params: Mapping[str, Any]) -> tuple | None:
        """Run ``statement``; its first row (None when it returns none)."""
        sql, order, processors = _compile(statement, self.dialect)
        values = {
            name: processors[name](value) if name in processors else value
            for name, value in params.items()
        }
        args: Any = tuple(values[name] for name in order) if order else values
        cursor = self.dbapi.cursor()
        try:
            cursor.execute(sql, args)
            if cursor.description is None:
                return None
            row = cursor.fetchone()
            return tuple(row) if row is not None else None
        finally:
            cursor.close()


class Database:
    """One engine and its session factory; hung off the Flask app or held by the worker."""

    def __init__(self, engine: Engine, *, statement_engine: Engine | None = None):
        self.engine = engine
        self.Session: sessionmaker[Session] = sessionmaker(bind=engine, expire_on_commit=False)
        # Autocommit connections for single-statement hot paths (see statement_connection).
        self._statement_engine = statement_engine

    @classmethod
    def from_config(cls, config: Any) -> Database:
        url = config.DATABASE_URL
        if url.startswith("postgresql"):
            wait_on_gevent_hub()
        timeouts = {
            "statement_timeout_ms": getattr(config, "DB_STATEMENT_TIMEOUT_MS", None),
            "connect_timeout_s": getattr(config, "DB_CONNECT_TIMEOUT_S", None),
            # In production a failed statement's parameters (customer names, numbers,
            # emails) stay out of exception messages and so out of the logs.
            "hide_parameters": getattr(config, "ENV_NAME", "") == "production",
        }
        statement_engine = None
        if url.startswith("postgresql"):
            # The incoming-call row is the only writer here. Its commit does not wait for
            # the WAL flush: a PostgreSQL crash may lose the last ~0.6 s of new calls'
            # rows, which every later webhook of such a call recreates (ensure_call).
            statement_engine = make_engine(
                url,
                **timeouts,
                synchronous_commit=False,
                isolation_level="AUTOCOMMIT",
                pool_size=2,
                max_overflow=0,
                pool_reset_on_return=None,
            )
        return cls(make_engine(url, **timeouts), statement_engine=statement_engine)

    @contextmanager
    def statement_connection(self) -> Iterator[StatementConnection]:
        """A connection whose statements each commit on their own (one round trip each).

        From the pool of autocommit connections (PostgreSQL) or the engine's pool
        (SQLite, whose connections already run outside transactions until ``begin``).
        When the session factory is bound to a Connection rather than an engine (the
        test suite joins every session to one outer transaction), that connection's
        DBAPI connection is used inside its transaction, so tests see and roll back the
        same rows.
        """
        bind = self.Session.kw.get("bind")
        if isinstance(bind, Connection):
            yield StatementConnection(bind.connection.driver_connection, bind.dialect)
            return
        engine = self._statement_engine or self.engine
        raw = engine.raw_connection()
        driver = raw.driver_connection
        # A PostgreSQL engine built without the autocommit pool (scripts, benchmarks).
        switch = engine.dialect.name == "postgresql" and not driver.autocommit
        try:
            if switch:
                driver.autocommit = True
            yield StatementConnection(driver, engine.dialect)
        except engine.dialect.loaded_dbapi.Error as error:
            if engine.dialect.is_disconnect(error, driver, None):
                # The database went away (restart, failover): this connection and the
                # pooled ones are dead. Without Core in between nobody else notices, so
                # drop them all as SQLAlchemy does; the next statement connects afresh.
                raw.invalidate()
                engine.dispose()
            raise
        except BaseException:
            # Interrupted mid-statement (the call path's deadline, a worker shutting
            # down): the server may still be working on it, or never answer. Poisoned:
            # closed, never handed to the next call.
            raw.invalidate()
            raise
        finally:
            if switch and raw.is_valid:
                try:
                    driver.autocommit = False
                except Exception:
                    raw.invalidate()  # never pool a connection left in autocommit
            raw.close()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on error."""
        with self.Session.begin() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
        if self._statement_engine is not None:
            self._statement_engine.dispose()
