"""Daily delivery capacity (how many open jobs may be due on one local day) and the
record of every time someone promised a day that had no room anyway."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow


class DeliveryCapacity(Base):
    """The organisation's one capacity row: jobs per business day, or None (no limit)."""

    __tablename__ = "delivery_capacity"
    __table_args__ = (CheckConstraint("per_day >= 0", name="per_day_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    per_day: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class DeliveryDay(Base):
    """One local day's own capacity, which wins over the per-day figure (0 = no deliveries)."""

    __tablename__ = "delivery_days"
    __table_args__ = (CheckConstraint("jobs >= 0", name="jobs_not_negative"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    jobs: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class EtaOverride(Base):
    """A job given an ETA on a day without room: who chose it, why, and that day's load."""

    __tablename__ = "eta_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    # The ETA change it belongs to; None when the job was created on that day.
    eta_change_id: Mapped[int | None] = mapped_column(
        ForeignKey("eta_changes.id", ondelete="CASCADE")
    )
    day: Mapped[date] = mapped_column(Date)
    booked: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(254))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
