"""Engine and session factory for one database. Built by the process that needs it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
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


def make_engine(
    url: str,
    *,
    statement_timeout_ms: int | None = None,
    connect_timeout_s: int | None = None,
    **kwargs: Any,
) -> Engine:
    """An engine with the timeouts the call path needs and sane pooling."""
    connect_args: dict[str, Any] = kwargs.pop("connect_args", {})
    if url.startswith("postgresql"):
        if connect_timeout_s:
            connect_args.setdefault("connect_timeout", connect_timeout_s)
        if statement_timeout_ms:
            connect_args.setdefault("options", f"-c statement_timeout={statement_timeout_ms}")
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
    if engine.dialect.name == "postgresql" and not kwargs.get("pool_pre_ping"):
        _ping_idle_connections(engine, IDLE_PING_SECONDS)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


class Database:
    """One engine and its session factory; hung off the Flask app or held by the worker."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.Session: sessionmaker[Session] = sessionmaker(bind=engine, expire_on_commit=False)

    @classmethod
    def from_config(cls, config: Any) -> Database:
        return cls(
            make_engine(
                config.DATABASE_URL,
                statement_timeout_ms=getattr(config, "DB_STATEMENT_TIMEOUT_MS", None),
                connect_timeout_s=getattr(config, "DB_CONNECT_TIMEOUT_S", None),
            )
        )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on error."""
        with self.Session.begin() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
