"""The web process's clock: one instant per request, read at the edge.

Views, webhooks and CLI commands take the time here once and pass it down; services
never read the real clock. ``app.extensions["clock"]`` is the source (the real UTC clock
unless a test installs its own), so a whole request can be run at any instant.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import Flask, current_app, g

from models import utcnow

EXTENSION = "clock"


def init_app(app: Flask) -> None:
    """Install the configuration's ``CLOCK`` (tests) or else the real UTC clock."""
    clock: Callable[[], datetime] = app.config.get("CLOCK") or utcnow
    app.extensions.setdefault(EXTENSION, clock)


def request_now() -> datetime:
    """This request's instant: read from the app's clock on first use, then kept in ``g``."""
    if "now" not in g:
        g.now = current_app.extensions.get(EXTENSION, utcnow)()
    return g.now


def app_now(app: Flask | None = None) -> datetime:
    """The app's clock outside a request (CLI commands): read it once per command."""
    return (app or current_app).extensions.get(EXTENSION, utcnow)()
