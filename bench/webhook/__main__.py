"""Run the webhook benchmark: ``python -m bench.webhook [--quick] [--shape NAME]``.

For each data shape (``--shape issue``, ``--shape existing``; default: both, one after
the other; ``--quick``: the issue's shape, small, on SQLite):

1. Seed the database (PostgreSQL by default; ``--quick``: a small SQLite database).
2. Start each app under the gunicorn settings of the Procfile's ``web:`` line (worker
   class, worker count, worker connections, keep-alive; each can be overridden), drive it
   with wrk replaying pre-signed ``POST /twilio/voice/incoming`` requests at each
   concurrency, stop it: the constant-TwiML baseline, the store-then-answer baseline (one
   pooled autocommit INSERT of the call, then constant TwiML), Switchboard (signature
   checking on, production settings). ``--rounds N`` repeats this N times, the apps'
   order rotated each round, so that each round compares the apps under the same load.
3. Print every round's figures, then the median round of each app (requests/s, p50/p99
   latency, CPU ms per request), Switchboard's ratio to each baseline (the median of the
   rounds' ratios, and the worst round's) and the targets as MET/MISSED; write the shape's
   figures as JSON to bench/results/webhook-<shape>.json (``--quick``:
   webhook-quick-<shape>.json).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import statistics
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
# The apps of one run, in order: gunicorn target of each.
APPS = {
    "constant": "bench.webhook.baseline:create_app()",
    "store": "bench.webhook.baseline:create_store_app()",
    "switchboard": "routing:create_app()",
}
# The gunicorn options of the Procfile's web line that shape how requests are served.
PROCFILE_OPTIONS = ("--workers", "--worker-class", "--worker-connections", "--keep-alive")
# gunicorn's own default when the Procfile does not set --keep-alive.
GUNICORN_DEFAULT_KEEP_ALIVE = "2"
# Targets (against the store-then-answer baseline, at every concurrency measured).
TARGET_RATIO = 0.8
TARGET_P99_MS = 10.0
TARGET_P99_OF_BASELINE = 2.0


@dataclass
class Run:
    app: str
    round: int
    connections: int
    seconds: float
    requests: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    app_cpu_ms_per_request: float
    machine_cpu_ms_per_request: float
    errors: int
    # PostgreSQL backends serving this database (0 on SQLite).
    db_cpu_ms_per_request: float = 0.0
    # Call rows the run created (Switchboard and the store baseline store every CallSid).
    calls_stored: int = 0
    # Calls Switchboard answered with the fallback TwiML (its log says why).
    fallbacks: int = 0
    # Requests answered without their call stored (each request is a new CallSid).
    calls_missing: int = 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.webhook",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small data, a few seconds")
    parser.add_argument(
        "--shape",
        choices=[*seeding.SHAPES, "all"],
        default=None,
        help="data shape (default: all; quick: issue)",
    )
    parser.add_argument("--database-url", help=f"default: {DEFAULT_PG} (quick: SQLite)")
    parser.add_argument("--duration", type=int, help="seconds per run (default 20; quick 2)")
    parser.add_argument("--connections", default=None, help="comma list (default 8,32)")
    web = procfile_web_options(os.environ)
    parser.add_argument(
        "--workers",
        type=int,
        default=int(web["--workers"]),
        help=f"gunicorn workers for every app (default: the Procfile's, here {web['--workers']})",
    )
    parser.add_argument(
        "--worker-class",
        default=web["--worker-class"],
        help=f"gunicorn worker class for every app (default: the Procfile's, "
        f"{web['--worker-class']})",
    )
    parser.add_argument(
        "--keep-alive",
        type=int,
        default=int(web["--keep-alive"]),
        help=f"gunicorn --keep-alive seconds for every app (default: the Procfile's, "
        f"{web['--keep-alive']}; 0 closes each connection after its response)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="measure every app this many times, the order rotated each round (default 3; quick 1)",
    )
    parser.add_argument("--threads", type=int, default=1, help="threads per gthread worker")
    parser.add_argument(
        "--apps", default=",".join(APPS), help=f"comma list of apps to run ({','.join(APPS)})"
    )
    parser.add_argument("--no-seed", action="store_true", help="reuse the seeded database")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    parser.add_argument(
        "--output-dir", type=Path, default=RESULTS, help="where webhook-<shape>.json goes"
    )
    args = parser.parse_args(argv)
    args.worker_connections = web.get("--worker-connections")

    wrk = shutil.which("wrk")
    if wrk is None:
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    shape = args.shape or ("issue" if args.quick else "all")
    shapes = list(seeding.SHAPES) if shape == "all" else [shape]
    apps = [a for a in args.apps.split(",") if a]
    unknown = set(apps) - set(APPS)
    if unknown:
        parser.error(f"unknown apps: {', '.join(sorted(unknown))}")
    workdir = Path(tempfile.mkdtemp(prefix="bench-webhook-"))
    failed = False
    try:
        for name in shapes:
            report = run_shape(wrk, name, apps, args, workdir)
            failed = failed or any(
                r["errors"] or r["fallbacks"] or r["calls_missing"] or not r["requests"]
                for r in report["round_runs"]
            )
            _print_table(report)
            suffix = f"quick-{name}" if args.quick else name
            output = args.output_dir / f"webhook-{suffix}.json"
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(json.dumps(report, indent=2))
            print(f"results written to {output}", flush=True)
    finally:
        if args.keep:
            print(f"work folder kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if failed:
        print(
            "FAILED: some requests got an error, the fallback TwiML or no stored call (see above)"
        )
        return 1
    return 0


def run_shape(
    wrk: str, name: str, apps: list[str], args: argparse.Namespace, workdir: Path
) -> dict:
    """Seed one data shape and measure every app on it; the shape's report."""
    size = (seeding.QUICK_SHAPES if args.quick else seeding.SHAPES)[name]
    duration = args.duration or (2 if args.quick else 20)
    url = args.database_url or (
        f"sqlite:///{workdir / f'bench-{name}.sqlite3'}" if args.quick else DEFAULT_PG
    )

    from models import make_engine
    from routing.cli.db import upgrade

    if url.startswith("postgresql"):
        _create_pg_database(url)
    engine = make_engine(url)
    upgrade(url)
    if not args.no_seed:
        started = time.monotonic()
        print(f"seeding {url.split('@')[-1]} with the {name!r} shape: {size}", flush=True)
        seeding.seed(engine, size)
        print(f"  seeded in {time.monotonic() - started:.1f} s", flush=True)

    database = url.rsplit("/", 1)[-1] if url.startswith("postgresql") else None
    rounds = args.rounds or (1 if args.quick else 3)
    connections = [int(c) for c in (args.connections or ("8" if args.quick else "8,32")).split(",")]
    runs: list[Run] = []
    try:
        for number in range(1, rounds + 1):
            # Every app runs for the whole round; at each concurrency they are measured
            # back to back (the order rotated each round, so no app is always first), so
            # each round's ratios compare runs a few seconds apart.
            shift = (number - 1) % len(apps)
            order = apps[shift:] + apps[:shift]
            servers = [_App(name, app, number, size, url, args, workdir) for app in order]
            try:
                for server in servers:
                    server.start(wrk)
                for c in connections:
                    for server in servers:
                        _checkpoint(engine)
                        runs.append(server.measure(wrk, c, duration, database, engine))
            finally:
                for server in servers:
                    server.stop()
    finally:
        engine.dispose()

    return _report(runs, url, name, size, args, duration, rounds)


