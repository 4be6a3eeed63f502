"""The two baselines Switchboard's incoming-call webhook is measured against.

``create_app()`` — constant TwiML: the cheapest Flask app that answers Twilio. It does
what any webhook must (parse the form, answer text/xml) and nothing else: no database,
no signature.

``create_store_app()`` — store then answer: the same, after one INSERT of a calls row
(the call's SID, numbers, status and start time; no customer lookup, no directory) on a
pooled autocommit connection. That is the least a product that must store the call before
the caller hears ringing can do (PRODUCT.md section 3). Like Switchboard's own call-path
connections (models/db.py, ``Database.from_config``) its PostgreSQL connections run with
``synchronous_commit=off``, each worker holds at most 2 of them, and under gevent psycopg
waits on gevent's hub the way Switchboard's does (``models.db.wait_on_gevent_hub``), so
the comparison is of the same driver doing the same round trip.

Both run under the same gunicorn settings as Switchboard, in the same run.
"""

from __future__ import annotations

import os
import queue
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, request

TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Dial action="/twilio/voice/dial-complete'
    '?round=1" callerId="+12025550111" timeout="20"><Number url="/twilio/voice/whisper">'
    "+14155557001</Number></Dial></Response>"
)
# As many connections per worker as Switchboard's call path holds (models/db.py).
POOL_SIZE = 2
_INSERT = (
    "INSERT INTO calls (call_sid, to_number, from_number, caller_number, status, started_at,"
    " unknown_line, within_hours, last_sequence, caller_declined, disposition_details)"
    " VALUES ({p}, {p}, {p}, {p}, 'ringing', {p}, false, true, -1, false, '{{}}')"
    " ON CONFLICT (call_sid) DO NOTHING"
)


def create_app() -> Flask:
    app = Flask(__name__)

    @app.post("/twilio/voice/incoming")
    def incoming() -> Response:
        """Constant TwiML, after reading the form as any webhook does."""
        request.form.get("CallSid")
        return Response(TWIML, mimetype="text/xml")

    return app


def create_store_app() -> Flask:
    app = Flask(__name__)
    pool = _Pool(_connector(os.environ["DATABASE_URL"]), POOL_SIZE)

    @app.post("/twilio/voice/incoming")
    def incoming() -> Response:
        """One INSERT of the call, committed, then constant TwiML."""
        form = request.form
        caller = form.get("From", "")
        with pool.connection() as (connection, sql):
            connection.execute(
                sql,
                (
                    form.get("CallSid"),
                    form.get("To", ""),
                    caller,
                    caller if caller.startswith("+") else None,
                    datetime.now(UTC),
                ),
            )
        return Response(TWIML, mimetype="text/xml")

    return app


def _connector(url: str) -> Callable[[], tuple[Any, str]]:
    """A function opening one autocommit connection, and the INSERT in its paramstyle."""
    if url.startswith("sqlite"):
        import sqlite3

        path = url.split(":///", 1)[1]

        def sqlite_connect() -> tuple[Any, str]:
            connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA busy_timeout=5000")
            # SQLite keeps UTC instants naive, as models.base.UTCDateTime does.
            sqlite3.register_adapter(datetime, lambda at: at.replace(tzinfo=None).isoformat(" "))
            return connection, _INSERT.format(p="?")

        return sqlite_connect

    import psycopg

    from models.db import wait_on_gevent_hub

    wait_on_gevent_hub()
    dsn = url.replace("postgresql+psycopg://", "postgresql://")

    def pg_connect() -> tuple[Any, str]:
        connection = psycopg.connect(dsn, autocommit=True, options="-c synchronous_commit=off")
        return connection, _INSERT.format(p="%s")

    return pg_connect


class _Pool:
    """At most ``size`` connections per worker, opened on first use (gevent-safe queue)."""

    def __init__(self, connect: Callable[[], tuple[Any, str]], size: int):
        self._connect = connect
        self._idle: queue.LifoQueue = queue.LifoQueue()
        self._free = size

    @contextmanager
    def connection(self) -> Iterator[tuple[Any, str]]:
        if self._idle.empty() and self._free > 0:
            self._free -= 1
            entry = self._connect()
        else:
            entry = self._idle.get(timeout=5)
        try:
            yield entry
        finally:
            self._idle.put(entry)
