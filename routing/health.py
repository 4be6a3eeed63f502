"""Liveness and readiness for load balancers and operators."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from .database import discard_session, get_session
from .deadline import DeadlineExceeded, deadline

bp = Blueprint("health", __name__)

# A database that does not answer a SELECT 1 in this long is reported down.
HEALTH_DEADLINE_S = 2.0


@bp.get("/healthz")
def healthz():
    """200 when the web process and the database answer, 503 otherwise (within 2 s)."""
    try:
        with deadline(HEALTH_DEADLINE_S):
            get_session().execute(text("SELECT 1"))
    except DeadlineExceeded:
        discard_session()  # its connection is mid-statement: never pooled again
        return jsonify(status="error", database="unavailable", error="Timeout"), 503
    except Exception as exc:  # any database failure means "not ready"
        return jsonify(status="error", database="unavailable", error=type(exc).__name__), 503
    return jsonify(status="ok", database="ok")
