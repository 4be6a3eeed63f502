"""The call path under the faults production sees (PRODUCT.md section 3, fixed).

The real web process, started as the Procfile starts it, against a PostgreSQL cluster of
the test's own that is frozen (SIGSTOP: a server that stops answering without closing
anything) and resumed; and against clients that send their requests a byte per second.
"""

from __future__ import annotations

import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.reliability import figures, pgcluster
from tests.reliability.pgcluster import ThrowawayCluster
from tests.reliability.webproc import (
    FALLBACK_NUMBER,
    Answer,
    WebProcess,
    call_params,
    environment,
    switchboard,
)

pytestmark = [
    pytest.mark.skipif(
        not pgcluster.available(), reason="needs PostgreSQL's server binaries (initdb, pg_ctl)"
    ),
    # A cluster to initdb, a database to migrate and seed, gunicorn to boot: slow on a busy CI.
    pytest.mark.timeout(300),
]

INCOMING = "/twilio/voice/incoming"
STATUS = "/twilio/voice/status"
INCOMING_LIMIT_S = 3.0
OTHER_LIMIT_S = 5.0


def new_sid() -> str:
    return "CA" + uuid.uuid4().hex


class Organisation:
    """The demo organisation loaded into a migrated database of the cluster."""

    def __init__(self, cluster: ThrowawayCluster) -> None:
        self.url = cluster.create_database("switchboard")
        self.env = environment(self.url)
        switchboard("db", "upgrade", env=self.env)
        printed = switchboard("demo", env=self.env)
        found = re.search(r"--from (\S+) --to (\S+)", printed)
        assert found, printed
        self.caller, self.line = found.group(1), found.group(2)

    def stored_calls(self, sids: list[str]) -> set[str]:
        engine = create_engine(self.url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    text("SELECT call_sid FROM calls WHERE call_sid = ANY(:sids)"), {"sids": sids}
                )
                return {row[0] for row in rows}
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def cluster() -> Iterator[ThrowawayCluster]:
    with ThrowawayCluster() as running:
        yield running


@pytest.fixture(scope="module")
def organisation(cluster: ThrowawayCluster) -> Organisation:
    return Organisation(cluster)


@pytest.fixture
def web(organisation: Organisation, tmp_path: Path) -> Iterator[WebProcess]:
    with WebProcess(organisation.env, tmp_path / "web.log") as process:
        yield process


def call(web: WebProcess, org: Organisation, sid: str | None = None) -> Answer:
    return web.twilio(INCOMING, call_params(sid or new_sid(), org.line, org.caller), timeout=30)


def timed_health(web: WebProcess) -> tuple[int, float]:
    started = time.monotonic()
    status, _, _ = web.request("GET", "/healthz", timeout=30)
    return status, time.monotonic() - started


def routed(answer: Answer) -> bool:
    """Routed by Switchboard: valid TwiML that is not the fallback dial."""
    return FALLBACK_NUMBER not in answer.dials()


