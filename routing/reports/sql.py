"""Time-zone arithmetic the report queries need, the same on PostgreSQL and SQLite.

PostgreSQL does it natively (``timezone()``, ``date_trunc``); SQLite has no time zones,
so the same expressions call small Python functions registered on the connection
(:func:`prepare`). Instants are stored as UTC on both (naive UTC text on SQLite).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

_SQLITE_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
REPORT_TIMEOUT_MS = 30_000


def _quoted(zone: str) -> str:
    return "'" + zone.replace("'", "''") + "'"


class local_bucket(FunctionElement):
    """The local date an instant falls on, or its week's Monday.

    The zone and the unit are written into the SQL text (not bound), so that GROUP BY
    repeats exactly the selected expression; hence no statement cache for it.
    """

    type = Date()
    inherit_cache = False

    def __init__(self, instant, zone: str, week: bool) -> None:
        self.zone = zone
        self.week = week
        super().__init__(instant)


class end_of_local_day(FunctionElement):
    """The UTC instant a local date ends (the next local midnight)."""

    inherit_cache = False

    def __init__(self, day, zone: str, type_) -> None:
        self.zone = zone
        self.type = type_
        super().__init__(day)


class seconds_between(FunctionElement):
    """Seconds from the first instant to the second."""

    type = Float()
    inherit_cache = True


class week_of(FunctionElement):
    """The Monday of a date's ISO week."""

    type = Date()
    inherit_cache = True


@compiles(week_of, "postgresql")
def _week_pg(element, compiler, **kw):
    return f"CAST(date_trunc('week', {compiler.process(element.clauses, **kw)}) AS DATE)"


@compiles(week_of, "sqlite")
def _week_sqlite(element, compiler, **kw):
    day = compiler.process(element.clauses, **kw)
    return f"date({day}, '-' || ((CAST(strftime('%w', {day}) AS INTEGER) + 6) % 7) || ' days')"


@compiles(local_bucket, "postgresql")
def _bucket_pg(element, compiler, **kw):
    unit = "week" if element.week else "day"
    instant = compiler.process(element.clauses, **kw)
    return f"CAST(date_trunc('{unit}', timezone({_quoted(element.zone)}, {instant})) AS DATE)"


@compiles(local_bucket, "sqlite")
def _bucket_sqlite(element, compiler, **kw):
    instant = compiler.process(element.clauses, **kw)
    return f"sb_local_bucket({instant}, {_quoted(element.zone)}, {int(element.week)})"


@compiles(end_of_local_day, "postgresql")
def _end_pg(element, compiler, **kw):
    day = compiler.process(element.clauses, **kw)
    return f"timezone({_quoted(element.zone)}, CAST({day} + 1 AS TIMESTAMP))"


@compiles(end_of_local_day, "sqlite")
def _end_sqlite(element, compiler, **kw):
    day = compiler.process(element.clauses, **kw)
    return f"sb_end_of_local_day({day}, {_quoted(element.zone)})"


@compiles(seconds_between, "postgresql")
def _seconds_pg(element, compiler, **kw):
    first, second = list(element.clauses)
    return (
        f"EXTRACT(EPOCH FROM ({compiler.process(second, **kw)} - {compiler.process(first, **kw)}))"
    )


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element, compiler, **kw):
    first, second = list(element.clauses)
    return (
        f"((julianday({compiler.process(second, **kw)}) - "
        f"julianday({compiler.process(first, **kw)})) * 86400.0)"
    )


def _sqlite_bucket(stored: str | None, zone: str, week: int) -> str | None:
    if stored is None:
        return None
    local = datetime.fromisoformat(stored).replace(tzinfo=UTC).astimezone(ZoneInfo(zone))
    day = local.date()
    if week:
        day -= timedelta(days=day.weekday())
    return day.isoformat()


def _sqlite_end_of_day(stored: str | None, zone: str) -> str | None:
    if stored is None:
        return None
    day = date.fromisoformat(stored[:10]) + timedelta(days=1)
    end = datetime.combine(day, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)
    return end.replace(tzinfo=None).strftime(_SQLITE_FORMAT)


def prepare(session: Session) -> None:
    """Ready the session's connection for report queries.

    PostgreSQL: no JIT for this transaction (compiling the report's many expressions cost
    5.9 s of a 13 s query on a year of a million calls, and saved far less), and a longer
    statement timeout than a console page's (``DB_STATEMENT_TIMEOUT_MS``): a year's report
    on a busy server may take a few seconds, and it is read-only. SQLite: register the
    time-zone stand-ins.
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL jit = off")
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {REPORT_TIMEOUT_MS}")
        # Group in memory rather than sort on disk (a few thousand groups, many rows).
        connection.exec_driver_sql("SET LOCAL work_mem = '32MB'")
        return
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.driver_connection
    raw.create_function("sb_local_bucket", 3, _sqlite_bucket, deterministic=True)
    raw.create_function("sb_end_of_local_day", 2, _sqlite_end_of_day, deterministic=True)


def as_date(value: object) -> date:
    """A bucket as the database returned it (a date, or ISO text on SQLite)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


__all__ = [
    "as_date",
    "end_of_local_day",
    "local_bucket",
    "prepare",
    "seconds_between",
    "week_of",
]
