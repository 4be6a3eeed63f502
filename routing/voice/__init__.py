"""Voice routing: Twilio webhooks that put diverted calls through to coordinators."""

from __future__ import annotations

from flask import Flask

from ..security import csrf
from . import signature
from .directory import Defaults, DirectoryCache
from .incoming import IncomingCallHandler
from .views import CACHE_EXTENSION, bp


def init_app(app: Flask) -> None:
    """Signature check on every /twilio/ path, the voice webhooks and their cache."""
    signature.init_app(app)
    config = app.config["SWITCHBOARD_CONFIG"]
    cache = app.extensions[CACHE_EXTENSION] = DirectoryCache(
        Defaults(
            timezone=config.TIMEZONE,
            enquiry_sla_minutes=config.ENQUIRY_SLA_MINUTES,
            ring_timeout_seconds=config.RING_TIMEOUT_SECONDS,
        )
    )
    csrf.exempt(bp)
    app.register_blueprint(bp)
    # POST /twilio/voice/incoming is answered in front of Flask (see incoming.py).
    app.wsgi_app = IncomingCallHandler(app, cache, app.wsgi_app)  # type: ignore[method-assign]
