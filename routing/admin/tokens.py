"""Admin: API tokens for /api/v1 — who uses the API, when it was last used, revocation."""

from __future__ import annotations

from flask import render_template, request

from ..clock import request_now
from ..database import get_session
from ..errors import SwitchboardError
from ..setup import admin as setup
from ..tokens import list_tokens
from .views import _actor, _done, _failed, bp


@bp.get("/tokens")
def tokens():
    """API tokens for /api/v1: who uses the API, when it was last used, and revocation."""
    return render_template(
        "admin/tokens.html", tokens=list_tokens(get_session()), errors={}, form={}, new_token=None
    )


@bp.post("/tokens")
def add_token():
    """Create an API token and show it this once (only its hash is kept)."""
    session = get_session()
    try:
        raw = setup.issue_token(session, _actor(), name=request.form.get("name"))
    except SwitchboardError as exc:
        return _failed("admin/tokens.html", exc, tokens=list_tokens(session), new_token=None)
    session.commit()
    # Rendered, not flashed: a flash would put the secret in the session cookie.
    response = render_template(
        "admin/tokens.html", tokens=list_tokens(session), errors={}, form={}, new_token=raw
    )
    return response, 201, {"Cache-Control": "no-store"}


@bp.post("/tokens/<int:token_id>/revoke")
def revoke(token_id: int):
    """Revoke an API token: requests carrying it get 401 from now on."""
    token = setup.revoke_api_token(get_session(), _actor(), token_id=token_id, now=request_now())
    return _done(f"Revoked the API token {token.name!r}.", "admin.tokens")
