"""Liveness and readiness for load balancers and operators."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from .database import get_session

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 when the web process and the database answer, 503 otherwise."""
    try:
        get_session().execute(text("SELECT 1"))
    except Exception as exc:  # any database failure means "not ready"
        return jsonify(status="error", database="unavailable", error=type(exc).__name__), 503
    return jsonify(status="ok", database="ok")
