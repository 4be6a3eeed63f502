"""Run the webhook benchmark: ``python -m bench.webhook [--quick]``.

1. Seed the database (PostgreSQL by default: 100,000 customers, 1,000 lines, 1,000,000
   past calls; ``--quick``: a small SQLite database).
2. Start the baseline (constant TwiML) under gunicorn, drive it with wrk replaying
   pre-signed ``POST /twilio/voice/incoming`` requests at each concurrency, stop it.
3. The same for Switchboard (signature checking on, production settings).
4. Print requests/s, p50/p99 latency, CPU ms per request and Switchboard's ratio to the
   baseline; write everything as JSON under bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from . import seed as seeding

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESULTS = ROOT / "bench" / "results"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/sb_bench_webhook"
TOKEN = "bench-auth-token"
PUBLIC_BASE_URL = "https://switchboard.bench.example"
TARGET_RATIO = 0.6
TARGET_P99_MS = 10.0


@dataclass
class Run:
    app: str
    connections: int
    seconds: float
    requests: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    app_cpu_ms_per_request: float
    machine_cpu_ms_per_request: float
    errors: int
    # Call rows the run created (Switchboard stores every new CallSid; the baseline none).
    calls_stored: int = 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.webhook",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small data, a few seconds")
    parser.add_argument("--database-url", help=f"default: {DEFAULT_PG} (quick: SQLite)")
    parser.add_argument("--duration", type=int, help="seconds per run (default 20; quick 2)")
    parser.add_argument("--connections", default=None, help="comma list (default 8,32)")
    parser.add_argument(
        "--workers",
        type=int,
        default=(os.cpu_count() or 1) * 2,
        help="gunicorn workers for both apps",
    )
    parser.add_argument(
        "--worker-class",
        default="gevent",
        help="gunicorn worker class for both apps (gevent, as the Procfile runs the web process)",
    )
    parser.add_argument("--threads", type=int, default=1, help="threads per gthread worker")
    parser.add_argument("--no-seed", action="store_true", help="reuse the seeded database")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    parser.add_argument("--output", type=Path, default=None, help="JSON file to write")
    args = parser.parse_args(argv)

    wrk = shutil.which("wrk")
    if wrk is None:
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    size = seeding.QUICK if args.quick else seeding.FULL
    duration = args.duration or (2 if args.quick else 20)
    connections = [int(c) for c in (args.connections or ("8" if args.quick else "8,32")).split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="bench-webhook-"))
    url = args.database_url or (
        f"sqlite:///{workdir / 'bench.sqlite3'}" if args.quick else DEFAULT_PG
    )

    from models import make_engine
    from routing.cli.db import upgrade

    if url.startswith("postgresql"):
        _create_pg_database(url)
    engine = make_engine(url)
    upgrade(url)
    if not args.no_seed:
        started = time.monotonic()
        print(f"seeding {url.split('@')[-1]}: {size}", flush=True)
        seeding.seed(engine, size)
        print(f"  seeded in {time.monotonic() - started:.1f} s", flush=True)

    runs: list[Run] = []
    try:
        for app in ("baseline", "switchboard"):
            port = _free_port()
            env = _environment(app, url, workdir)
            target = (
                "bench.webhook.baseline:create_app()"
                if app == "baseline"
                else ("routing:create_app()")
            )
            server = _start_gunicorn(target, port, args, env, workdir / f"{app}.log")
            try:
                warm = _write_requests(workdir / f"{app}-warm.txt", size, 2000, "CW")
                # Every worker boots, connects and fills its caches before measuring.
                _wrk(wrk, port, warm, 8, 2 if args.quick else 5)
                for c in connections:
                    requests_file = _write_requests(
                        workdir / f"{app}-{c}.txt",
                        size,
                        800 if args.quick else 120_000,
                        f"C{app[0].upper()}{c}",
                    )
                    before = _count_calls(engine)
                    run = _measure(wrk, app, server.pid, port, requests_file, c, duration)
                    run.calls_stored = _count_calls(engine) - before
                    runs.append(run)
                    print(
                        f"  {app:<11} c={c:<3} {run.requests_per_s:8.0f} req/s  "
                        f"p50 {run.p50_ms:6.2f} ms  p99 {run.p99_ms:6.2f} ms  "
                        f"CPU {run.app_cpu_ms_per_request:5.2f} ms/req (app) "
                        f"{run.machine_cpu_ms_per_request:5.2f} ms/req (machine)  "
                        f"{run.calls_stored} calls stored",
                        flush=True,
                    )
                    log_text = (workdir / f"{app}.log").read_text()
                    # Failures inside /incoming still answer 200 (fallback TwiML): the log tells.
                    if run.errors or not run.requests or "voice webhook" in log_text:
                        raise SystemExit(
                            f"{app} failed ({run.errors} HTTP errors):\n{log_text[-3000:]}"
                        )
            finally:
                _stop(server)
    finally:
        engine.dispose()

    report = _report(runs, url, size, args.workers, duration)
    report["gunicorn_worker_class"] = args.worker_class
    report["gunicorn_threads"] = args.threads
    _print_table(report)
    output = args.output or RESULTS / (
        f"webhook-{'quick-' if args.quick else ''}{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2))
    print(f"results written to {output}")
    if args.keep:
        print(f"work folder kept: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _create_pg_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    dsn = base.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def _environment(app: str, url: str, workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "PUBLIC_"))}
    env.update(
        {
            "DATABASE_URL": url,
            "SWITCHBOARD_ENV": "production",
            "SECRET_KEY": "bench-secret",
            "TWILIO_AUTH_TOKEN": TOKEN,
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            "SWITCHBOARD_INSTANCE_PATH": str(workdir / "instance"),
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def _count_calls(engine) -> int:
    from sqlalchemy import text

    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM calls")).scalar_one()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_gunicorn(
    target: str, port: int, args: argparse.Namespace, env: dict[str, str], log: Path
):
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [
        str(gunicorn),
        "--workers",
        str(args.workers),
        "--worker-class",
        args.worker_class,
        "--threads",
        str(args.threads),
        "--bind",
        f"127.0.0.1:{port}",
        "--backlog",
        "2048",
        "--log-level",
        "warning",
        target,
    ]
    server = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited:\n{log.read_text()[-2000:]}")
        try:
            # Any HTTP answer means a worker has booted and imported the app.
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5):
                return server
        except urllib.error.HTTPError:
            return server
        except OSError:
            time.sleep(0.2)
    _stop(server)
    raise SystemExit("gunicorn did not start in 30 s")


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _write_requests(path: Path, size: seeding.Size, count: int, prefix: str) -> Path:
    """Pre-signed incoming-call requests with varied CallSids, callers and lines."""
    rng = random.Random(hash(prefix) & 0xFFFF)
    validator = RequestValidator(TOKEN)
    url = PUBLIC_BASE_URL + "/twilio/voice/incoming"
    stamp = f"{int(time.time()):x}"
    with path.open("w") as out:
        for i in range(count):
            roll = rng.random()
            if roll < 0.90:
                caller = seeding.customer_phone(rng.randint(1, size.customers))
            elif roll < 0.95:
                caller = f"+1312{rng.randint(0, 9_999_999):07d}"  # unknown caller
            else:
                caller = "anonymous"
            line = (
                seeding.line_number(rng.randint(1, size.lines))
                if rng.random() < 0.99
                else "+16469999999"  # unknown line
            )
            params = {
                "AccountSid": "AC" + "b" * 32,
                "ApiVersion": "2010-04-01",
                "CallSid": f"{prefix}{stamp}{i:020d}"[:34],
                "CallStatus": "ringing",
                "Called": line,
                "CalledCountry": "US",
                "Caller": caller,
                "CallerCountry": "US",
                "Direction": "inbound",
                "ForwardedFrom": f"+1312{rng.randint(0, 9_999_999):07d}",
                "From": caller,
                "FromCountry": "US",
                "To": line,
                "ToCountry": "US",
            }
            signature = validator.compute_signature(url, params)
            out.write(f"{signature}\t{urlencode(params)}\n")
    return path


def _process_tree_cpu(root_pid: int) -> float:
    """CPU seconds used by a process and its children (gunicorn master + workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    stats: dict[int, tuple[int, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        stats[pid] = (int(fields[11]) + int(fields[12]), 0)
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += stats.get(pid, (0, 0))[0]
        stack.extend(children.get(pid, []))
    return total / ticks


def _machine_busy_seconds() -> float:
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _wrk(wrk: str, port: int, requests_file: Path, connections: int, seconds: int) -> dict:
    threads = min(2, connections)
    env = {**os.environ, "BENCH_REQUESTS": str(requests_file), "BENCH_THREADS": str(threads)}
    result = subprocess.run(
        [
            wrk,
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--latency",
            "-s",
            str(HERE / "replay.lua"),
            f"http://127.0.0.1:{port}",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    for line in result.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            return json.loads(line.removeprefix("BENCH_RESULT "))
    raise SystemExit(f"wrk printed no result:\n{result.stdout}\n{result.stderr}")


def _measure(
    wrk: str, app: str, pid: int, port: int, requests_file: Path, c: int, seconds: int
) -> Run:
    cpu_before, busy_before = _process_tree_cpu(pid), _machine_busy_seconds()
    data = _wrk(wrk, port, requests_file, c, seconds)
    cpu_after, busy_after = _process_tree_cpu(pid), _machine_busy_seconds()
    count = max(1, data["requests"])
    elapsed = data["duration_us"] / 1e6
    return Run(
        app=app,
        connections=c,
        seconds=round(elapsed, 2),
        requests=data["requests"],
        requests_per_s=round(data["requests"] / elapsed, 1),
        p50_ms=round(data["p50_us"] / 1000, 3),
        p99_ms=round(data["p99_us"] / 1000, 3),
        app_cpu_ms_per_request=round((cpu_after - cpu_before) * 1000 / count, 3),
        machine_cpu_ms_per_request=round((busy_after - busy_before) * 1000 / count, 3),
        errors=sum(data[k] for k in ("errors_status", "errors_connect", "errors_timeout")),
    )


def _report(runs: list[Run], url: str, size: seeding.Size, workers: int, duration: int) -> dict:
    by_key = {(r.app, r.connections): r for r in runs}
    ratios = {}
    for (app, c), run in by_key.items():
        base = by_key.get(("baseline", c))
        if app == "switchboard" and base and base.requests_per_s:
            ratios[str(c)] = round(run.requests_per_s / base.requests_per_s, 3)
    c8 = by_key.get(("switchboard", 8))
    return {
        "benchmark": "webhook",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": url.split("://", 1)[0],
        "size": asdict(size),
        "gunicorn_workers": workers,
        "seconds_per_run": duration,
        "cpus": os.cpu_count(),
        "runs": [asdict(r) for r in runs],
        "throughput_ratio": ratios,
        "targets": {
            "ratio_at_least": TARGET_RATIO,
            "p99_ms_at_c8_below": TARGET_P99_MS,
            "ratio_met": bool(ratios) and min(ratios.values()) >= TARGET_RATIO,
            "p99_met": c8 is not None and c8.p99_ms < TARGET_P99_MS,
        },
    }


def _print_table(report: dict) -> None:
    print()
    print("| app | conns | req/s | p50 ms | p99 ms | app CPU ms/req | machine CPU ms/req | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for run in report["runs"]:
        ratio = report["throughput_ratio"].get(str(run["connections"]), "")
        ratio = ratio if run["app"] == "switchboard" else "1.00 (baseline)"
        print(
            f"| {run['app']} | {run['connections']} | {run['requests_per_s']:.0f} | "
            f"{run['p50_ms']:.2f} | {run['p99_ms']:.2f} | {run['app_cpu_ms_per_request']:.2f} | "
            f"{run['machine_cpu_ms_per_request']:.2f} | {ratio} |"
        )
    targets = report["targets"]
    print(
        f"\nSwitchboard/baseline throughput: {report['throughput_ratio']} "
        f"(target >= {targets['ratio_at_least']}: {'met' if targets['ratio_met'] else 'MISSED'});"
        f" p99 at c=8 < {targets['p99_ms_at_c8_below']} ms: "
        f"{'met' if targets['p99_met'] else 'MISSED'}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
