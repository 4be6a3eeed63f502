"""Signed, expiring feedback links: no login, one job and stage each, useless once expired.

A link carries the job, the stage it asks about (early: "how are we doing so far?" in the
introduction email; delivered: the delivered email) and the instant it expires, signed
with ``SECRET_KEY``. The expiry is checked against the caller's clock, so it is tested
with injected times. Links from before expiry existed (signed without one) are
recognised and treated as expired, never as valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer

from models import FeedbackStage

SALT = "job-feedback-v2"
LEGACY_SALT = "job-feedback"  # links without an expiry (delivered emails before 2026-12)

# How long a link answers after its email was written.
LIFETIME = {
    FeedbackStage.EARLY: timedelta(days=60),
    FeedbackStage.DELIVERED: timedelta(days=30),
}


class BadLink(Exception):
    """The link was altered or never ours: nothing can be recorded with it."""


class ExpiredLink(Exception):
    """The link is genuine but too old; ``job_id`` says whose job it was."""

    def __init__(self, job_id: int) -> None:
        super().__init__("This feedback link has expired.")
        self.job_id = job_id


@dataclass(frozen=True)
class FeedbackLink:
    job_id: int
    stage: FeedbackStage
    expires_at: datetime


def make_token(secret_key: str, job_id: int, stage: FeedbackStage, now: datetime) -> str:
    expires = int((now + LIFETIME[stage]).timestamp())
    return URLSafeSerializer(secret_key, salt=SALT).dumps(
        {"job": job_id, "stage": stage.value, "exp": expires}
    )


def feedback_url(
    base_url: str, secret_key: str, job_id: int, stage: FeedbackStage, now: datetime
) -> str:
    return f"{base_url.rstrip('/')}/feedback/{make_token(secret_key, job_id, stage, now)}"


def read_token(secret_key: str, token: str, now: datetime) -> FeedbackLink:
    """The link's job and stage; BadLink when altered, ExpiredLink when too old."""
    try:
        data = URLSafeSerializer(secret_key, salt=SALT).loads(token)
    except BadSignature:
        legacy_job = _legacy_job(secret_key, token)
        if legacy_job is not None:
            raise ExpiredLink(legacy_job) from None
        raise BadLink("This feedback link is not valid.") from None
    try:
        job_id, stage, expires = data["job"], FeedbackStage(data["stage"]), data["exp"]
    except (KeyError, TypeError, ValueError):
        raise BadLink("This feedback link is not valid.") from None
    if not isinstance(job_id, int) or not isinstance(expires, int):
        raise BadLink("This feedback link is not valid.")
    try:
        expires_at = datetime.fromtimestamp(expires, UTC)
    except (OverflowError, OSError, ValueError):
        raise BadLink("This feedback link is not valid.") from None
    if now >= expires_at:
        raise ExpiredLink(job_id)
    return FeedbackLink(job_id, stage, expires_at)


def _legacy_job(secret_key: str, token: str) -> int | None:
    try:
        data = URLSafeSerializer(secret_key, salt=LEGACY_SALT).loads(token)
    except BadSignature:
        return None
    job_id = data.get("job") if isinstance(data, dict) else None
    return job_id if isinstance(job_id, int) else None