class _App:
    """One app's gunicorn for a round: started and warmed up, measured at each concurrency."""

    def __init__(self, shape, app, number, size, url, args, workdir):
        self.app, self.number, self.size, self.args = app, number, size, args
        self.url, self.workdir = url, workdir
        self.tag = f"{shape[:2].upper()}{app[:2].upper()}{number}"
        self.log = workdir / f"{shape}-{app}-{number}.log"
        self.port = _free_port()
        self.server: subprocess.Popen | None = None
        self.fallbacks_seen = 0

    def start(self, wrk: str) -> None:
        env = _environment(self.url, self.workdir, self.size)
        self.server = _start_gunicorn(APPS[self.app], self.port, self.args, env, self.log)
        warm = _write_requests(
            self.workdir / f"{self.app}-warm.txt", self.size, 2000, f"W{self.tag}"
        )
        # Every worker boots, connects and fills its caches before measuring.
        _wrk(wrk, self.port, warm, 8, 2 if self.args.quick else 5)

    def stop(self) -> None:
        if self.server is not None:
            _stop(self.server)

    def measure(self, wrk: str, c: int, duration: int, database: str | None, engine) -> Run:
        assert self.server is not None
        lines = 20_000 if self.args.quick else 150_000
        requests_file = _write_requests(
            self.workdir / f"{self.app}-{c}.txt", self.size, lines, f"{self.tag}C{c}"
        )
        before = _count_calls(engine)
        run = _measure(
            wrk,
            self.app,
            self.number,
            self.server.pid,
            self.port,
            requests_file,
            c,
            duration,
            database,
        )
        run.calls_stored = _count_calls(engine) - before
        if self.app != "constant" and run.requests <= lines:
            # Every request was a new CallSid: each must have stored its call.
            run.calls_missing = max(0, run.requests - run.calls_stored)
        print(
            f"  round {self.number} {self.app:<11} c={c:<3} {run.requests_per_s:8.0f} req/s  "
            f"p50 {run.p50_ms:6.2f} ms  p99 {run.p99_ms:6.2f} ms  "
            f"CPU {run.app_cpu_ms_per_request:5.2f} ms/req (app) "
            f"{run.db_cpu_ms_per_request:5.2f} ms/req (PostgreSQL) "
            f"{run.machine_cpu_ms_per_request:5.2f} ms/req (machine)  "
            f"{run.calls_stored} calls stored",
            flush=True,
        )
        # Failures inside /incoming still answer 200 (fallback TwiML): the log tells.
        log_text = self.log.read_text()
        run.fallbacks = log_text.count("voice webhook") - self.fallbacks_seen
        self.fallbacks_seen += run.fallbacks
        if run.errors or run.fallbacks or run.calls_missing or not run.requests:
            # The run goes on (the other figures still count); main() fails.
            print(
                f"  {self.app} c={c}: {run.errors} HTTP errors, {run.fallbacks} "
                f"fallback answers, {run.calls_missing} calls not stored:\n"
                f"{log_text[-2000:]}",
                flush=True,
            )
        return run


