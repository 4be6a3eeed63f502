"""How fast does `switchboard import customers` load a large file?

Run alone: ``python -m bench.import_customers [--quick] [--rows 100000] [--database-url URL]``
(``--quick``: 300 rows, the test suite's smoke run).

Generates N customer rows (phones in several common formats, emails in mixed case, a
salesperson for most), then measures in the same run, on the same fresh database:

* baseline: a plain executemany ``INSERT`` of the same rows, already normalised;
* first import: the whole importer (CSV parsing, phone and email normalisation,
  validation, bulk lookups, inserts, audit entry) into an empty table;
* re-import: the same file again (every row looked up and found unchanged);
* re-import with 10 % of the rows changed.

Prints seconds, rows/s and the ratio to the baseline, and the target (PostgreSQL,
>= 5,000 rows/s for the first import and for the unchanged re-import) as MET or MISSED;
writes JSON to ``bench/results/import_customers.json`` (``--quick``:
``import_customers-quick.json``; ``--results-dir`` to change the folder). The target is
judged on PostgreSQL only: SQLite is for development.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, insert, text

from models import AuditEntry, Customer, Salesperson, make_engine, utcnow
from models.contact import normalise_email, normalise_phone
from models.db import Database
from routing.cli.db import upgrade
from routing.setup.importer import import_directory

RESULTS = Path(__file__).resolve().parent / "results"
SALESPEOPLE = 8
DEFAULT_ROWS = 100_000
QUICK_ROWS = 300
TARGET_ROWS_PER_S = 5_000
# The phases held to the target.
TARGETED = ("first_import", "reimport_unchanged")
FORMATS = ("({a}) {b}-{c}", "{a}-{b}-{c}", "+1 {a} {b} {c}", "{a}.{b}.{c}", "1{a}{b}{c}")


def generate(rows: int, seed: int = 10_000) -> str:
    rng = random.Random(seed)
    lines = ["name,email,phone,company,salesperson_email,notes"]
    for i in range(rows):
        # Area codes 201-989 with exchange 555 and a unique line: valid, never real people.
        area = 201 + (i // 10_000) % 700
        a, b, c = f"{area}", "555", f"{i % 10_000:04d}"
        phone = FORMATS[i % len(FORMATS)].format(a=a, b=b, c=c)
        owner = f"sales{rng.randrange(SALESPEOPLE)}@example.com" if i % 5 else ""
        email = f"Customer.{i}@Example{i % 97}.com"
        company = f"Company {rng.randrange(rows // 3 + 1)}" if i % 4 else ""
        lines.append(f"Customer {i},{email},{phone},{company},{owner},row {i}")
    return "\n".join(lines) + "\n"


def changed(csv_text: str, share: float = 0.1) -> str:
    rows = csv_text.splitlines()
    step = int(1 / share)
    for n in range(1, len(rows), step):
        rows[n] = rows[n].replace("Customer ", "Customer (renamed) ", 1)
    return "\n".join(rows) + "\n"


def baseline_rows(csv_text: str, owners: dict[str, int]) -> list[dict[str, object]]:
    now = utcnow()
    out = []
    for line in csv_text.splitlines()[1:]:
        name, email, phone, company, owner, _notes = line.split(",")
        out.append(
            {
                "name": name,
                "email": normalise_email(email),
                "phone": normalise_phone(phone),
                "company": company or None,
                "salesperson_id": owners.get(owner),
                "is_lead": False,
                "created_at": now,
                "updated_at": now,
            }
        )
    return out


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def run(rows: int, database_url: str) -> dict[str, object]:
    upgrade(database_url)
    database = Database(make_engine(database_url))
    with database.session() as session:
        session.execute(delete(Customer))
        session.execute(delete(AuditEntry))
        session.execute(delete(Salesperson))
        for n in range(SALESPEOPLE):
            session.add(Salesperson(name=f"Sales {n}", email=f"sales{n}@example.com"))
    with database.session() as session:
        owners = dict(session.execute(text("SELECT email, id FROM salespeople")).all())
    csv_text = generate(rows)
    prepared = baseline_rows(csv_text, owners)

    def baseline() -> None:
        with database.engine.begin() as conn:
            conn.execute(insert(Customer.__table__), prepared)

    def import_file(body: str) -> None:
        with database.session() as session:
            import_directory(session, "customers", body.encode(), now=utcnow())

    baseline_s = timed(baseline)
    with database.engine.begin() as conn:
        conn.execute(delete(Customer.__table__))
    first_s = timed(lambda: import_file(csv_text))
    again_s = timed(lambda: import_file(csv_text))
    changed_s = timed(lambda: import_file(changed(csv_text)))
    with database.engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM customers")).scalar_one()
    database.dispose()
    if stored != rows:
        raise SystemExit(f"expected {rows} customers after the imports, found {stored}")
    seconds = {
        "baseline_executemany_insert": baseline_s,
        "first_import": first_s,
        "reimport_unchanged": again_s,
        "reimport_10pct_changed": changed_s,
    }
    dialect = database_url.split(":", 1)[0]
    return {
        "benchmark": "import_customers",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows": rows,
        "database": dialect,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "seconds": {key: round(value, 3) for key, value in seconds.items()},
        "rows_per_s": {key: round(rows / value) for key, value in seconds.items()},
        "ratio_to_baseline": {
            key: round(value / baseline_s, 2)
            for key, value in seconds.items()
            if key != "baseline_executemany_insert"
        },
        "target": _target(dialect, {key: rows / seconds[key] for key in TARGETED}),
    }


def _target(dialect: str, rates: dict[str, float]) -> dict[str, object]:
    judged = dialect.startswith("postgresql")
    return {
        "rows_per_s": TARGET_ROWS_PER_S,
        "judged": judged,
        "met": {key: rate >= TARGET_ROWS_PER_S for key, rate in rates.items()} if judged else {},
    }


LABELS = {
    "first_import": "first import (all new)",
    "reimport_unchanged": "re-import (unchanged)",
    "reimport_10pct_changed": "re-import (10 % changed)",
}


def report(result: dict) -> list[str]:
    seconds, rates, ratios = result["seconds"], result["rows_per_s"], result["ratio_to_baseline"]
    target = result["target"]
    lines = [
        f"import customers: {result['rows']:,} rows on {result['database']} "
        f"({result['cpus']} CPUs, load average {result['load_average_1min']})",
        f"  {'baseline executemany INSERT':<28} {seconds['baseline_executemany_insert']:7.3f} s "
        f"{rates['baseline_executemany_insert']:>8,} rows/s",
    ]
    for key, label in LABELS.items():
        line = (
            f"  {label:<28} {seconds[key]:7.3f} s {rates[key]:>8,} rows/s "
            f"{ratios[key]:6.2f}x baseline time"
        )
        if key in target["met"]:
            line += f"   target >= {target['rows_per_s']:,} rows/s: "
            line += "MET" if target["met"][key] else "MISSED"
        lines.append(line)
    if not target["judged"]:
        lines.append(
            f"  target >= {target['rows_per_s']:,} rows/s is judged on PostgreSQL only "
            "(--database-url postgresql+psycopg://…)"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROWS} rows (the test suite)")
    parser.add_argument("--rows", type=int, default=None, help=f"default {DEFAULT_ROWS:,}")
    parser.add_argument(
        "--database-url",
        help="an EMPTY scratch database (default: a new SQLite file in a temporary folder)",
    )
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    rows = args.rows or (QUICK_ROWS if args.quick else DEFAULT_ROWS)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        result = run(rows, url)
    for line in report(result):
        print(line)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    out = args.results_dir / f"import_customers{'-quick' if args.quick else ''}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"  written to {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
