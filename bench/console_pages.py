"""How fast are the coordinator console's pages on a million calls?

Run alone: ``python -m bench.console_pages [--customers 100000] [--calls 1000000]
[--jobs 100000] [--database-url URL] [--seeded] [--repeat 40] [--quick]``.

Seeds a fresh database (COPY on PostgreSQL, executemany on SQLite) with many customers,
calls over the past year (a few of them live), jobs (half delivered), missed enquiries
and appointments; logs a coordinator in (and an admin, for the reports page over a
year), then times each page through the WSGI app: p50 and p95 in milliseconds, each
against its target (p95 < 100 ms; the reports page for a year < 1 s), printed as MET or
MISSED, and written as JSON to ``bench/results/console_pages.json``. ``--seeded`` reuses
a database an earlier run seeded; ``--quick`` is a small SQLite run of a few seconds.
"""

from __future__ import annotations

import argparse
import enum
import itertools
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from models import (
    Appointment,
    AppointmentSlot,
    BusinessHours,
    Call,
    Customer,
    Enquiry,
    EnquiryKind,
    Job,
    JobStatus,
    Line,
    Outcome,
    Role,
    Salesperson,
    User,
    make_engine,
    utcnow,
)
from routing import create_app
from routing.cli.db import upgrade
from routing.security import hash_password

RESULTS = Path(__file__).resolve().parent / "results"
PASSWORD = "bench-password"
TARGET_MS = 100  # p95 of every console page
REPORT_TARGET_MS = 1000  # p95 of the reports page for a year
SALESPEOPLE = 20
RESULTS_CYCLE = ("answered",) * 7 + ("voicemail", "abandoned", "no-answer")
OUTCOMES_CYCLE = (
    "GENERAL_ENQUIRY",
    "APPOINTMENT",
    "ACCOUNT_MANAGEMENT",
    "GENERAL_ENQUIRY",
    "REFUND_REQUEST",
)


BATCH = 5000


def _copy_value(value):
    """A value as COPY wants it: enums stored by name, JSON as text."""
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, dict):
        return json.dumps(value)
    return value