def procfile_web_options(environ: dict[str, str] | os._Environ) -> dict[str, str]:
    """The gunicorn options of the Procfile's ``web:`` line that shape serving, with its
    ``${VAR:-default}`` expanded from ``environ`` (``--keep-alive``: gunicorn's default
    when the line does not set it)."""
    line = next(
        row for row in (ROOT / "Procfile").read_text().splitlines() if row.startswith("web:")
    )
    expanded = re.sub(
        r"\$\{(\w+):-([^}]*)\}", lambda m: environ.get(m[1]) or m[2], line.removeprefix("web:")
    )
    words = shlex.split(expanded)
    options = {"--keep-alive": GUNICORN_DEFAULT_KEEP_ALIVE}
    for option, value in zip(words, words[1:], strict=False):
        if option in PROCFILE_OPTIONS:
            options[option] = value
    return options


def _create_pg_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    dsn = base.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def _environment(url: str, workdir: Path, size: seeding.Size) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "PUBLIC_"))}
    env.update(
        {
            "DATABASE_URL": url,
            "SWITCHBOARD_ENV": "production",
            "SECRET_KEY": "bench-secret",
            "TWILIO_AUTH_TOKEN": TOKEN,
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            "TIMEZONE": size.timezone,
            "SWITCHBOARD_INSTANCE_PATH": str(workdir / "instance"),
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def _checkpoint(engine) -> None:
    """Write PostgreSQL's dirty pages out before an app is measured: otherwise the
    checkpoint the seeding's WAL (or the previous app's calls) started spreads its writes
    over the next minutes and slows whichever app runs then."""
    if engine.dialect.name != "postgresql":
        return
    from sqlalchemy import text

    with engine.connect() as conn:
        conn.execute(text("CHECKPOINT"))


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
        "--keep-alive",
        str(args.keep_alive),
        *(["--worker-connections", args.worker_connections] if args.worker_connections else []),
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
    # A CallSid is 34 characters: the prefix and stamp leave room for every index in full,
    # so that each request is a new call.
    if len(prefix) + len(stamp) + 12 > 34:
        raise ValueError(f"request prefix {prefix!r} too long for a 34-character CallSid")
    with path.open("w") as out:
        for i in range(count):
            roll = rng.random()
            unknown_share = (1 - size.known_callers) / 2
            if roll < size.known_callers:
                caller = seeding.customer_phone(rng.randint(1, size.customers), size)
            elif roll < size.known_callers + unknown_share:
                caller = f"+1312{rng.randint(0, 9_999_999):07d}"  # unknown caller
            else:
                caller = "anonymous"
            line = (
                "+16469999999"  # unknown line
                if rng.random() < size.unknown_lines
                else seeding.line_number(rng.randint(1, size.lines))
            )
            params = {
                "AccountSid": "AC" + "b" * 32,
                "ApiVersion": "2010-04-01",
                "CallSid": f"{prefix}{stamp}{i:012d}",
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


def _database_backends_cpu(database: str | None) -> float:
    """CPU seconds of the PostgreSQL backends connected to ``database`` (from their
    process titles, ``postgres: user database host(port) state``)."""
    if not database:
        return 0.0
    ticks, total, name = os.sysconf("SC_CLK_TCK"), 0, database.encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().split(b"\0")[0].split()
            # "postgres: [cluster:] user database host(port) state"
            if not title or title[0] != b"postgres:" or name not in title[2:4]:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def _measure(
    wrk: str,
    app: str,
    number: int,
    pid: int,
    port: int,
    requests_file: Path,
    c: int,
    seconds: int,
    database: str | None,
) -> Run:
    cpu_before, busy_before = _process_tree_cpu(pid), _machine_busy_seconds()
    db_before = _database_backends_cpu(database)
    data = _wrk(wrk, port, requests_file, c, seconds)
    cpu_after, busy_after = _process_tree_cpu(pid), _machine_busy_seconds()
    db_after = _database_backends_cpu(database)
    count = max(1, data["requests"])
    elapsed = data["duration_us"] / 1e6
    return Run(
        app=app,
        round=number,
        connections=c,
        seconds=round(elapsed, 2),
        requests=data["requests"],
        requests_per_s=round(data["requests"] / elapsed, 1),
        p50_ms=round(data["p50_us"] / 1000, 3),
        p99_ms=round(data["p99_us"] / 1000, 3),
        app_cpu_ms_per_request=round((cpu_after - cpu_before) * 1000 / count, 3),
        machine_cpu_ms_per_request=round((busy_after - busy_before) * 1000 / count, 3),
        db_cpu_ms_per_request=round((db_after - db_before) * 1000 / count, 3),
        errors=sum(data[k] for k in ("errors_status", "errors_connect", "errors_timeout")),
    )


def _report(
    runs: list[Run],
    url: str,
    shape: str,
    size: seeding.Size,
    args: argparse.Namespace,
    duration: int,
    rounds: int,
) -> dict:
    """Every round's runs, the median round of each app and concurrency, and the ratios:
    each round's Switchboard against the same round's baseline, the median of those."""
    grouped: dict[tuple[str, int], list[Run]] = {}
    for run in runs:
        grouped.setdefault((run.app, run.connections), []).append(run)
    medians = {key: _median_run(group) for key, group in grouped.items()}
    ratios: dict[str, dict[str, float]] = {"constant": {}, "store": {}}
    worst: dict[str, dict[str, float]] = {"constant": {}, "store": {}}
    for (app, c), group in grouped.items():
        if app != "switchboard":
            continue
        for baseline in ratios:
            paired = _round_ratios(group, grouped.get((baseline, c), []))
            if paired:
                ratios[baseline][str(c)] = round(statistics.median(paired), 3)
                worst[baseline][str(c)] = round(min(paired), 3)
    return {
        "benchmark": "webhook",
        "shape": shape,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": url.split("://", 1)[0],
        "size": asdict(size),
        "gunicorn_workers": args.workers,
        "gunicorn_worker_class": args.worker_class,
        "gunicorn_keep_alive": args.keep_alive,
        "gunicorn_threads": args.threads,
        "seconds_per_run": duration,
        "rounds": rounds,
        "cpus": os.cpu_count(),
        "load_average_after": os.getloadavg()[0],
        "runs": list(medians.values()),
        "round_runs": [asdict(r) for r in runs],
        "throughput_ratio": ratios,
        "throughput_ratio_worst_round": worst,
        "targets": _targets(medians, ratios["store"]),
    }


def _median_run(group: list[Run]) -> dict:
    """The round with the median requests/s, its p50/p99 replaced by the rounds' medians,
    and every round's requests/s and p99 beside them."""
    ordered = sorted(group, key=lambda r: r.requests_per_s)
    figures = asdict(ordered[(len(ordered) - 1) // 2])
    figures["p50_ms"] = round(statistics.median(r.p50_ms for r in group), 3)
    figures["p99_ms"] = round(statistics.median(r.p99_ms for r in group), 3)
    figures["requests_per_s_rounds"] = [r.requests_per_s for r in group]
    figures["p99_ms_rounds"] = [r.p99_ms for r in group]
    return figures


def _round_ratios(switchboard: list[Run], baseline: list[Run]) -> list[float]:
    by_round = {r.round: r.requests_per_s for r in baseline if r.requests_per_s}
    return [r.requests_per_s / by_round[r.round] for r in switchboard if r.round in by_round]


def _targets(medians: dict[tuple[str, int], dict], store_ratios: dict[str, float]) -> dict:
    """The targets against the store-then-answer baseline; None when not measured."""
    c8, base8 = medians.get(("switchboard", 8)), medians.get(("store", 8))
    p99_limit = (
        max(TARGET_P99_MS, TARGET_P99_OF_BASELINE * base8["p99_ms"]) if base8 else TARGET_P99_MS
    )
    return {
        "ratio_to_store_at_least": TARGET_RATIO,
        "ratio_met": (min(store_ratios.values()) >= TARGET_RATIO if store_ratios and c8 else None),
        "p99_ms_at_c8_at_most": round(p99_limit, 2),
        "p99_met": c8["p99_ms"] <= p99_limit if c8 else None,
    }


def _verdict(met: bool | None) -> str:
    return "not measured" if met is None else ("MET" if met else "MISSED")


def _print_table(report: dict) -> None:
    names = {
        "constant": "constant TwiML",
        "store": "store then answer",
        "switchboard": "Switchboard",
    }
    ratios = report["throughput_ratio"]
    print(
        f"\nshape {report['shape']!r}, {report['database']}, {report['gunicorn_workers']} "
        f"{report['gunicorn_worker_class']} workers, keep-alive {report['gunicorn_keep_alive']} s, "
        f"{report['seconds_per_run']} s per run, median of {report['rounds']} rounds"
    )
    print(
        "| app | conns | req/s | p50 ms | p99 ms | app CPU ms/req | PostgreSQL CPU ms/req "
        "| machine CPU ms/req | × constant | × store |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for run in report["runs"]:
        c = str(run["connections"])
        if run["app"] == "switchboard":
            versus = [ratios["constant"].get(c, ""), ratios["store"].get(c, "")]
        else:
            versus = ["", ""]
        print(
            f"| {names[run['app']]} | {c} | {run['requests_per_s']:.0f} | "
            f"{run['p50_ms']:.2f} | {run['p99_ms']:.2f} | {run['app_cpu_ms_per_request']:.2f} | "
            f"{run['db_cpu_ms_per_request']:.2f} | {run['machine_cpu_ms_per_request']:.2f} | "
            f"{versus[0]} | {versus[1]} |"
        )
    targets = report["targets"]
    if report["rounds"] > 1:
        print(
            "requests/s of each round: "
            + "; ".join(
                f"{names[run['app']]} c={run['connections']} {run['requests_per_s_rounds']}"
                for run in report["runs"]
            )
        )
        print(f"worst round's ratios: {report['throughput_ratio_worst_round']}")
    print(
        f"\nSwitchboard / store then answer: {ratios['store']} "
        f"(target >= {targets['ratio_to_store_at_least']} at every concurrency): "
        f"{_verdict(targets['ratio_met'])}"
    )
    print(
        f"Switchboard p99 at c=8 <= {targets['p99_ms_at_c8_at_most']} ms "
        f"(10 ms, or 2x the store baseline's own p99): {_verdict(targets['p99_met'])}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
