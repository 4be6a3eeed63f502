"""Customers' answers to feedback links: one per job and stage; trouble reaches a human.

Asked early (the introduction email: "how are we doing so far?") and at delivery. A low
rating, or any comment given early, opens a feedback enquiry owned by the job's account
manager (her home page and the enquiries queue list it) and emails her through the
outbox, so she can intervene while the customer can still be kept.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    Enquiry,
    EnquiryKind,
    EnquiryStatus,
    FeedbackStage,
    Job,
    JobFeedback,
    JobStatus,
)
from models.audit import record

from .jobs import emails as job_emails

LOW_RATING = 2
MAX_COMMENT = 2000
# A feedback enquiry is hers to answer within a day.
FOLLOW_UP_WITHIN = timedelta(hours=24)


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


def answer_for(session: Session, job: Job, stage: FeedbackStage) -> JobFeedback | None:
    return session.scalar(
        select(JobFeedback).where(JobFeedback.job_id == job.id, JobFeedback.stage == stage)
    )


def needs_follow_up(stage: FeedbackStage, rating: int, comment: str | None) -> bool:
    """A low rating always; a comment when asked early (at delivery it may be thanks)."""
    return rating <= LOW_RATING or (stage is FeedbackStage.EARLY and bool(comment))


def _check(job: Job, stage: FeedbackStage, rating: object, comment: str | None) -> tuple:
    if stage is FeedbackStage.DELIVERED and job.status != JobStatus.DELIVERED:
        raise FeedbackError("This job is not delivered yet.")
    if stage is FeedbackStage.EARLY and job.status == JobStatus.CANCELLED:
        raise FeedbackError("This job was cancelled.")
    value = parse_rating(rating)
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise FeedbackError(f"Please keep the comment under {MAX_COMMENT} characters.")
    if "\x00" in comment:
        raise FeedbackError("The comment contains characters that cannot be stored.")
    return value, comment or None


def record_feedback(
    session: Session,
    job: Job,
    *,
    stage: FeedbackStage = FeedbackStage.DELIVERED,
    rating: object,
    comment: str | None,
    tz: ZoneInfo,
    now: datetime,
) -> JobFeedback:
    """Store the one answer for ``job`` at ``stage``; trouble opens an enquiry and alerts."""
    if answer_for(session, job, stage) is not None:
        raise AlreadyAnswered("We already have your answer for this job. Thank you!")
    value, comment = _check(job, stage, rating, comment)
    answer = JobFeedback(job_id=job.id, stage=stage, rating=value, comment=comment, at=now)
    session.add(answer)
    if stage is FeedbackStage.DELIVERED:
        job.feedback_rating = value
        job.feedback_comment = comment
        job.feedback_at = now
    record(
        session,
        actor=f"customer:{job.customer.email}",
        entity_type="job",
        entity_id=job.id,
        action="feedback",
        details={"rating": value, "stage": stage.value},
    )
    if needs_follow_up(stage, value, comment):
        answer.enquiry = _open_enquiry(session, job, stage, value, comment, now)
        job_emails.low_rating_alert(
            session, job, tz, now, rating=value, comment=comment, stage=stage
        )
    session.flush()
    return answer


def _open_enquiry(
    session: Session,
    job: Job,
    stage: FeedbackStage,
    rating: int,
    comment: str | None,
    now: datetime,
) -> Enquiry:
    when = "so far (before delivery)" if stage is FeedbackStage.EARLY else "at delivery"
    notes = f"Job {job.reference}: rated {rating}/5 {when}."
    if comment:
        notes += f' Comment: "{comment}"'
    manager = job.account_manager
    enquiry = Enquiry(
        kind=EnquiryKind.FEEDBACK,
        status=EnquiryStatus.CLAIMED if manager else EnquiryStatus.OPEN,
        owner_id=manager.id if manager else None,
        claimed_at=now if manager else None,
        customer_id=job.customer_id,
        caller_number=job.customer.phone,
        sla_deadline=now + FOLLOW_UP_WITHIN,
        notes=notes,
        created_at=now,
    )
    session.add(enquiry)
    return enquiry