def _bulk(conn, model, rows) -> None:
    """Insert many rows fast: COPY on PostgreSQL, executemany in batches elsewhere."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return
    columns = list(first)
    if conn.dialect.name == "postgresql":
        names = ", ".join(columns)
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {model.__tablename__} ({names}) FROM STDIN") as copy:
            for row in itertools.chain([first], rows):
                copy.write_row([_copy_value(row[c]) for c in columns])
        return
    batch = [first]
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            conn.execute(insert(model), batch)
            batch = []
    if batch:
        conn.execute(insert(model), batch)


def _seed_people(conn, customers: int, people: list[int]) -> list[int]:
    _bulk(
        conn,
        Customer,
        (
            {
                "name": f"Customer {i}",
                "phone": f"+1{202 + i // 10000 % 700}555{i % 10000:04d}",
                "email": f"customer{i}@example{i % 97}.com",
                "company": f"Company {i % 3000}",
                "salesperson_id": people[i % SALESPEOPLE],
                "is_lead": False,
                "email_undeliverable": False,
                "created_at": utcnow(),
                "updated_at": utcnow(),
            }
            for i in range(customers)
        ),
    )
    return conn.execute(select(Customer.id).order_by(Customer.id)).scalars().all()


def _jobs(jobs: int, customer_ids: list[int], managers: list[int], now: datetime):
    for i in range(jobs):
        yield {
            "reference": f"ORD-{i:07d}",
            "customer_id": customer_ids[i * 3 % len(customer_ids)],
            "account_manager_id": managers[i % len(managers)],
            # Half delivered over the past year, some after their ETA.
            "eta_date": (now + timedelta(days=i % 30 - (0 if i % 2 else 370))).date()
            if i % 2
            else (now - timedelta(days=i % 360 + 3)).date(),
            "status": JobStatus.OPEN if i % 2 else JobStatus.DELIVERED,
            "delivered_at": None if i % 2 else now - timedelta(days=i % 360, hours=i % 7),
            "created_at": now - timedelta(days=i % 360 + 10),
            "updated_at": now,
        }


def _calls(calls: int, customer_ids: list[int], lines: list[int], coordinator: int, now):
    n_customers = len(customer_ids)
    for i in range(calls):
        # Spread over the past year, the newest last.
        age = timedelta(minutes=(calls - i) * 525_000 // calls)
        result = RESULTS_CYCLE[i % len(RESULTS_CYCLE)]
        answered = result == "answered"
        yield {
            "call_sid": f"CA{i:032x}",
            "line_id": lines[i % len(lines)],
            "to_number": "+16465550000",
            "from_number": "+12025550000",
            "caller_number": f"+1{202 + (i % n_customers) // 10000 % 700}"
            f"555{(i % n_customers) % 10000:04d}",
            "customer_id": customer_ids[i % n_customers],
            "unknown_line": False,
            "last_sequence": 3,
            "within_hours": True,
            "status": "completed",
            "result": result,
            "started_at": now - age,
            "ended_at": now - age + timedelta(minutes=3),
            "answered_by_id": coordinator if answered else None,
            "answered_at": now - age if answered else None,
            "ring_seconds": 3 + i % 17,
            "talk_seconds": 60 + i % 300 if answered else None,
            "outcome": Outcome[OUTCOMES_CYCLE[i % 5]] if answered else None,
            "disposed_at": now - age if answered else None,
            "disposed_by_id": coordinator if answered else None,
            "disposition_notes": f"note {i}",
            "caller_declined": i % 23 == 0,
            "disposition_details": {},
        }


def seed(url: str, customers: int, calls: int, jobs: int) -> dict[str, int]:
    """Bulk-insert a large organisation; returns ids the page list needs."""
    engine = make_engine(url)
    now = utcnow()
    with engine.begin() as conn:
        for weekday in range(7):
            conn.execute(
                insert(BusinessHours).values(
                    weekday=weekday,
                    opens_at=datetime.min.time().replace(hour=8),
                    closes_at=datetime.min.time().replace(hour=18),
                )
            )
        conn.execute(
            insert(User).values(
                email="cora@bench.example.com",
                name="Cora Bench",
                role=Role.COORDINATOR,
                phone="+14155550100",
                password_hash=hash_password(PASSWORD),
                active=True,
                available=True,
                capacity=0,
                created_at=now,
            )
        )
        conn.execute(
            insert(User).values(
                email="ada@bench.example.com",
                name="Ada Bench",
                role=Role.ADMIN,
                password_hash=hash_password(PASSWORD),
                active=True,
                available=False,
                capacity=0,
                created_at=now,
            )
        )
        conn.execute(
            insert(User),
            [
                {
                    "email": f"am{i}@bench.example.com",
                    "name": f"Manager {i}",
                    "role": Role.ACCOUNT_MANAGER,
                    "active": True,
                    "available": True,
                    "capacity": 5000,
                    "created_at": now,
                }
                for i in range(10)
            ],
        )
        conn.execute(
            insert(Salesperson),
            [
                {
                    "name": f"Seller {i}",
                    "email": f"seller{i}@bench.example.com",
                    "active": True,
                    "created_at": now,
                }
                for i in range(SALESPEOPLE)
            ],
        )
        people = conn.execute(select(Salesperson.id).order_by(Salesperson.id)).scalars().all()
        conn.execute(
            insert(Line),
            [
                {
                    "salesperson_id": sid,
                    "public_number": f"+1312555{i:04d}",
                    "twilio_number": f"+1646555{i:04d}",
                    "active": True,
                    "created_at": now,
                }
                for i, sid in enumerate(people)
            ],
        )
        lines = conn.execute(select(Line.id).order_by(Line.id)).scalars().all()
        managers = (
            conn.execute(select(User.id).where(User.role == Role.ACCOUNT_MANAGER)).scalars().all()
        )
        coordinator = conn.execute(
            select(User.id).where(User.role == Role.COORDINATOR)
        ).scalar_one()
        customer_ids = _seed_people(conn, customers, people)
        _bulk(conn, Job, _jobs(jobs, customer_ids, managers, now))
        _bulk(conn, Call, _calls(calls, customer_ids, lines, coordinator, now))
        # A handful of live calls, as on a busy morning.
        conn.execute(
            insert(Call),
            [
                {
                    "call_sid": f"CALIVE{i:028x}",
                    "line_id": lines[i],
                    "to_number": "+16465550000",
                    "from_number": "+12025550000",
                    "caller_number": None,
                    "customer_id": customer_ids[i],
                    "unknown_line": False,
                    "last_sequence": 1,
                    "within_hours": True,
                    "status": "in-progress",
                    "result": "answered" if i % 2 else "ringing",
                    "started_at": now,
                    "answered_by_id": coordinator if i % 2 else None,
                    "caller_declined": False,
                    "disposition_details": {},
                }
                for i in range(8)
            ],
        )
        conn.execute(
            insert(Enquiry),
            [
                {
                    "customer_id": customer_ids[i],
                    "line_id": lines[i % len(lines)],
                    "caller_number": "+12025550000",
                    "kind": EnquiryKind.VOICEMAIL,
                    "status": "open",
                    "sla_deadline": now + timedelta(minutes=i - 100),
                    "created_at": now,
                    "transcript": "Please call me back",
                }
                for i in range(300)
            ],
        )
        first_day = (now + timedelta(days=1)).replace(hour=14, minute=0, second=0, microsecond=0)
        for n in range(200):
            start_at = first_day + timedelta(days=n // 8, hours=n % 8 // 2, minutes=30 * (n % 2))
            appointment_id = conn.execute(
                insert(Appointment)
                .values(
                    salesperson_id=people[0],
                    customer_id=customer_ids[n],
                    start_at=start_at,
                    end_at=start_at + timedelta(minutes=30),
                    created_at=now,
                )
                .returning(Appointment.id)
            ).scalar_one()
            conn.execute(
                insert(AppointmentSlot).values(
                    appointment_id=appointment_id, salesperson_id=people[0], slot_start=start_at
                )
            )
        busy_customer = customer_ids[0]
        first_job = conn.execute(select(Job.reference).order_by(Job.id).limit(1)).scalar_one()
        live_call = conn.execute(
            select(Call.id).where(Call.call_sid == f"CALIVE{1:028x}")
        ).scalar_one()
    if engine.dialect.name == "postgresql":
        # What autovacuum does within minutes of a bulk load on a production server:
        # planner statistics, and GIN indexes' pending entries merged. Without it the
        # measurements describe a database that was loaded a moment ago.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    return {
        "salesperson": people[0],
        "customer": busy_customer,
        "call": live_call,
        "job": first_job,
    }


def measure(client, path: str, repeat: int) -> dict[str, float]:
    """p50 and p95 of ``repeat`` timed requests, in milliseconds."""
    client.get(path)  # warm caches and the connection pool
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
    samples.sort()
    return {
        "p50": statistics.median(samples),
        "p95": samples[min(len(samples) - 1, math.ceil(0.95 * len(samples)) - 1)],
    }


def _logged_in(app, email: str):
    client = app.test_client()
    if client.post("/login", data={"email": email, "password": PASSWORD}).status_code != 302:
        raise SystemExit(f"could not log {email} in")
    return client


def _existing_ids(url: str) -> dict[str, int]:
    """The ids the page list needs, from a database this script seeded before."""
    engine = make_engine(url)
    with engine.connect() as conn:
        ids = {
            "salesperson": conn.execute(select(func.min(Salesperson.id))).scalar_one(),
            "customer": conn.execute(select(func.min(Customer.id))).scalar_one(),
            "call": conn.execute(
                select(Call.id).where(Call.call_sid == f"CALIVE{1:028x}")
            ).scalar_one(),
            "job": conn.execute(select(Job.reference).order_by(Job.id).limit(1)).scalar_one(),
        }
    engine.dispose()
    return ids


def _pages(ids: dict) -> dict[str, tuple[str, float]]:
    """Label → (path, p95 target in ms) for the coordinator's pages."""
    return {
        "baseline /healthz": ("/healthz", 0),
        "live calls JSON (polled every second)": ("/calls/live.json", TARGET_MS),
        "screen-pop with disposition form": (f"/calls/{ids['call']}", TARGET_MS),
        "missed-enquiries queue (300 open)": ("/enquiries", TARGET_MS),
        "customer page": (f"/customers/{ids['customer']}", TARGET_MS),
        "job page": (f"/jobs/{ids['job']}", TARGET_MS),
        "call log, first page": ("/calls", TARGET_MS),
        "search by phone": ("/search?q=%28202%29%20555-0042", TARGET_MS),
        "search by job reference": ("/search?q=ORD-0000042", TARGET_MS),
        "home": ("/", TARGET_MS),
    }


