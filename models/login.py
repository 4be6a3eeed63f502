"""Failed console logins, kept so every web process throttles guessing the same way."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime


class LoginFailure(Base):
    """One wrong password (or unknown email) typed on the login page.

    ``email`` is the address as typed, lowercased, whether or not a user has it: the
    throttle treats unknown emails exactly as known ones. Rows older than the throttle's
    window are pruned as new ones arrive.
    """

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_email_at", "email", "at"),
        Index("ix_login_failures_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    # The client's address as the web process saw it (IPv4 or IPv6 text).
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
