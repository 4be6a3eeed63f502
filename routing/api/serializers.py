"""Jobs as the API shows them: plain JSON, times in UTC ISO 8601."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Job, OutboundEmail, User
from models.hours import BusinessCalendar
from notifications.capacity import overrides_of
from notifications.jobs.eta import Eta


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _eta(day: Any, at: datetime | None) -> str | None:
    if day is None and at is None:
        return None
    return Eta(day=day, at=at).iso()


def _manager(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"name": user.name, "email": user.email, "phone": user.phone}


def job_summary_json(job: Job, tz: ZoneInfo) -> dict[str, Any]:
    """A job as the list shows it: no history or emails (GET the job for those)."""
    eta = Eta.of_job(job)
    return {
        "reference": job.reference,
        "status": job.status.value,
        "description": job.description,
        "eta": eta.iso(),
        "eta_kind": "date" if eta.day else "datetime",
        "eta_display": eta.describe(tz),
        "customer": {
            "name": job.customer.name,
            "email": job.customer.email,
            "phone": job.customer.phone,
            "company": job.customer.company,
        },
        "account_manager": _manager(job.account_manager),
        "created_at": _iso(job.created_at),
        "updated_at": _iso(job.updated_at),
        "delivered_at": _iso(job.delivered_at),
    }


def job_json(session: Session, job: Job, *, timezone: str = "UTC") -> dict[str, Any]:
    """The job with its customer, manager, ETA history and every email about it."""
    tz = BusinessCalendar.load(session, timezone).timezone
    eta = Eta.of_job(job)
    emails = session.scalars(
        select(OutboundEmail).where(OutboundEmail.job_id == job.id).order_by(OutboundEmail.id)
    ).all()
    overrides = overrides_of(session, job.id)
    return {
        "reference": job.reference,
        "status": job.status.value,
        "description": job.description,
        "eta": eta.iso(),
        "eta_kind": "date" if eta.day else "datetime",
        "eta_display": eta.describe(tz),
        "customer": {
            "name": job.customer.name,
            "email": job.customer.email,
            "phone": job.customer.phone,
            "company": job.customer.company,
            "email_undeliverable": job.customer.email_undeliverable,
        },
        "account_manager": _manager(job.account_manager),
        "created_at": _iso(job.created_at),
        "updated_at": _iso(job.updated_at),
        "delivered_at": _iso(job.delivered_at),
        "feedback": (
            {
                "rating": job.feedback_rating,
                "comment": job.feedback_comment,
                "at": _iso(job.feedback_at),
            }
            if job.feedback_at
            else None
        ),
        "eta_history": [
            {
                "old_eta": _eta(change.old_eta_date, change.old_eta_at),
                "new_eta": _eta(change.new_eta_date, change.new_eta_at),
                "reason": change.reason,
                "changed_by": change.changed_by,
                "at": _iso(change.at),
            }
            for change in job.eta_changes
        ],
        "eta_overrides": [
            {
                "date": override.day.isoformat(),
                "booked": override.booked,
                "capacity": override.capacity,
                "reason": override.reason,
                "by": override.actor,
                "at": _iso(override.at),
            }
            for override in overrides
        ],
        "emails": [
            {
                "kind": email.kind,
                "to": email.to_email,
                "subject": email.subject,
                "status": email.status.value,
                "attempts": email.attempts,
                "send_at": _iso(email.next_attempt_at),
                "sent_at": _iso(email.sent_at),
                "last_error": email.last_error,
                "delivery_state": email.delivery_state,
            }
            for email in emails
        ],
    }
