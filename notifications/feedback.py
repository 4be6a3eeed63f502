"""The customer's answer to the delivered email: one rating per job, low ones escalated."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from models import Job, JobStatus, utcnow
from models.audit import record

from . import job_emails

LOW_RATING = 2
MAX_COMMENT = 2000


class FeedbackError(Exception):
    """The answer cannot be taken; the message is shown to the customer."""


class AlreadyAnswered(FeedbackError):
    pass


def parse_rating(raw: object) -> int:
    try:
        rating = int(str(raw).strip())
    except ValueError:
        raise FeedbackError("Choose a rating from 1 to 5.") from None
    if not 1 <= rating <= 5:
        raise FeedbackError("Choose a rating from 1 to 5.")
    return rating


def record_feedback(
    session: Session,
    job: Job,
    *,
    rating: object,
    comment: str | None,
    tz: ZoneInfo,
    now: datetime | None = None,
) -> None:
    """Store the one answer for ``job``; a rating of 2 or less alerts the account manager."""
    if job.feedback_at is not None:
        raise AlreadyAnswered("We already have your answer for this job. Thank you!")
    if job.status != JobStatus.DELIVERED:
        raise FeedbackError("This job is not delivered yet.")
    value = parse_rating(rating)
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise FeedbackError(f"Please keep the comment under {MAX_COMMENT} characters.")
    if "\x00" in comment:
        raise FeedbackError("The comment contains characters that cannot be stored.")
    job.feedback_rating = value
    job.feedback_comment = comment or None
    now = now or utcnow()
    job.feedback_at = now
    record(
        session,
        actor=f"customer:{job.customer.email}",
        entity_type="job",
        entity_id=job.id,
        action="feedback",
        details={"rating": value},
    )
    session.flush()
    if value <= LOW_RATING:
        job_emails.low_rating_alert(session, job, tz, now)
