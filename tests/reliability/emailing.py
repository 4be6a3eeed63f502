"""Helpers for the email half of the reliability suite: real workers, a stub, a cluster.

Every run gets a database of its own in a throwaway PostgreSQL cluster, N pending emails
(keys ``bench:<tag>:<n>``), the SendGrid stub of ``bench.sendgrid_stub`` and real
``switchboard worker`` processes pointed at both.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select

from bench.dispatch import prepare, seed
from bench.sendgrid_stub import SendGridStub
from models import Database, EmailStatus, OutboundEmail, make_engine

# The production promises on a CI time scale: a 4 s lease renewed every 0.5 s (45 s and
# 5 s in production), a 2 s read timeout (35 s), retries from 0.2 s (30 s). The relation
# lease - heartbeat > connect + read holds as it does in production (the config checks it).
FAST = {
    "OUTBOX_LEASE_SECONDS": "4",
    "OUTBOX_HEARTBEAT_SECONDS": "0.5",
    "OUTBOX_SWEEP_SECONDS": "1",
    "OUTBOX_RETRY_BASE_SECONDS": "0.2",
    "OUTBOX_RETRY_CAP_SECONDS": "2",
    "SENDGRID_CONNECT_TIMEOUT_SECONDS": "0.5",
    "SENDGRID_READ_TIMEOUT_SECONDS": "2",
}
CONCURRENCY = 8


def keys(tag: str, count: int) -> list[str]:
    return [f"bench:{tag}:{n}" for n in range(count)]


def make_outbox(url: str, count: int, tag: str) -> list[str]:
    """Migrate the database at ``url`` and fill its outbox with ``count`` due emails."""
    prepare(url)
    seed(url, count, tag)
    return keys(tag, count)


class Workers:
    """Real ``switchboard worker`` processes on one database and one stub."""

    def __init__(self, url: str, stub: SendGridStub, tmp: Path, settings: dict[str, str]):
        self.env = {
            **os.environ,
            "DATABASE_URL": url,
            "SWITCHBOARD_ENV": "development",
            "SWITCHBOARD_INSTANCE_PATH": str(tmp),
            "SENDGRID_API_KEY": "SG.reliability",
            "SENDGRID_API_HOST": stub.url,
            "MAIL_FROM": "Acme <orders@acme.example>",
            **settings,
        }
        self.tmp = tmp
        self.processes: list[subprocess.Popen[bytes]] = []
        self.switchboard = str(Path(sys.executable).with_name("switchboard"))

    def start(self) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"worker-{len(self.processes)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [self.switchboard, "worker", "--concurrency", str(CONCURRENCY)],
            env=self.env,
            cwd=self.tmp,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.processes.append(process)
        return process

    def kill9(self, process: subprocess.Popen[bytes]) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def alive(self) -> list[subprocess.Popen[bytes]]:
        return [p for p in self.processes if p.poll() is None]

    def stop(self) -> None:
        for process in self.alive():
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def logs(self) -> str:
        parts = []
        for path in sorted(self.tmp.glob("worker-*.log")):
            tail = path.read_text(errors="replace").splitlines()[-40:]
            parts.append(f"--- {path.name}\n" + "\n".join(tail))
        return "\n".join(parts)


class Outbox:
    """Reads the outbox of the database under test (its own small engine)."""

    def __init__(self, url: str):
        self.db = Database(make_engine(url, pool_size=1, max_overflow=1))

    def statuses(self) -> dict[str, int]:
        with self.db.Session() as session:
            rows = session.execute(
                select(OutboundEmail.status, func.count()).group_by(OutboundEmail.status)
            ).all()
        return {str(status): n for status, n in rows}

    def keys_with(self, status: EmailStatus) -> set[str]:
        with self.db.Session() as session:
            return set(
                session.scalars(
                    select(OutboundEmail.idempotency_key).where(OutboundEmail.status == status)
                )
            )

    def failed_reasons(self) -> dict[str, str]:
        with self.db.Session() as session:
            rows = session.execute(
                select(OutboundEmail.idempotency_key, OutboundEmail.last_error).where(
                    OutboundEmail.status == EmailStatus.FAILED
                )
            ).all()
        return {key: reason or "" for key, reason in rows}

    def close(self) -> None:
        self.db.dispose()


def local_ports(pid: int) -> set[int]:
    """The local TCP ports of a process's sockets (its connections to the stub among them)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def wait_for(condition: Callable[[], bool], timeout: float, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()


def first_acceptance_after(stub: SendGridStub, key: str, after: float) -> float | None:
    with stub.lock:
        times = [t for t in stub.accepted_at.get(key, ()) if t > after]
    return min(times) if times else None
