"""Forged webhooks against the web process as the Procfile starts it, in production mode.

Every path under /twilio/ (those in Flask's url_map and /incoming, answered in front of
Flask) and /sendgrid/events gets requests forged in the ways an attacker would try: no
signature, the wrong secret, a signature lifted from another request, parameters or body
changed after signing, another host, a stale or future SendGrid timestamp. Every one must
be refused with 403 and change nothing in the database; one correctly signed request of
each kind shows the server was listening all along.
"""

from __future__ import annotations

import base64
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, make_url, select, text

from config import TestConfig
from models import Call, CallEvent, EmailEvent, Enquiry, make_engine
from routing import create_app
from routing.cli.db import upgrade
from tests.reliability import figures
from tests.twilio_signing import twilio_signature

ROOT = Path(__file__).resolve().parents[2]
AUTH_TOKEN = "forged-sweep-auth-token"
PARAM_SETS = 20
SENDGRID_KEY = ec.generate_private_key(ec.SECP256R1())
SENDGRID_PUBLIC_KEY = base64.b64encode(
    SENDGRID_KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
).decode()
OTHER_KEY = ec.generate_private_key(ec.SECP256R1())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def database_url(tmp_path_factory) -> Iterator[str]:
    """A database of its own: a fresh PostgreSQL one next to TEST_DATABASE_URL, else SQLite."""
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        url = f"sqlite:///{tmp_path_factory.mktemp('forged') / 'forged.sqlite3'}"
        upgrade(url)
        yield url
        return
    name = f"sb_forged_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _procfile_web() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError("the Procfile has no web process")


