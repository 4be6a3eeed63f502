"""Domain errors of our own and how every area maps them to HTTP responses."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, render_template, request
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class SwitchboardError(Exception):
    """A rule of the product was broken by the request; the message is shown to the user."""

    status_code = 400

    def __init__(self, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(SwitchboardError):
    status_code = 404


class Conflict(SwitchboardError):
    status_code = 409


class ValidationFailed(SwitchboardError):
    status_code = 422


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/sendgrid/")) or request.accept_mimetypes.best == (
        "application/json"
    )


def _constraint(exc: IntegrityError) -> str:
    diag = getattr(exc.orig, "diag", None)  # psycopg
    name = getattr(diag, "constraint_name", None)
    if name:
        return name
    # SQLite names the constraint or columns, never the values.
    return str(exc.orig) if type(exc.orig).__module__.startswith("sqlite3") else "a constraint"


def init_app(app: Flask) -> None:
    @app.errorhandler(SwitchboardError)
    def _domain_error(exc: SwitchboardError):
        if _wants_json():
            return jsonify(error=exc.message, details=exc.details), exc.status_code
        return render_template("error.html", code=exc.status_code, message=exc.message), (
            exc.status_code
        )

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        # Keep what the exception says besides its body: Allow on a 405, Retry-After …
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        if _wants_json():
            return jsonify(error=exc.description or exc.name, details={}), exc.code, headers
        if request.path.startswith("/twilio/"):
            # Webhooks: no console page for Twilio, a line it logs.
            text = f"{exc.code} {exc.name}: {exc.description}\n"
            return text, exc.code, [*headers, ("Content-Type", "text/plain; charset=utf-8")]
        page = render_template("error.html", code=exc.code, message=exc.description)
        return page, exc.code, headers

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(PoolTimeout)
    def _database_unavailable(exc: Exception):
        # Refused, dropped or timed-out connections: the request may work in a moment.
        log.error(
            "database unavailable on %s %s: %s", request.method, request.path, type(exc).__name__
        )
        from .database import get_session

        try:
            get_session().rollback()
        except Exception:
            log.warning("rollback after a database failure failed too")
        message = "The database is not answering right now. Try again in a moment."
        headers = {"Retry-After": "5"}
        if _wants_json():
            return jsonify(error=message, details={}), 503, headers
        return render_template("error.html", code=503, message=message), 503, headers

    @app.errorhandler(IntegrityError)
    def _conflicting_write(exc: IntegrityError):
        # Two people saved clashing changes at the same moment (the same email for two
        # users, say): the database's constraint refused the second. Nothing was saved.
        from .database import get_session

        # The constraint's name only: the database's message quotes the values (customer data).
        log.warning(
            "refused %s %s: %s on %s",
            request.method,
            request.path,
            type(exc.orig).__name__,
            _constraint(exc),
        )
        try:
            get_session().rollback()
        except Exception:
            log.exception("rollback after a refused write failed")
        message = (
            "This change clashes with one saved at the same moment, so nothing was saved. "
            "Reload the page and try again."
        )
        if _wants_json():
            return jsonify(error=message, details={}), 409
        return render_template("error.html", code=409, message=message), 409

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        from .database import get_session

        log.exception("unhandled error on %s %s", request.method, request.path)
        try:
            get_session().rollback()
        except Exception:
            log.exception("rollback after an unhandled error failed")
        if _wants_json():
            return jsonify(error="internal error", details={}), 500
        return render_template("error.html", code=500, message="Something went wrong."), 500
