"""Domain errors of our own and how every area maps them to HTTP responses."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, render_template, request
from sqlalchemy.exc import IntegrityError
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
        if _wants_json():
            return jsonify(error=exc.description or exc.name, details={}), exc.code
        return render_template("error.html", code=exc.code, message=exc.description), exc.code

    @app.errorhandler(IntegrityError)
    def _conflicting_write(exc: IntegrityError):
        # Two people saved clashing changes at the same moment (the same email for two
        # users, say): the database's constraint refused the second. Nothing was saved.
        from .database import get_session

        log.warning("refused %s %s: %s", request.method, request.path, exc.orig)
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