def test_a_frozen_database_never_keeps_a_caller_waiting(
    cluster: ThrowawayCluster, organisation: Organisation, web: WebProcess
) -> None:
    org = organisation
    # Both workers warm: pooled connections, directory snapshot loaded.
    warm = [call(web, org) for _ in range(6)]
    assert all(routed(a) for a in warm), [a.body for a in warm]
    answered = new_sid()
    assert routed(call(web, org, answered))

    cluster.freeze()
    try:
        fallback_sids = [new_sid() for _ in range(6)]
        requests = [(INCOMING, call_params(sid, org.line, org.caller)) for sid in fallback_sids]
        requests += [
            # The status callback of a call stored before the freeze.
            (STATUS, {**call_params(answered, org.line, org.caller, "in-progress")}),
            (
                "/twilio/voice/dial-complete",
                {**call_params(answered, org.line, org.caller), "DialCallStatus": "no-answer"},
            ),
            (
                "/twilio/voice/conference/pin?attempt=1",
                {**call_params(new_sid(), org.line, org.caller), "Digits": "123456"},
            ),
        ]
        with ThreadPoolExecutor(len(requests) + 1) as pool:
            health = pool.submit(timed_health, web)
            first = list(pool.map(lambda r: web.twilio(*r, timeout=30), requests))
            # A second wave while still frozen: the first wave's stuck connections are gone,
            # nothing waits behind them.
            second = list(pool.map(lambda sid: call(web, org, sid), [new_sid() for _ in range(4)]))
    finally:
        cluster.resume()

    calls = [a for a in first + second if a.path == INCOMING]
    others = [a for a in first if a.path != INCOMING]
    for answer in calls:
        assert answer.dials() == [FALLBACK_NUMBER], answer.body
        assert answer.seconds <= INCOMING_LIMIT_S, (answer.seconds, web.log_tail())
    for answer in others:
        answer.twiml()
        assert answer.seconds <= OTHER_LIMIT_S, (answer.path, answer.seconds)
    # /healthz tells the operator, within its own deadline, that the database is down.
    health_status, health_seconds = health.result()
    assert health_status == 503 and health_seconds <= 3.0, (health_status, health_seconds)
    dial_complete = next(a for a in others if a.path.endswith("dial-complete")).twiml()
    assert dial_complete.find("Record") is not None  # nobody answered: voicemail
    pin = next(a for a in others if "conference" in a.path)
    assert pin.dials() == [FALLBACK_NUMBER]  # a teleconference caller reaches a human

    # The database is back: the very next call routes normally and is stored by /incoming.
    back = new_sid()
    after = call(web, org, back)
    assert routed(after), after.body
    assert after.seconds <= INCOMING_LIMIT_S
    assert org.stored_calls([back]) == {back}

    # The calls the fallback answered are recorded from their later status callbacks
    # (some may be stored already: an INSERT sent just before the freeze still runs when
    # the server wakes up, though the caller heard the fallback).
    for sid in fallback_sids:
        done = web.twilio(
            STATUS, {**call_params(sid, org.line, org.caller, "completed"), "CallDuration": "42"}
        )
        assert done.status == 200
    assert org.stored_calls(fallback_sids) == set(fallback_sids)

    worst = max(a.seconds for a in calls)
    worst_other = max(a.seconds for a in others)
    figures.record(
        "frozen database",
        f"calls answered in ≤ {worst:.1f} s, other webhooks in ≤ {worst_other:.1f} s; "
        f"{len(fallback_sids)}/{len(fallback_sids)} fallback calls recorded after resume",
    )


class SlowClient(threading.Thread):
    """Announces a 1,000-byte form to /incoming and sends it a byte per second."""

    def __init__(self, port: int, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port, self.stop = port, stop
        self.connected = threading.Event()

    def run(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            sock.sendall(
                f"POST {INCOMING} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                "Content-Length: 1000\r\n\r\n".encode()
            )
            self.connected.set()
            while not self.stop.wait(1.0):
                try:
                    sock.sendall(b"a")
                except OSError:
                    return


def test_slow_clients_cannot_hold_a_call_back(organisation: Organisation, web: WebProcess) -> None:
    org = organisation
    assert routed(call(web, org))
    stop = threading.Event()
    clients = [SlowClient(web.port, stop) for _ in range(16)]
    try:
        for client in clients:
            client.start()
        for client in clients:
            assert client.connected.wait(10)
        time.sleep(2.0)  # every one of them is being read by the server by now
        answers = [call(web, org) for _ in range(3)]
    finally:
        stop.set()
    for answer in answers:
        assert routed(answer), answer.body
        assert answer.seconds <= 1.0, [round(a.seconds, 2) for a in answers]
    worst = max(a.seconds for a in answers)
    figures.record("slow clients ×16", f"call answered in {worst:.1f} s")
