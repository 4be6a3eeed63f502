"""Switchboard's web process: everything that answers a request, not only call routing.

The top-level name comes from the product card; the package holds the Twilio voice
webhooks (``voice``: every TwiML the product returns), the coordinator console
(``console`` pages over the ``desk`` use cases), the admin pages (``admin``), the JSON
API (``api``), reports (``reports``), setting the organisation up (``setup``: CSV
import, users, demo data), the public pages reached from emails (booking changes,
feedback), the SendGrid event webhook and the ``switchboard`` command (``cli``).

Dependencies point one way: ``routing`` → ``notifications`` → ``models``, and any of
them may read ``config``. Nothing outside ``routing`` imports it: the worker process
runs without the web app. The WSGI application is ``routing:create_app()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from config import Config, load_config


def create_app(config: Config | Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask application.

    ``config`` is a ready :class:`config.Config`, or a mapping of overrides applied on top
    of the configuration read from the environment (tests pass these).
    """
    if not isinstance(config, Config):
        config = load_config(overrides=config)

    app = Flask(__name__, instance_path=config.INSTANCE_PATH, instance_relative_config=False)
    app.config.from_mapping(config.as_dict())
    app.config["SWITCHBOARD_CONFIG"] = config

    from . import clock, database, errors, health, security

    clock.init_app(app)
    database.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    app.register_blueprint(health.bp)

    from .auth import bp as auth_bp

    app.register_blueprint(auth_bp)

    from .console import init_app as init_console

    init_console(app)
    _register_optional_areas(app)
    return app


def _register_optional_areas(app: Flask) -> None:
    """Blueprints of the other product areas, registered in one place."""
    from . import areas

    areas.register(app)