@pytest.fixture(scope="module")
def server(database_url, tmp_path_factory) -> Iterator[str]:
    """The web process exactly as the Procfile starts it, in production mode."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
        "BIND_HOST": "127.0.0.1",
        "PORT": str(port),
        "SWITCHBOARD_ENV": "production",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "forged-sweep-secret-key-0123456789",
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "PUBLIC_BASE_URL": base_url,
        "SENDGRID_EVENT_PUBLIC_KEY": SENDGRID_PUBLIC_KEY,
        "FALLBACK_NUMBERS": "+14155550199",
        "SWITCHBOARD_INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
    }
    log = tmp_path_factory.mktemp("logs") / "web.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["bash", "-c", "exec " + _procfile_web()],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(base_url + "/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # not listening or still booting
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the web process did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def twilio_paths() -> list[str]:
    app = create_app(TestConfig({"DATABASE_URL": "sqlite://"}))
    paths = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/twilio/"):
            paths.append(re.sub(r"<(?:int:)?[a-z_]+>", "1", rule.rule))
    return sorted(paths) + ["/twilio/voice/incoming"]


def call_params(rng: random.Random) -> dict[str, str]:
    caller = rng.choice(
        ["+1202555" + f"{rng.randrange(10_000):04d}", "anonymous", "+266696687", "+44 20 7946"]
    )
    return {
        "CallSid": "CA" + "".join(rng.choice("0123456789abcdef") for _ in range(32)),
        "AccountSid": "AC" + "0" * 32,
        "From": caller,
        "To": "+1646555" + f"{rng.randrange(10_000):04d}",
        "CallStatus": rng.choice(["ringing", "in-progress", "completed", "no-answer"]),
        "Digits": rng.choice(["1", "2", "1234"]),
        "DialCallStatus": rng.choice(["completed", "no-answer", "busy"]),
    }


def twilio_forgeries(base_url: str, path: str, params: dict[str, str]):
    """(name, path, form, headers) of each way to forge this request."""
    url = base_url + path
    good = twilio_signature(url, params, token=AUTH_TOKEN)
    lifted = twilio_signature(base_url + "/twilio/voice/fallback-other", params, token=AUTH_TOKEN)
    tampered = {**params, "From": "+19995550000"}
    yield "unsigned", path, params, {}
    yield (
        "wrong secret",
        path,
        params,
        {"X-Twilio-Signature": twilio_signature(url, params, token="guessed-token")},
    )
    yield "signature of another path", path, params, {"X-Twilio-Signature": lifted}
    yield "parameter changed after signing", path, tampered, {"X-Twilio-Signature": good}
    yield (
        "parameter added after signing",
        path,
        {**params, "Extra": "1"},
        {"X-Twilio-Signature": good},
    )
    yield (
        "signed for another host",
        path,
        params,
        {
            "X-Twilio-Signature": twilio_signature(
                "https://evil.example" + path, params, token=AUTH_TOKEN
            )
        },
    )
    yield "query changed after signing", path + "?call=CA1", params, {"X-Twilio-Signature": good}
    yield (
        "garbage signature",
        path,
        params,
        {"X-Twilio-Signature": base64.b64encode(os.urandom(20)).decode()},
    )


def sendgrid_headers(body: bytes, key=SENDGRID_KEY, timestamp: int | None = None):
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "Content-Type": "application/json",
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
    }


def sendgrid_forgeries(rng: random.Random):
    """(name, body, headers) of each way to forge an event batch (a bounce, say)."""
    event = {
        "sg_event_id": uuid.UUID(int=rng.getrandbits(128)).hex,
        "event": "bounce",
        "email": f"customer{rng.randrange(1000)}@example.com",
        "timestamp": int(time.time()),
        "reason": "550 forged",
    }
    body = json.dumps([event]).encode()
    other = json.dumps([{**event, "event": "delivered"}]).encode()
    yield "unsigned", body, {"Content-Type": "application/json"}
    yield "wrong key", body, sendgrid_headers(body, key=OTHER_KEY)
    yield "body changed after signing", body, sendgrid_headers(other)
    yield (
        "stale (replayed after 11 minutes)",
        body,
        sendgrid_headers(body, timestamp=int(time.time()) - 660),
    )
    yield "dated 5 minutes ahead", body, sendgrid_headers(body, timestamp=int(time.time()) + 300)
    yield (
        "garbage signature",
        body,
        {
            **sendgrid_headers(body),
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(os.urandom(70)).decode(),
        },
    )


def _counts(database_url: str) -> tuple[int, ...]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return tuple(
                conn.scalar(select(func.count()).select_from(model))
                for model in (Call, CallEvent, Enquiry, EmailEvent)
            )
    finally:
        engine.dispose()


def test_every_forged_webhook_is_refused_and_changes_nothing(server, database_url):
    rng = random.Random(20261201)
    paths = twilio_paths()
    assert len(paths) >= 13
    before = _counts(database_url)
    sent = rejected = 0
    accepted: list[str] = []
    with requests.Session() as http:
        for _ in range(PARAM_SETS):
            params = call_params(rng)
            for path in paths:
                for name, target, form, headers in twilio_forgeries(server, path, params):
                    response = http.post(server + target, data=form, headers=headers, timeout=10)
                    sent += 1
                    if response.status_code == 403:
                        rejected += 1
                    else:
                        accepted.append(f"{path} ({name}): {response.status_code}")
            for name, body, headers in sendgrid_forgeries(rng):
                response = http.post(
                    server + "/sendgrid/events", data=body, headers=headers, timeout=10
                )
                sent += 1
                if response.status_code == 403:
                    rejected += 1
                else:
                    accepted.append(f"/sendgrid/events ({name}): {response.status_code}")
        assert _counts(database_url) == before, "a forged webhook changed the database"

        # The same server takes genuine requests: the refusals were the signature check's.
        params = call_params(rng)
        genuine = http.post(
            server + "/twilio/voice/fallback",
            data=params,
            headers={
                "X-Twilio-Signature": twilio_signature(
                    server + "/twilio/voice/fallback", params, token=AUTH_TOKEN
                )
            },
            timeout=10,
        )
        assert genuine.status_code == 200 and "<Dial" in genuine.text
        body = b"[]"
        events = http.post(
            server + "/sendgrid/events", data=body, headers=sendgrid_headers(body), timeout=10
        )
        assert events.status_code == 200
    figures.record("forged webhooks rejected", f"{rejected:,}/{sent:,}")
    assert accepted == []
    assert rejected == sent == PARAM_SETS * (len(paths) * 8 + 6)
