"""How fast are the coordinator console's pages on a large database?

Run alone: ``python -m bench.console_pages [--customers 50000] [--calls 100000]
[--database-url URL] [--repeat 30]``.

Seeds a fresh database with many customers, calls over the past year (a few of them
live), jobs (half delivered), missed enquiries and appointments, logs a coordinator in
(and an admin, for the reports page over a year), then measures the median time of each
console page through the WSGI app in the same run, against a baseline: ``/healthz``
(one trivial query through the same app, session and middleware). Prints milliseconds
and the ratio to the baseline, and writes JSON to ``bench/results/``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select, text

from models import (
    Appointment,
    AppointmentSlot,
    BusinessHours,
    Call,
    Customer,
    Enquiry,
    EnquiryKind,
    Job,
    Line,
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
SALESPEOPLE = 20
RESULTS_CYCLE = ("answered",) * 7 + ("voicemail", "abandoned", "no-answer")
OUTCOMES_CYCLE = (
    "GENERAL_ENQUIRY",
    "APPOINTMENT",
    "ACCOUNT_MANAGEMENT",
    "GENERAL_ENQUIRY",
    "REFUND_REQUEST",
)


def seed(url: str, customers: int, calls: int) -> dict[str, int]:
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
        batch = 5000
        for start in range(0, customers, batch):
            conn.execute(
                insert(Customer),
                [
                    {
                        "name": f"Customer {i}",
                        "phone": f"+1{202 + i // 10000 % 700}555{i % 10000:04d}",
                        "email": f"customer{i}@example{i % 97}.com",
                        "company": f"Company {i % 3000}",
                        "salesperson_id": people[i % SALESPEOPLE],
                        "is_lead": False,
                        "email_undeliverable": False,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in range(start, min(customers, start + batch))
                ],
            )
        customer_ids = conn.execute(select(Customer.id).order_by(Customer.id)).scalars().all()
        conn.execute(
            insert(Job),
            [
                {
                    "reference": f"ORD-{i:07d}",
                    "customer_id": customer_ids[i * 3 % len(customer_ids)],
                    "account_manager_id": managers[i % len(managers)],
                    # Half delivered over the past year, some after their ETA.
                    "eta_date": (now + timedelta(days=i % 30 - (0 if i % 2 else 370))).date()
                    if i % 2
                    else (now - timedelta(days=i % 360 + 3)).date(),
                    "status": "open" if i % 2 else "delivered",
                    "delivered_at": None if i % 2 else now - timedelta(days=i % 360, hours=i % 7),
                    "created_at": now - timedelta(days=i % 360 + 10),
                    "updated_at": now,
                }
                for i in range(customers // 3)
            ],
        )
        for start in range(0, calls, batch):
            rows = []
            for i in range(start, min(calls, start + batch)):
                customer = customer_ids[i % len(customer_ids)]
                # Spread over the past year, the newest last.
                age = timedelta(minutes=(calls - i) * 525_000 // calls)
                result = RESULTS_CYCLE[i % len(RESULTS_CYCLE)]
                rows.append(
                    {
                        "call_sid": f"CA{i:032x}",
                        "line_id": lines[i % len(lines)],
                        "to_number": "+16465550000",
                        "from_number": "+12025550000",
                        "caller_number": f"+1{202 + (i % len(customer_ids)) // 10000 % 700}"
                        f"555{(i % len(customer_ids)) % 10000:04d}",
                        "customer_id": customer,
                        "unknown_line": False,
                        "last_sequence": 3,
                        "within_hours": True,
                        "status": "completed",
                        "result": result,
                        "started_at": now - age,
                        "ended_at": now - age + timedelta(minutes=3),
                        "answered_by_id": coordinator if result == "answered" else None,
                        "answered_at": now - age if result == "answered" else None,
                        "ring_seconds": 3 + i % 17,
                        "outcome": OUTCOMES_CYCLE[i % 5] if result == "answered" else None,
                        "disposed_at": now - age if result == "answered" else None,
                        "disposition_notes": f"note {i}",
                        "caller_declined": False,
                        "disposition_details": {},
                    }
                )
            conn.execute(insert(Call), rows)
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
    return {"salesperson": people[0], "customer": busy_customer, "call": live_call}


def measure(client, path: str, repeat: int) -> float:
    client.get(path)  # warm caches and the connection pool
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)
        samples.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
    return statistics.median(samples) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument(
        "--database-url", help="an EMPTY database (default: a fresh SQLite file in tmp)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        upgrade(url)
        started = time.perf_counter()
        ids = seed(url, args.customers, args.calls)
        seeded = time.perf_counter() - started
        app = create_app({"DATABASE_URL": url, "WTF_CSRF_ENABLED": False, "TESTING": True})
        client = app.test_client()
        login = client.post(
            "/login", data={"email": "cora@bench.example.com", "password": PASSWORD}
        )
        if login.status_code != 302:
            raise SystemExit("could not log in")
        pages = {
            "baseline /healthz": "/healthz",
            "live calls JSON (polled every second)": "/calls/live.json",
            "live calls page": "/calls/live",
            "screen-pop with disposition form": f"/calls/{ids['call']}",
            "missed-enquiries queue (300 open)": "/enquiries",
            "customers, first page": "/customers",
            "search by phone": "/search?q=%28202%29%20555-0042",
            "search by name": "/search?q=Customer%2042",
            "search by job reference": "/search?q=ORD-0000042",
            "customer detail": f"/customers/{ids['customer']}",
            "salesperson calendar": f"/salespeople/{ids['salesperson']}/calendar",
            "home": "/",
        }
        timings = {label: measure(client, path, args.repeat) for label, path in pages.items()}
        admin = app.test_client()
        if (
            admin.post(
                "/login", data={"email": "ada@bench.example.com", "password": PASSWORD}
            ).status_code
            != 302
        ):
            raise SystemExit("could not log the admin in")
        today = utcnow().date()
        year = f"from={today - timedelta(days=364)}&to={today}"
        reports = {
            "reports, a year by week": f"/reports/?{year}&by=week",
            "reports, a year by week, one manager": f"/reports/?{year}&by=week&manager=3",
            "reports CSV, a year by day": f"/reports/export.csv?{year}&by=day",
        }
        for label, path in reports.items():
            timings[label] = measure(admin, path, max(3, args.repeat // 5))
        with app.app_context():
            from routing.database import get_db

            engine = get_db(app).engine
            database = engine.dialect.name
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            engine.dispose()
    baseline = timings["baseline /healthz"]
    print(
        f"console pages: {args.customers:,} customers, {args.calls:,} calls on {database} "
        f"(seeded in {seeded:.1f} s), median of {args.repeat}"
    )
    for label, ms in timings.items():
        print(f"  {label:<40} {ms:8.2f} ms   {ms / baseline:7.1f}x baseline")
    result = {
        "benchmark": "console_pages",
        "database": database,
        "customers": args.customers,
        "calls": args.calls,
        "repeat": args.repeat,
        "median_ms": timings,
        "ratio_to_baseline": {label: ms / baseline for label, ms in timings.items()},
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "at": datetime.now(UTC).isoformat(),
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"console_pages-{database}-{int(time.time())}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"  written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
