"""The call path: every Twilio voice webhook and every TwiML document the product returns.

Diverted calls put through to the coordinators (views.py, the incoming-call fast path in
incoming.py, the routing table), the services that record calls (calls.py), transfers
and click-to-call placed from the console (transfer.py, transfer_twiml.py),
teleconference PINs, and the one place TwiML is built (twiml.py). Every webhook answers
through ``safety.never_fail`` and commits once.
"""

from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy import text

from ..clock import app_now
from ..database import get_db
from ..deadline import deadline
from ..security import csrf
from . import signature, transfer_twiml
from .incoming import IncomingCallHandler
from .routing_table import Defaults, RoutingTableCache
from .views import CACHE_EXTENSION, bp

log = logging.getLogger(__name__)
WARM_UP_DEADLINE_S = 10.0


def init_app(app: Flask) -> None:
    """Signature check on every /twilio/ path, the voice webhooks and their cache."""
    signature.init_app(app)
    config = app.config["SWITCHBOARD_CONFIG"]
    cache = app.extensions[CACHE_EXTENSION] = RoutingTableCache(
        Defaults(
            timezone=config.TIMEZONE,
            enquiry_sla_minutes=config.ENQUIRY_SLA_MINUTES,
            ring_timeout_seconds=config.RING_TIMEOUT_SECONDS,
        )
    )
    csrf.exempt(bp)
    app.register_blueprint(bp)
    csrf.exempt(transfer_twiml.bp)
    app.register_blueprint(transfer_twiml.bp)
    # POST /twilio/voice/incoming is answered in front of Flask (see incoming.py).
    app.wsgi_app = IncomingCallHandler(app, cache, app.wsgi_app)  # type: ignore[method-assign]


def warm_up(app: Flask) -> None:
    """Connect and load the directory before the first call reaches this web worker.

    Run by gunicorn as each worker starts (gunicorn.conf.py): otherwise the first calls
    after a deploy or a worker restart all connect and load at once, and on a busy
    machine some of them miss /incoming's deadline and get the fallback. A database
    that is down now is no reason not to start: the calls get the fallback until it is up.
    """
    if CACHE_EXTENSION not in getattr(app, "extensions", {}):
        return  # another WSGI app under the same gunicorn settings (a benchmark's baseline)
    database = get_db(app)
    cache: RoutingTableCache = app.extensions[CACHE_EXTENSION]
    try:
        with deadline(WARM_UP_DEADLINE_S):
            with database.statement_connection() as connection:
                connection.fetch_one(text("SELECT 1"), {})
            with database.Session() as session:
                cache.get(session, now=app_now(app))
    except Exception as error:  # DeadlineExceeded included
        log.warning("web worker starts cold: the database did not answer (%s)", error)