def _report_pages() -> dict[str, tuple[str, float]]:
    today = utcnow().date()
    year = f"from={today - timedelta(days=364)}&to={today}"
    return {
        "reports, a year by week": (f"/reports/?{year}&by=week", REPORT_TARGET_MS),
        "reports, a year by week, one manager": (
            f"/reports/?{year}&by=week&manager=3",
            REPORT_TARGET_MS,
        ),
        "reports CSV, a year by day": (f"/reports/export.csv?{year}&by=day", REPORT_TARGET_MS),
    }


def _print(args, database: str, seeded: float | None, timings: dict, targets: dict) -> dict:
    seeded_text = f"seeded in {seeded:.1f} s" if seeded is not None else "seeded before"
    print(
        f"console pages: {args.customers:,} customers, {args.jobs:,} jobs, {args.calls:,} calls "
        f"on {database} ({seeded_text}), {args.repeat} requests each"
    )
    verdicts = {}
    for label, ms in timings.items():
        target = targets[label]
        verdict = ""
        if target:
            verdicts[label] = "MET" if ms["p95"] < target else "MISSED"
            verdict = f"p95 target < {target:,.0f} ms: {verdicts[label]}"
        print(f"  {label:<40} p50 {ms['p50']:8.1f} ms  p95 {ms['p95']:8.1f} ms   {verdict}")
    return verdicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument(
        "--database-url", help="an EMPTY database (default: a fresh SQLite file in tmp)"
    )
    parser.add_argument(
        "--seeded", action="store_true", help="the database was seeded by an earlier run"
    )
    parser.add_argument(
        "--quick", action="store_true", help="a small SQLite run in seconds (the suite runs it)"
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "console_pages.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.customers, args.calls, args.jobs, args.repeat = 600, 3000, 600, 3
        args.database_url = None
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        seeded = None
        if args.seeded:
            ids = _existing_ids(url)
        else:
            upgrade(url)
            started = time.perf_counter()
            ids = seed(url, args.customers, args.calls, args.jobs)
            seeded = time.perf_counter() - started
        app = create_app({"DATABASE_URL": url, "WTF_CSRF_ENABLED": False, "TESTING": True})
        database = make_engine(url).dialect.name
        coordinator = _logged_in(app, "cora@bench.example.com")
        pages = _pages(ids)
        timings = {
            label: measure(coordinator, path, args.repeat) for label, (path, _) in pages.items()
        }
        admin = _logged_in(app, "ada@bench.example.com")
        reports = _report_pages()
        for label, (path, _) in reports.items():
            timings[label] = measure(admin, path, max(3, args.repeat // 2))
    targets = {label: target for label, (_, target) in {**pages, **reports}.items()}
    verdicts = _print(args, database, seeded, timings, targets)
    result = {
        "benchmark": "console_pages",
        "database": database,
        "customers": args.customers,
        "jobs": args.jobs,
        "calls": args.calls,
        "repeat": args.repeat,
        "ms": timings,
        "target_p95_ms": {k: v for k, v in targets.items() if v},
        "verdict": verdicts,
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "at": datetime.now(UTC).isoformat(),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"  written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
