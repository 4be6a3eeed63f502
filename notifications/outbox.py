"""Writing emails to the outbox. Every email is a row first; senders read rows, never views.

Rows are added to the caller's transaction: nothing is sent unless that transaction commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import EmailStatus, OutboundEmail


def enqueue_email(
    session: Session,
    *,
    now: datetime,
    kind: str,
    idempotency_key: str,
    to_email: str,
    subject: str,
    text_body: str,
    html_body: str,
    to_name: str | None = None,
    from_name: str | None = None,
    reply_to: str | None = None,
    attachments: Sequence[dict[str, Any]] = (),
    job_id: int | None = None,
    send_at: datetime | None = None,
    context: dict[str, Any] | None = None,
) -> OutboundEmail:
    """Add an email to the outbox, once per idempotency key.

    A key that is already in the outbox returns the existing row unchanged, so a retried
    request or a replayed webhook never produces a second email. ``now`` is the use case's
    clock: the email is due then unless ``send_at`` says later.
    """
    existing = session.scalar(
        select(OutboundEmail).where(OutboundEmail.idempotency_key == idempotency_key)
    )
    if existing is not None:
        return existing
    email = OutboundEmail(
        kind=kind,
        idempotency_key=idempotency_key,
        to_email=to_email,
        to_name=to_name,
        from_name=from_name,
        reply_to=reply_to,
        subject=subject,
        text_body=text_body,
        html_body=html_body,
        attachments=list(attachments),
        job_id=job_id,
        next_attempt_at=send_at or now,
        context=dict(context or {}),
    )
    session.add(email)
    session.flush()
    return email


def resend(session: Session, email: OutboundEmail, *, now: datetime) -> None:
    """Put a failed email back in the queue (the console's resend button)."""
    if email.status != EmailStatus.FAILED:
        raise ValueError("only failed emails can be resent")
    email.status = EmailStatus.PENDING
    email.attempts = 0
    email.next_attempt_at = now
    email.scheduled_for = None
