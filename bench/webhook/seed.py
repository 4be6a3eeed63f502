"""Seed a benchmark database quickly: COPY on PostgreSQL, multi-row INSERT on SQLite."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from models import Base


@dataclass(frozen=True)
class Size:
    """A data shape: what is seeded, and who the benchmark's callers are."""

    customers: int
    lines: int
    calls: int
    coordinators: int = 8
    jobs: int = 0
    # Salespeople owning the lines (line i belongs to salesperson (i - 1) % salespeople + 1);
    # 0: one salesperson per line.
    salespeople: int = 0
    # Shares of the generated calls: callers who are customers (the rest half unknown
    # numbers, half "anonymous") and calls to a number that is no line.
    known_callers: float = 0.90
    unknown_lines: float = 0.01
    # Customers' numbers spread over many area codes rather than one numbered block.
    scattered_phones: bool = False
    # The web process's TIMEZONE (the organisation sets none of its own here).
    timezone: str = "UTC"

    @property
    def owners(self) -> int:
        return self.salespeople or self.lines


# "existing": the shape the benchmark always had. "issue": 500 salespeople with two lines
# each, every caller a known customer with numbers all over the map, 3 coordinators, New
# York time, no business hours, no call history.
SHAPES = {
    "issue": Size(
        customers=100_000,
        lines=1_000,
        calls=0,
        coordinators=3,
        salespeople=500,
        known_callers=1.0,
        unknown_lines=0.0,
        scattered_phones=True,
        timezone="America/New_York",
    ),
    "existing": Size(customers=100_000, lines=1_000, calls=1_000_000, jobs=20_000),
}
QUICK_SHAPES = {
    "issue": Size(
        customers=2_000,
        lines=50,
        calls=0,
        coordinators=3,
        salespeople=25,
        known_callers=1.0,
        unknown_lines=0.0,
        scattered_phones=True,
        timezone="America/New_York",
    ),
    "existing": Size(customers=2_000, lines=50, calls=5_000, jobs=200),
}
FULL = SHAPES["existing"]
QUICK = QUICK_SHAPES["existing"]


# Numbers the generated requests use; valid-looking E.164, distinct per row.
def line_number(i: int) -> str:
    return f"+1646{i:07d}"


def customer_phone(i: int, size: Size | None = None) -> str:
    if size is not None and size.scattered_phones:
        # 780 area codes (210-989); within one, distinct subscriber numbers.
        area, rank = 210 + i % 780, i // 780
        return f"+1{area}{(5_550_001 + rank * 1_009) % 10_000_000:07d}"
    return f"+1202{i:07d}"


def _tables(engine: Engine) -> list[str]:
    return [table.name for table in reversed(Base.metadata.sorted_tables)]


def empty(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(_tables(engine))} RESTART IDENTITY CASCADE"))
        else:
            for name in _tables(engine):
                conn.execute(text(f"DELETE FROM {name}"))


def rows(size: Size, seed: int = 7):
    """Every table's rows as (table, columns, iterator of tuples)."""
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    yield (
        "org_settings",
        (
            "id",
            "name",
            "enquiry_sla_minutes",
            "ring_timeout_seconds",
            "directory_version",
            "updated_at",
        ),
        iter([(1, "Bench Ltd", 15, 20, "bench-seed", now)]),
    )
    yield (
        "salespeople",
        ("id", "name", "email", "active", "created_at"),
        (
            (i, f"Salesperson {i}", f"sales{i}@bench.example", True, now)
            for i in range(1, size.owners + 1)
        ),
    )
    yield (
        "lines",
        ("id", "salesperson_id", "public_number", "twilio_number", "active", "created_at"),
        (
            (i, (i - 1) % size.owners + 1, f"+1312{i:07d}", line_number(i), True, now)
            for i in range(1, size.lines + 1)
        ),
    )
    yield (
        "users",
        ("id", "email", "name", "phone", "role", "active", "available", "capacity", "created_at"),
        (
            (
                i,
                f"coord{i}@bench.example",
                f"Coordinator {i}",
                f"+1415{i:07d}",
                "COORDINATOR",
                True,
                True,
                0,
                now,
            )
            for i in range(1, size.coordinators + 1)
        ),
    )
    yield (
        "customers",
        (
            "id",
            "name",
            "phone",
            "email",
            "company",
            "salesperson_id",
            "is_lead",
            "email_undeliverable",
            "created_at",
            "updated_at",
        ),
        (
            (
                i,
                f"Customer {i}",
                customer_phone(i, size),
                f"customer{i}@bench.example",
                f"Company {i % 9000}",
                rng.randint(1, size.owners),
                False,
                False,
                now,
                now,
            )
            for i in range(1, size.customers + 1)
        ),
    )
    yield (
        "jobs",
        ("id", "reference", "customer_id", "status", "eta_date", "created_at", "updated_at"),
        (
            (
                i,
                f"J{i:06d}",
                rng.randint(1, size.customers),
                "OPEN",
                (now + timedelta(days=rng.randint(1, 60))).date(),
                now,
                now,
            )
            for i in range(1, size.jobs + 1)
        ),
    )
    details = json.dumps({})

    def calls():
        for i in range(1, size.calls + 1):
            customer = rng.randint(1, size.customers)
            line = rng.randint(1, size.lines)
            started = now - timedelta(seconds=rng.randint(60, 730 * 86400))
            yield (
                i,
                f"CB{i:032d}",
                line,
                line_number(line),
                customer_phone(customer, size),
                customer_phone(customer, size),
                customer,
                False,
                "completed",
                3,
                True,
                started,
                started + timedelta(seconds=90),
                rng.randint(1, size.coordinators),
                8,
                80,
                90,
                "answered",
                False,
                details,
            )

    yield (
        "calls",
        (
            "id",
            "call_sid",
            "line_id",
            "to_number",
            "from_number",
            "caller_number",
            "customer_id",
            "unknown_line",
            "status",
            "last_sequence",
            "within_hours",
            "started_at",
            "ended_at",
            "answered_by_id",
            "ring_seconds",
            "talk_seconds",
            "duration_seconds",
            "result",
            "caller_declined",
            "disposition_details",
        ),
        calls(),
    )


def seed(engine: Engine, size: Size) -> None:
    """Empty the database and fill it with ``size`` rows of a plausible organisation."""
    empty(engine)
    if engine.dialect.name == "postgresql":
        _copy(engine, size)
    else:
        _insert(engine, size)


def _copy(engine: Engine, size: Size) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for table, columns, data in rows(size):
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in data:
                    copy.write_row(row)
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
        raw.commit()
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


def _insert(engine: Engine, size: Size, batch: int = 500) -> None:
    with engine.begin() as conn:
        for table, columns, data in rows(size):
            statement = text(
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join(':' + c for c in columns)})"
            )
            chunk: list[dict] = []
            for row in data:
                chunk.append(dict(zip(columns, _sqlite_values(row), strict=True)))
                if len(chunk) >= batch:
                    conn.execute(statement, chunk)
                    chunk = []
            if chunk:
                conn.execute(statement, chunk)


def _sqlite_values(row: tuple) -> tuple:
    # SQLite keeps UTC instants naive (models.base.UTCDateTime does the same).
    return tuple(v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in row)
