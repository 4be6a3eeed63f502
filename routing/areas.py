"""Where every product area's blueprint is registered with the app."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Register the blueprints of voice, API, email events and admin areas."""
    from .admin import bp as admin_bp

    app.register_blueprint(admin_bp)
    from .voice import init_app as init_voice

    init_voice(app)  # also checks Twilio's signature on every /twilio/ path
    from .reports import bp as reports_bp

    app.register_blueprint(reports_bp)
    from .api import bp as api_bp

    app.register_blueprint(api_bp)
    from .sendgrid_events import bp as sendgrid_events_bp

    app.register_blueprint(sendgrid_events_bp)
    from .feedback import bp as feedback_bp

    app.register_blueprint(feedback_bp)
    from .bookings import bp as bookings_bp

    app.register_blueprint(bookings_bp)
