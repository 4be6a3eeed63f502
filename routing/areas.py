"""Where every product area's blueprint is registered with the app."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Register the blueprints of voice, API, email events and admin areas."""
    from .reports import bp as reports_bp

    app.register_blueprint(reports_bp)
