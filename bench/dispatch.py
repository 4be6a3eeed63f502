"""Email dispatch benchmark: ``python -m bench.dispatch [--quick] [--postgres URL]``.

1. Start the SendGrid stub (``bench.sendgrid_stub``) on 127.0.0.1, answering ``202`` after
   5 ms and counting every idempotency key it accepts (a key accepted twice is a duplicate).
2. Baseline, same run: the same number of concurrent senders posting straight to the
   stub with a pooled session, no database — the ceiling for any worker.
3. Seed N pending emails (10,000; ``--quick``: 300) and start ``switchboard worker``
   (the real command, SendGrid backend pointed at the stub); time until every email
   is sent, sampling the worker's RSS (at email 1,000 and at the end).
4. On PostgreSQL, the same again with two workers at once.
5. Print emails/s, the ratio to the baseline, peak and final RSS, RSS growth from
   email 1,000 to the last, the duplicates the stub saw, and each target as MET or
   MISSED; write JSON to bench/results/dispatch.json (``--quick``: dispatch-quick.json).

Targets: >= 200 emails/s on one worker (judged on PostgreSQL); RSS growth < 20 MB from
email 1,000 to 10,000; 0 duplicates (every run). The PostgreSQL database given with
--postgres is emptied of outbox rows and scheduler jobs: give it a database of its own
(e.g. sb_bench_dispatch).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from sqlalchemy import func, insert, select, text

from bench.sendgrid_stub import SendGridStub

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
STUB_DELAY_S = 0.005
CONCURRENCY = 8
TARGET_EMAILS_PER_S = 200
TARGET_RSS_GROWTH_MB = 20
# Runs shorter than this are smoke tests: throughput and memory are not judged.
FULL_RUN_EMAILS = 10_000


def baseline(stub: SendGridStub, url: str, count: int) -> float:
    """Emails/s straight to the stub: CONCURRENCY pooled senders, no database."""
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=CONCURRENCY)
    session.mount("http://", adapter)

    def post(n: int) -> None:
        payload = {"custom_args": {"switchboard_key": f"baseline:{n}"}, "subject": "baseline"}
        session.post(url, json=payload, timeout=(3, 10)).raise_for_status()

    started = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(post, range(count)))
    elapsed = time.perf_counter() - started
    session.close()
    stub.clear()
    return count / elapsed


def prepare(database_url: str) -> None:
    from models import Database, make_engine
    from routing.cli.db import upgrade

    upgrade(database_url)
    db = Database(make_engine(database_url))
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM email_events"))
        conn.execute(text("DELETE FROM outbound_emails"))
        if db.engine.dialect.has_table(conn, "apscheduler_jobs"):
            conn.execute(text("DELETE FROM apscheduler_jobs"))
    if db.engine.dialect.name == "postgresql":
        # Start every run from a clean table, not from the previous run's dead rows.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE outbound_emails"))
    db.dispose()


def seed(database_url: str, count: int, tag: str) -> None:
    from models import Database, EmailStatus, OutboundEmail, make_engine

    db = Database(make_engine(database_url))
    due = datetime.now(UTC) - timedelta(seconds=1)
    rows = [
        {
            "kind": "bench",
            "idempotency_key": f"bench:{tag}:{n}",
            "to_email": f"customer{n}@example.com",
            "to_name": f"Customer {n}",
            "from_name": "Carol King",
            "reply_to": "carol@example.com",
            "subject": f"Your job {n}: new ETA",
            "text_body": "Hello,\n\nThe ETA of your job has changed.\n" * 5,
            "html_body": "<p>Hello,</p><p>The ETA of your job has changed.</p>" * 5,
            "attachments": [],
            "context": {},
            "status": EmailStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": due,
            "created_at": due,
        }
        for n in range(count)
    ]
    with db.engine.begin() as conn:
        for start in range(0, count, 2000):
            conn.execute(insert(OutboundEmail), rows[start : start + 2000])
    db.dispose()


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_workers(database_url: str, stub_url: str, count: int, workers: int, tmp: Path) -> dict:
    """Start ``workers`` real worker processes; measure until every email is sent."""
    from models import Database, EmailStatus, OutboundEmail, make_engine

    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SWITCHBOARD_ENV": "development",
        "SWITCHBOARD_INSTANCE_PATH": str(tmp),
        "SENDGRID_API_KEY": "SG.bench",
        "SENDGRID_API_HOST": stub_url,
        "MAIL_FROM": "Acme <orders@acme.example>",
    }
    switchboard = str(Path(sys.executable).with_name("switchboard"))
    db = Database(make_engine(database_url))
    processes = [
        subprocess.Popen(
            [switchboard, "worker", "--concurrency", str(CONCURRENCY)],
            env=env,
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    started = time.perf_counter()
    rss_at_1000: float | None = None
    peak = 0.0
    sent = 0
    deadline = started + max(120, count / 20)
    try:
        while time.perf_counter() < deadline:
            rss = sum(_rss_mb(p.pid) for p in processes)
            peak = max(peak, rss)
            with db.Session() as session:
                sent = session.scalar(
                    select(func.count(OutboundEmail.id)).where(
                        OutboundEmail.status == EmailStatus.SENT
                    )
                )
            if rss_at_1000 is None and sent >= min(1000, count // 10):
                rss_at_1000 = rss
            if sent >= count or any(p.poll() is not None for p in processes):
                break
            time.sleep(0.05)
        final_rss = sum(_rss_mb(p.pid) for p in processes)
        peak = max(peak, final_rss)
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        errors = [p.communicate(timeout=30)[1] for p in processes]
    with db.Session() as session:
        first, last = session.execute(
            select(func.min(OutboundEmail.sent_at), func.max(OutboundEmail.sent_at))
        ).one()
    db.dispose()
    if sent < count:
        raise RuntimeError(
            f"only {sent} of {count} emails were sent; worker output:\n" + "\n".join(errors)
        )
    span = max((last - first).total_seconds(), 1e-6)
    return {
        "workers": workers,
        "emails": count,
        "seconds": round(span, 3),
        "emails_per_s": round(count / span, 1),
        "peak_rss_mb": round(peak, 1),
        "final_rss_mb": round(final_rss, 1),
        "rss_growth_mb": round(final_rss - (rss_at_1000 or final_rss), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 emails (the test suite)")
    parser.add_argument("--emails", type=int, default=None)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_DATABASE_URL"),
        help="PostgreSQL URL of a database of its own; without it SQLite, one worker",
    )
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    count = args.emails or (300 if args.quick else 10_000)

    stub = SendGridStub(delay=STUB_DELAY_S).start()
    stub_url = stub.url
    base_rate = baseline(stub, f"{stub_url}/v3/mail/send", min(count, 2000))
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-dispatch-") as tmp_dir:
        tmp = Path(tmp_dir)
        database_url = args.postgres or f"sqlite:///{tmp / 'dispatch.sqlite3'}"
        worker_counts = (1, 2) if database_url.startswith("postgresql") else (1,)
        for workers in worker_counts:
            prepare(database_url)
            stub.clear()
            seed(database_url, count, f"{workers}w")
            run = run_workers(database_url, stub_url, count, workers, tmp)
            run["stub_requests"] = sum(stub.received.values())
            run["duplicates"] = sum(n - 1 for n in stub.doubled().values())
            run["ratio_to_baseline"] = round(run["emails_per_s"] / base_rate, 2)
            runs.append(run)
    stub.stop()

    postgres = database_url.startswith("postgresql")
    report = {
        "benchmark": "dispatch",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": "postgresql" if postgres else "sqlite",
        "cpus": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "stub_delay_ms": STUB_DELAY_S * 1000,
        "concurrency_per_worker": CONCURRENCY,
        "baseline_emails_per_s": round(base_rate, 1),
        "targets": {
            "emails_per_s_one_worker": TARGET_EMAILS_PER_S,
            "rss_growth_mb": TARGET_RSS_GROWTH_MB,
            "duplicates": 0,
        },
        "runs": runs,
        "met": judge(runs, postgres=postgres, full=count >= FULL_RUN_EMAILS),
    }
    for line in summary(report):
        print(line)
    output = args.output or RESULTS / f"dispatch{'-quick' if args.quick else ''}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {output}")
    return 1 if any(run["duplicates"] for run in runs) else 0


def judge(runs: list[dict], *, postgres: bool, full: bool) -> dict[str, bool]:
    """Each target met (True) or missed (False); a target a run cannot judge is left out.

    Throughput is judged on PostgreSQL (SQLite is for development) and memory on runs of
    at least FULL_RUN_EMAILS emails (a short run says nothing about growth).
    """
    one = next(run for run in runs if run["workers"] == 1)
    met = {"duplicates": all(run["duplicates"] == 0 for run in runs)}
    if postgres and full:
        met["emails_per_s_one_worker"] = one["emails_per_s"] >= TARGET_EMAILS_PER_S
    if full:
        met["rss_growth_mb"] = all(run["rss_growth_mb"] < TARGET_RSS_GROWTH_MB for run in runs)
    return met


def summary(report: dict) -> list[str]:
    lines = [
        f"dispatch on {report['database']} ({report['cpus']} CPUs, "
        f"load average {report['load_average_1min']})",
        f"baseline (no database, {CONCURRENCY} pooled senders): "
        f"{report['baseline_emails_per_s']:,.0f} emails/s",
    ]
    for run in report["runs"]:
        lines.append(
            f"{run['workers']} worker(s), {run['emails']:,} emails: "
            f"{run['emails_per_s']:,.0f} emails/s ({run['ratio_to_baseline']:.2f}x baseline), "
            f"RSS peak {run['peak_rss_mb']} MB, final {run['final_rss_mb']} MB, "
            f"growth {run['rss_growth_mb']} MB, duplicates {run['duplicates']}"
        )
    one = next(run for run in report["runs"] if run["workers"] == 1)
    worst_growth = max(run["rss_growth_mb"] for run in report["runs"])
    duplicates = sum(run["duplicates"] for run in report["runs"])
    targets = (
        (
            "emails_per_s_one_worker",
            f">= {TARGET_EMAILS_PER_S} emails/s on one worker: {one['emails_per_s']:,.0f}",
            "PostgreSQL, 10,000 emails",
        ),
        ("duplicates", f"0 duplicates: {duplicates}", ""),
        (
            "rss_growth_mb",
            f"flat memory, RSS growth < {TARGET_RSS_GROWTH_MB} MB from email 1,000 to the "
            f"last: {worst_growth} MB",
            "10,000 emails",
        ),
    )
    for key, target, needs in targets:
        if key in report["met"]:
            verdict = "MET" if report["met"][key] else "MISSED"
        else:
            verdict = f"not judged (needs {needs})"
        lines.append(f"target {target} — {verdict}")
    return lines


if __name__ == "__main__":
    sys.exit(main())
