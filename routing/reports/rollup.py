"""The per-day roll-up of call figures: kept fresh on read, then added up for a period.

A local day is rolled up once it has *settled*: it ended at least ``SETTLED_HOURS`` ago
by both the caller's clock and the database's (the triggers of migration 0008 compare
with the database's). Before reading, :func:`refresh` drops the rolled-up days that
changed since (from ``call_day_changes``, and calls inserted into past days, found by
id), then rolls up the period's settled days that are missing. Bulk-loaded history is
therefore rolled up on demand, by the first report that covers it. Days that have not
settled are read live from the calls table.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from models import (
    Call,
    CallDayChange,
    CallDayFigures,
    CallDayLineFigures,
    CallDayLines,
    CallDayManagerStatus,
    CallResult,
    CallRolledDay,
    CallRollupState,
)
from models.call_rollup import SETTLED_HOURS

from . import sql
from .call_facts import CallFacts, call_groups, coordinator_condition, manager_status_groups
from .period import local_midnight

ROLLUP_MODELS = (
    CallDayFigures,
    CallDayLineFigures,
    CallDayLines,
    CallDayManagerStatus,
    CallRolledDay,
)
CHUNK = 500  # ids or days per IN list
INSERT_BATCH = 5000
# Days rolled up per statement: a year of history in month-sized statements, each well
# within the report's statement timeout.
RUN_DAYS = 31
LOCK_KEY = 7_436_001  # the advisory lock that serialises refreshes (PostgreSQL)


def last_settled_day(session: Session, zone: ZoneInfo, now: datetime) -> date:
    """The last local day whose calls started ``SETTLED_HOURS`` before both clocks."""
    database_now = session.execute(select(func.now())).scalar_one()
    if isinstance(database_now, str):  # SQLite: CURRENT_TIMESTAMP, naive UTC text
        database_now = datetime.fromisoformat(database_now)
    if database_now.tzinfo is None:
        database_now = database_now.replace(tzinfo=UTC)
    instant = min(now, database_now) - timedelta(hours=SETTLED_HOURS)
    return instant.astimezone(zone).date() - timedelta(days=1)


def refresh(session: Session, zone: ZoneInfo, first: date, last: date) -> None:
    """Make the roll-up of local days ``first`` .. ``last`` (all settled) current."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(LOCK_KEY)))
    key = zone.key
    if session.scalar(select(CallRolledDay.zone).where(CallRolledDay.zone != key).limit(1)):
        for model in ROLLUP_MODELS:  # the zone was changed
            session.execute(delete(model).where(model.zone != key))
    _forget_changed_days(session, zone)
    rolled = set(
        session.scalars(
            select(CallRolledDay.day).where(
                CallRolledDay.zone == key, CallRolledDay.day.between(first, last)
            )
        )
    )
    day, missing = first, []
    while day <= last:
        if day not in rolled:
            missing.append(day)
        day += timedelta(days=1)
    for start, end in _runs(missing):
        _roll_up(session, zone, start, end)


def _forget_changed_days(session: Session, zone: ZoneInfo) -> None:
    """Drop the rolled-up days the change log or newly inserted past calls touch."""
    utc_days: set[date] = set()
    last_change = session.scalar(select(func.max(CallDayChange.id)))
    if last_change is not None:
        read = CallDayChange.id <= last_change
        utc_days |= {
            sql.as_date(day)
            for day in session.scalars(select(CallDayChange.utc_day).where(read).distinct())
        }
        session.execute(delete(CallDayChange).where(read))
    state = session.get(CallRollupState, 1)
    newest = session.scalar(select(func.max(Call.id))) or 0
    if state is None:
        session.add(CallRollupState(id=1, last_call_id=newest))
    elif newest > state.last_call_id:
        utc_bucket = sql.local_bucket(Call.started_at, "UTC", False)
        utc_days |= {
            sql.as_date(day)
            for day in session.scalars(
                select(utc_bucket).where(Call.id > state.last_call_id).group_by(utc_bucket)
            )
        }
        state.last_call_id = newest
    local_days = sorted({d for u in utc_days for d in _local_days_of_utc_day(u, zone)})
    for i in range(0, len(local_days), CHUNK):
        chunk = local_days[i : i + CHUNK]
        for model in ROLLUP_MODELS:
            session.execute(delete(model).where(model.zone == zone.key, model.day.in_(chunk)))
    session.flush()


