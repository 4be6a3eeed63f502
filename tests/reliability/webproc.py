"""The web process exactly as the Procfile starts it, and Twilio-signed requests to it.

``WebProcess`` runs the Procfile's ``web:`` command through a shell (so ``${PORT}``,
``${WEB_CONCURRENCY}`` and ``${BIND_HOST}`` expand as under honcho or a platform), with
this checkout's virtual environment first on PATH, in production mode.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TOKEN = "reliability-auth-token"
PUBLIC_BASE_URL = "https://switchboard.reliability.example"
FALLBACK_NUMBER = "+14155550001"


def procfile_command(kind: str = "web") -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == kind:
            return command.strip()
    raise LookupError(f"no {kind}: line in the Procfile")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(database_url: str, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "PUBLIC_", "SWITCHBOARD_", "TWILIO_", "SENDGRID_"))
    }
    env.update(
        {
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            "DATABASE_URL": database_url,
            "SWITCHBOARD_ENV": "production",
            "SECRET_KEY": "reliability-secret",
            "TWILIO_AUTH_TOKEN": TOKEN,
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            "FALLBACK_NUMBERS": FALLBACK_NUMBER,
            "PYTHONPATH": str(ROOT),
            **extra,
        }
    )
    return env


def switchboard(*args: str, env: dict[str, str]) -> str:
    """Run the ``switchboard`` command line (e.g. ``db upgrade``); its output."""
    done = subprocess.run(
        [str(BIN / "switchboard"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode:
        raise RuntimeError(f"switchboard {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


class WebProcess:
    """``web:`` from the Procfile on a free loopback port; ``with`` starts and stops it."""

    def __init__(self, env: dict[str, str], log: Path, workers: int = 2):
        self.port = free_port()
        self.env = {
            **env,
            "PORT": str(self.port),
            "BIND_HOST": "127.0.0.1",
            "WEB_CONCURRENCY": str(workers),
        }
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> WebProcess:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                ["/bin/sh", "-c", f"exec {procfile_command('web')}"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the web process exited:\n{self.log_tail()}")
            try:
                status, _, _ = self.request("GET", "/healthz", timeout=5)
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"the web process did not answer in 60 s:\n{self.log_tail()}")

    def __exit__(self, *exc: object) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> tuple[int, str, bytes]:
        """One request on a fresh connection: (status, content type, body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body or None, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.getheader("Content-Type", ""), response.read()
        finally:
            conn.close()

    def twilio(self, path: str, params: dict[str, str], timeout: float = 30) -> Answer:
        """POST ``params`` to ``path`` signed as Twilio signs; the answer and how long it took."""
        body, headers = signed(path, params)
        started = time.monotonic()
        try:
            status, kind, text = self.request("POST", path, body, headers, timeout=timeout)
        except OSError as error:
            return Answer(path, 0, "", str(error).encode(), time.monotonic() - started)
        return Answer(path, status, kind, text, time.monotonic() - started)


def signed(path: str, params: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """The form body and headers of a POST to ``path`` as Twilio sends it."""
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC_BASE_URL + path, params)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature,
    }
    return urlencode(params).encode(), headers


@dataclass
class Answer:
    path: str
    status: int
    content_type: str
    body: bytes
    seconds: float

    def twiml(self) -> ET.Element:
        """The parsed TwiML document (fails the test when it is not one)."""
        assert self.status == 200, f"{self.path}: HTTP {self.status} {self.body[:300]!r}"
        assert self.content_type.startswith("text/xml"), (self.path, self.content_type)
        root = ET.fromstring(self.body)
        assert root.tag == "Response", self.body
        return root

    def dials(self) -> list[str]:
        return [n.text or "" for n in self.twiml().findall("Dial/Number")]


def call_params(sid: str, to: str, caller: str, status: str = "ringing") -> dict[str, str]:
    """The form Twilio posts for an inbound call (the fields Switchboard reads and more)."""
    return {
        "AccountSid": "AC" + "r" * 32,
        "ApiVersion": "2010-04-01",
        "CallSid": sid,
        "CallStatus": status,
        "Called": to,
        "Caller": caller,
        "Direction": "inbound",
        "From": caller,
        "To": to,
    }
