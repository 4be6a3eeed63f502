"""Engine and session factory for one database. Built by the process that needs it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
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
        kwargs.setdefault("pool_pre_ping", True)
        if "poolclass" not in kwargs:
            kwargs.setdefault("pool_size", 10)
            kwargs.setdefault("max_overflow", 10)
            kwargs.setdefault("pool_timeout", 5)
    elif url.startswith("sqlite"):
        connect_args.setdefault("check_same_thread", False)
        if connect_timeout_s:
            connect_args.setdefault("timeout", connect_timeout_s * 5)
    engine = create_engine(url, connect_args=connect_args, **kwargs)
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
