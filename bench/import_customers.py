"""How fast does `switchboard import customers` load a large file?

Run alone: ``python -m bench.import_customers [--rows 10000] [--database-url URL]``.

Generates N customer rows (phones in several common formats, emails in mixed case, a
salesperson for most), then measures in the same run, on the same fresh database:

* baseline: a plain executemany ``INSERT`` of the same rows, already normalised;
* first import: the whole importer (CSV parsing, phone and email normalisation,
  validation, bulk lookups, inserts, audit entry) into an empty table;
* re-import: the same file again (every row looked up and found unchanged);
* re-import with 10 % of the rows changed.

Prints seconds and the ratio to the baseline, and writes JSON to ``bench/results/``.
"""

from __future__ import annotations

import argparse
import json
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
            import_directory(session, "customers", body.encode())

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
    return {
        "benchmark": "import_customers",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows": rows,
        "database": database_url.split(":", 1)[0],
        "python": platform.python_version(),
        "machine": platform.machine(),
        "seconds": {
            "baseline_executemany_insert": round(baseline_s, 3),
            "first_import": round(first_s, 3),
            "reimport_unchanged": round(again_s, 3),
            "reimport_10pct_changed": round(changed_s, 3),
        },
        "ratio_to_baseline": {
            "first_import": round(first_s / baseline_s, 2),
            "reimport_unchanged": round(again_s / baseline_s, 2),
            "reimport_10pct_changed": round(changed_s / baseline_s, 2),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument(
        "--database-url",
        help="an EMPTY scratch database (default: a new SQLite file in a temporary folder)",
    )
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        result = run(args.rows, url)
    seconds, ratios = result["seconds"], result["ratio_to_baseline"]
    print(f"import customers: {args.rows:,} rows on {result['database']}")
    print(f"  baseline executemany INSERT  {seconds['baseline_executemany_insert']:7.3f} s")
    for key, label in (
        ("first_import", "first import (all new)"),
        ("reimport_unchanged", "re-import (unchanged)"),
        ("reimport_10pct_changed", "re-import (10 % changed)"),
    ):
        print(f"  {label:<28} {seconds[key]:7.3f} s   {ratios[key]:6.2f}x baseline")
    args.results_dir.mkdir(parents=True, exist_ok=True)
    out = args.results_dir / f"import_customers-{result['database']}-{int(time.time())}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"  written to {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
