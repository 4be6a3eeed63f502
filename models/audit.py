"""Who changed what: ETAs, assignments, dispositions, directory edits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from .base import Base, UTCDateTime, utcnow


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_entity", "entity_type", "entity_id"),
        # Reports: one kind of action in a period (e.g. ETA overrides of a full day).
        Index("ix_audit_log_action_at", "action", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # "api:<token name>", "cli", "worker" or a user's email.
    actor: Mapped[str] = mapped_column(String(254))
    entity_type: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[int] = mapped_column()
    action: Mapped[str] = mapped_column(String(50))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def record(
    session: Session,
    *,
    actor: str,
    entity_type: str,
    entity_id: int,
    action: str,
    details: dict[str, Any] | None = None,
    actor_user_id: int | None = None,
) -> AuditEntry:
    """Add an audit entry to the caller's transaction."""
    entry = AuditEntry(
        actor=actor,
        actor_user_id=actor_user_id,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        details=details or {},
    )
    session.add(entry)
    return entry
