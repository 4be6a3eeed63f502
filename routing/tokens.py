"""API tokens: shown once when created, stored only as a SHA-256 hash.

The functions only flush (the view or CLI command commits) and take ``now`` from the caller.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ApiToken

PREFIX = "sb_"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def new_token(session: Session, name: str) -> tuple[str, ApiToken]:
    """Store a new token named ``name``: the only copy of its secret, and its row."""
    name = name.strip()
    if not name:
        raise ValueError("a token needs a name")
    raw = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, token_hash=hash_token(raw))
    session.add(token)
    session.flush()
    return raw, token


def create_token(session: Session, name: str) -> str:
    """Store a new token named ``name`` and return the only copy of its secret."""
    raw, _ = new_token(session, name)
    return raw


def verify_token(session: Session, raw: str | None, *, now: datetime) -> ApiToken | None:
    """The live token whose secret is ``raw``, or None."""
    if not raw:
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(raw.strip())))
    if token is None or token.revoked_at is not None:
        return None
    token.last_used_at = now
    return token


def list_tokens(session: Session) -> list[ApiToken]:
    """Every token, live ones first, newest first."""
    return list(
        session.scalars(
            select(ApiToken).order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())
        )
    )


def revoke_token(session: Session, token_id: int, *, now: datetime) -> ApiToken | None:
    """Stop a token working from now on (kept for the record). None if there is no such token."""
    token = session.get(ApiToken, token_id)
    if token is not None and token.revoked_at is None:
        token.revoked_at = now
        session.flush()
    return token
