"""The coordinator console: pages people use all day."""

from __future__ import annotations

from flask import Flask

from .views import bp


def init_app(app: Flask) -> None:
    # Importing the modules attaches their views to the console blueprint.
    from . import calls, customers, enquiries, helpers, twiml  # noqa: F401
    from . import jobs, outbox  # noqa: F401  (jobs and outbox pages)

    helpers.init_app(app)
    app.register_blueprint(bp)
    app.register_blueprint(twiml.bp)
