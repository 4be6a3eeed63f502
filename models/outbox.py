"""The outbox: every email Switchboard sends is a row here first, and the row is the truth."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow


class EmailStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class OutboundEmail(Base):
    __tablename__ = "outbound_emails"
    __table_args__ = (
        Index("ix_outbound_emails_due", "status", "next_attempt_at"),
        # Reports: emails of one kind sent in a period (ETA emails per week).
        Index("ix_outbound_emails_kind_sent", "kind", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    to_email: Mapped[str] = mapped_column(String(254))
    to_name: Mapped[str | None] = mapped_column(String(200))
    from_name: Mapped[str | None] = mapped_column(String(200))
    reply_to: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(500))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    # [{"filename": "invite.ics", "content_type": "text/calendar", "content": "<text>"}]
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[EmailStatus] = mapped_column(
        Enum(EmailStatus, native_enum=False, length=20), default=EmailStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A worker that claimed the row holds it until then; an expired lease may be re-claimed.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(200), index=True)
    delivery_state: Mapped[str | None] = mapped_column(String(30))
    # What the email says in structured form (e.g. the ETA it announces), so later changes
    # can be compared with what the recipient was told without parsing bodies.
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The due time a worker's scheduler job was registered for (None: not scheduled yet).
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    events: Mapped[list[EmailEvent]] = relationship(
        back_populates="email", order_by="EmailEvent.id", cascade="all, delete-orphan"
    )


class EmailEvent(Base):
    """A delivery event from SendGrid's event webhook (delivered, bounce, open …)."""

    __tablename__ = "email_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    sg_event_id: Mapped[str] = mapped_column(String(100), unique=True)
    email_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_emails.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(30))
    recipient: Mapped[str | None] = mapped_column(String(254))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    email: Mapped[OutboundEmail | None] = relationship(back_populates="events")
