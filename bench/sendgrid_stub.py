"""A loopback SendGrid ``POST /v3/mail/send`` that answers as scripted and counts every key.

Used by the dispatch benchmark and the reliability suite. Each request's outbox key (the
``switchboard_key`` custom arg) is recorded when it arrives and again when the stub
accepts it (``202`` with ``X-Message-Id``): a key accepted twice is an email sent twice,
an expected key never accepted is an email lost.

Answers are scripted per key, for its successive requests (``plan``), or for the next
requests whatever their key (``then``); anything unscripted is accepted after ``delay``:

* ``("202",)`` accept; ``("stall", s)`` accept after ``s`` seconds (a slow SendGrid);
* ``("429", s)`` rate limited, ``X-RateLimit-Reset`` = now + ``s`` seconds (epoch seconds,
  rounded up, as SendGrid sends it);
* ``("500",)`` / ``("503",)`` server errors; ``("400",)`` an invalid recipient (refused);
* ``("hang", s)`` no answer for ``s`` seconds, then the connection is dropped: a request
  that never got through (a hung front end), past the client's read timeout;
* ``("reset",)`` the connection is reset (TCP RST) without an answer.

Nothing but an accepted request counts as sent: SendGrid did not process the others.
"""

from __future__ import annotations

import json
import math
import socket
import struct
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Answer = tuple  # ("202",) ("stall", 1.5) ("429", 1) ("500",) ("503",) ("hang", 3) ("reset",)
KEY_ARG = "switchboard_key"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # two workers' pools connect at once

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a dropped or reset connection is what the script asked for


class SendGridStub:
    """Start with ``with SendGridStub() as stub:``; ``stub.url`` is the API host."""

    def __init__(self, delay: float = 0.005):
        self.delay = delay
        self.lock = threading.Lock()
        self.received: Counter[str] = Counter()
        self.accepted: Counter[str] = Counter()
        self.accepted_at: dict[str, list[float]] = defaultdict(list)  # time.monotonic()
        self.answers: Counter[str] = Counter()
        self.in_progress: dict[int, tuple[str, int]] = {}  # thread -> (key, client port)
        # Requests that arrived while a 429's reset was still ahead (more than a moment
        # after the 429 was sent, so requests already under way do not count).
        self.rate_limit_violations = 0
        self._plans: dict[str, deque[Answer]] = {}
        self._next: deque[Answer] = deque()
        self._rate_limited: tuple[float, float] | None = None  # (429 sent at, reset epoch)
        self._sequence = 0
        self._server: _Server | None = None

    # -- scripting -----------------------------------------------------------------
    def plan(self, key: str, answers: Iterable[Answer]) -> None:
        """The answers to ``key``'s next requests, in order; then it is accepted."""
        with self.lock:
            self._plans[key] = deque(answers)

    def then(self, answers: Iterable[Answer]) -> None:
        """The answers to the next requests, whatever their key."""
        with self.lock:
            self._next.extend(answers)

    def clear(self) -> None:
        with self.lock:
            self.received.clear()
            self.accepted.clear()
            self.accepted_at.clear()
            self.answers.clear()
            self._plans.clear()
            self._next.clear()
            self.rate_limit_violations = 0
            self._rate_limited = None

    # -- results ----------------------------------------------------------------------
    def doubled(self) -> dict[str, int]:
        with self.lock:
            return {key: n for key, n in self.accepted.items() if n > 1}

    def missing(self, keys: Iterable[str]) -> list[str]:
        with self.lock:
            return [key for key in keys if not self.accepted[key]]

    def in_flight(self, ports: set[int] | None = None) -> set[str]:
        """Keys being answered now (of the clients on ``ports`` only, if given)."""
        with self.lock:
            return {
                key for key, port in self.in_progress.values() if ports is None or port in ports
            }

    def faults(self) -> int:
        with self.lock:
            return sum(n for answer, n in self.answers.items() if answer != "202")

    # -- lifecycle ----------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "start the stub first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> SendGridStub:
        stub = self

        class Handler(_Handler):
            pass

        Handler.stub = stub
        self._server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> SendGridStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the handler's side ----------------------------------------------------------------
    def _answer_for(self, key: str, port: int) -> Answer:
        with self.lock:
            self.received[key] += 1
            self.in_progress[threading.get_ident()] = (key, port)
            now = time.time()
            if self._rate_limited is not None:
                sent_at, reset = self._rate_limited
                if now >= reset:
                    self._rate_limited = None
                elif now > sent_at + 0.25:
                    self.rate_limit_violations += 1
            plan = self._plans.get(key)
            if plan:
                return plan.popleft()
            if self._next:
                return self._next.popleft()
        return ("202",)

    def _accept(self, key: str) -> str:
        with self.lock:
            self.accepted[key] += 1
            self.accepted_at[key].append(time.monotonic())
            self.answers["202"] += 1
            self._sequence += 1
            return f"stub-{self._sequence}"

    def _count(self, answer: str) -> None:
        with self.lock:
            self.answers[answer] += 1

    def _done(self) -> None:
        with self.lock:
            self.in_progress.pop(threading.get_ident(), None)

    def _rate_limit(self, seconds: float) -> int:
        reset = math.ceil(time.time() + seconds)
        with self.lock:
            self.answers["429"] += 1
            self._rate_limited = (time.time(), reset)
        return reset


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like api.sendgrid.com
    stub: SendGridStub

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        try:
            key = str(json.loads(body).get("custom_args", {}).get(KEY_ARG, ""))
            valid = len(body) == length
        except (ValueError, AttributeError):
            key, valid = "", False
        stub = self.stub
        if not valid:
            # A request cut short (its sender was killed mid-write): SendGrid refuses it.
            stub._count("truncated")
            self._send(400, b'{"errors":[{"message":"Bad Request"}]}')
            self.close_connection = True
            return
        answer = stub._answer_for(key, self.client_address[1])
        try:
            self._respond(stub, key, answer)
        finally:
            stub._done()

    def _respond(self, stub: SendGridStub, key: str, answer: Answer) -> None:
        kind = answer[0]
        if kind in ("202", "stall"):
            time.sleep(answer[1] if kind == "stall" else stub.delay)
            if kind == "stall":
                stub._count("stall")
            message_id = stub._accept(key)
            self._send(202, b"", {"X-Message-Id": message_id})
        elif kind == "429":
            reset = stub._rate_limit(answer[1] if len(answer) > 1 else 1)
            body = b'{"errors":[{"message":"too many requests"}]}'
            self._send(429, body, {"X-RateLimit-Reset": str(reset)})
        elif kind in ("500", "503"):
            stub._count(kind)
            time.sleep(stub.delay)
            self._send(int(kind), b'{"errors":[{"message":"internal error"}]}')
        elif kind == "400":
            stub._count("400")
            time.sleep(stub.delay)
            body = {
                "errors": [
                    {
                        "field": "personalizations.0.to",
                        "message": "Does not contain a valid address.",
                    }
                ]
            }
            self._send(400, json.dumps(body).encode())
        elif kind == "hang":
            stub._count("hang")
            time.sleep(answer[1])
            self._drop()
        elif kind == "reset":
            stub._count("reset")
            self._drop()
        else:
            raise ValueError(f"unknown scripted answer {answer!r}")

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            self.close_connection = True

    def _drop(self) -> None:
        """Close with a TCP reset: the client gets no answer at all."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def finish(self) -> None:
        try:
            super().finish()
        except (OSError, ValueError):
            pass  # dropped on purpose

    def log_message(self, *args: object) -> None:
        pass