def _local_days_of_utc_day(utc_day: date, zone: ZoneInfo) -> list[date]:
    start = datetime(utc_day.year, utc_day.month, utc_day.day, tzinfo=UTC)
    first = start.astimezone(zone).date()
    last = (start + timedelta(days=1, microseconds=-1)).astimezone(zone).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _runs(days: list[date]) -> list[tuple[date, date]]:
    """Consecutive days as (first, last) pairs of at most ``RUN_DAYS`` days each."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and runs[-1][1] + timedelta(days=1) == day and (day - runs[-1][0]).days < RUN_DAYS:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


FIGURE_KEYS = (
    "day",
    "line_id",
    "answered_by_id",
    "disposed_by_id",
    "result",
    "outcome",
    "declined",
    "full",
    "status_call",
)
SUMS = ("calls", "ring_sum", "ring_n", "talk_sum", "talk_n")


def _roll_up(session: Session, zone: ZoneInfo, first: date, last: date) -> None:
    """Sum the calls of local days ``first`` .. ``last`` into roll-up rows.

    One grouped pass by line and every other key; the line-free figures and the by-line
    counts are sums of its groups.
    """
    key = zone.key
    start, end = local_midnight(first, zone), local_midnight(last + timedelta(days=1), zone)
    conditions = [
        Call.started_at >= start,
        Call.started_at < end,
        func.coalesce(Call.result, "") != CallResult.TELECONFERENCE.value,
    ]
    bucket = sql.local_bucket(Call.started_at, key, False)
    by_line = []
    for row in session.execute(call_groups(bucket, conditions, None, (start, end, None), True)):
        keys = dict(zip(FIGURE_KEYS, row[: len(FIGURE_KEYS)], strict=True))
        keys["day"] = sql.as_date(keys["day"])
        keys["outcome"] = keys["outcome"].name if keys["outcome"] is not None else None
        for flag in ("declined", "full", "status_call"):
            keys[flag] = bool(keys[flag])
        sums = [int(v or 0) for v in row[len(FIGURE_KEYS) :]]
        by_line.append({"zone": key, **keys, **dict(zip(SUMS, sums, strict=True))})
    figures: dict[tuple, dict] = {}
    lines: dict[tuple, dict] = {}
    for row in by_line:
        whole = tuple(row[k] for k in FIGURE_KEYS if k != "line_id")
        if whole not in figures:
            figures[whole] = {k: v for k, v in row.items() if k != "line_id"}
        else:
            for name in SUMS:
                figures[whole][name] += row[name]
        line_key = (row["day"], row["line_id"], row["answered_by_id"], row["result"])
        counted = lines.setdefault(line_key, {"zone": key, "calls": 0})
        counted.update(zip(("day", "line_id", "answered_by_id", "result"), line_key, strict=True))
        counted["calls"] += row["calls"]
    managers = [
        {
            "zone": key,
            "day": sql.as_date(day),
            "manager_id": manager_id,
            "line_id": line_id,
            "answered_by_id": answerer,
            "calls": int(count),
        }
        for day, manager_id, line_id, answerer, count in session.execute(
            manager_status_groups(bucket, conditions)
        )
    ]
    days = [{"zone": key, "day": first + timedelta(days=n)} for n in range((last - first).days + 1)]
    for model, rows in (
        (CallDayManagerStatus, managers),
        (CallDayLineFigures, by_line),
        (CallDayFigures, list(figures.values())),
        (CallDayLines, list(lines.values())),
        (CallRolledDay, days),
    ):
        for i in range(0, len(rows), INSERT_BATCH):
            session.execute(insert(model), rows[i : i + INSERT_BATCH])


def add_rolled_up(
    session: Session,
    facts: CallFacts,
    zone: ZoneInfo,
    days: tuple[date, date],
    week: bool,
    line_id: int | None,
) -> None:
    """Add the rolled-up figures of local days ``days`` (first, last) to ``facts``."""
    chosen = facts.coordinator_id
    f = CallDayLineFigures if line_id else CallDayFigures
    where = [f.zone == zone.key, f.day.between(*days)]
    if line_id:
        where.append(CallDayLineFigures.line_id == line_id)
    bucket = sql.week_of(f.day) if week else f.day
    keys = (bucket, f.answered_by_id, f.disposed_by_id, f.result, f.outcome)
    flags = (f.declined, f.full, f.status_call)
    rows = session.execute(
        select(*keys, *flags, *(func.sum(getattr(f, name)) for name in SUMS))
        .where(*where, *coordinator_condition(chosen, f.answered_by_id, f.disposed_by_id))
        .group_by(*keys, *flags)
    )
    for day, answerer, disposer, result, outcome, *rest in rows:
        facts.add_group(sql.as_date(day), answerer, disposer, result, outcome, rest[:3], rest[3:])
    lines = CallDayLines
    where = [lines.zone == zone.key, lines.day.between(*days)]
    if line_id:
        where.append(lines.line_id == line_id)
    line_rows = session.execute(
        select(lines.line_id, lines.answered_by_id, lines.result, func.sum(lines.calls))
        .where(*where)
        .group_by(lines.line_id, lines.answered_by_id, lines.result)
    )
    for line, answerer, result, count in line_rows:
        facts.add_line(line, answerer, result, int(count))


def manager_status_calls(session: Session, zone: ZoneInfo, days: tuple[date, date], week, filters):
    """(period, status calls) about ``filters.manager_id``'s jobs over rolled-up ``days``,
    narrowed by the line and the coordinator (the calls she answered) as chosen."""
    m = CallDayManagerStatus
    bucket = sql.week_of(m.day) if week else m.day
    where = [m.zone == zone.key, m.manager_id == filters.manager_id, m.day.between(*days)]
    if filters.line_id:
        where.append(m.line_id == filters.line_id)
    if filters.coordinator_id:
        where.append(m.answered_by_id == filters.coordinator_id)
    return session.execute(select(bucket, func.sum(m.calls)).where(*where).group_by(bucket))
