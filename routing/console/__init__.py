"""The coordinator console: pages people use all day."""

from __future__ import annotations

from flask import Flask

from .views import bp


def init_app(app: Flask) -> None:
    # Importing the modules attaches their views to the console blueprint.
    # (jobs and outbox pages are the jobs area's)
    from . import (  # noqa: F401
        availability,
        bookings,
        calllog,
        calls,
        capacity,
        customers,
        enquiries,
        helpers,
        jobs,
        outbox,
    )

    helpers.init_app(app)
    app.register_blueprint(bp)
