"""The organisation: users, salespeople and their lines, hours, settings, API tokens."""

from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Integer,
    String,
    Time,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .base import E164, Base, UTCDateTime, e164_check, utcnow


class Role(enum.StrEnum):
    COORDINATOR = "coordinator"
    ACCOUNT_MANAGER = "account_manager"
    ADMIN = "admin"
    # A salesperson's own login: her calendar and availability only (see routing/security).
    SALESPERSON = "salesperson"


class User(Base):
    """Anyone who logs in: coordinators, account managers, admins."""

    __tablename__ = "users"
    __table_args__ = (
        e164_check("phone"),
        CheckConstraint("capacity >= 0", name="capacity_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(E164)
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Coordinators: whether their phone rings for incoming calls.
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    # Account managers: how many open jobs they can carry.
    capacity: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Copied into the session cookie at login and compared on every request: raising it
    # ends every session of the user (logout, password change or reset, deactivation).
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"

    def end_sessions(self) -> None:
        """Every session cookie issued to this user so far stops working."""
        self.session_epoch = (self.session_epoch or 0) + 1


class Salesperson(Base):
    __tablename__ = "salespeople"
    __table_args__ = (e164_check("phone"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    # The salesperson's new, private number (for alerts); never given to customers.
    phone: Mapped[str | None] = mapped_column(E164)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Her console login (role salesperson), if she has one.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), unique=True
    )
    # False: she works the team's business hours; True: her own SalespersonHours rows.
    own_hours: Mapped[bool] = mapped_column(Boolean, default=False)
    # Length of a standard appointment with her, offered first when booking.
    appointment_minutes: Mapped[int] = mapped_column(Integer, default=30)

    lines: Mapped[list[Line]] = relationship(back_populates="salesperson", order_by="Line.id")
    hours: Mapped[list[SalespersonHours]] = relationship(
        order_by="SalespersonHours.weekday", cascade="all, delete-orphan"
    )
    time_off: Mapped[list[TimeOff]] = relationship(
        order_by="TimeOff.first_day", cascade="all, delete-orphan"
    )
    user: Mapped[User | None] = relationship()


class SalespersonHours(Base):
    """A salesperson's own working hours on one weekday (0 = Monday), local time."""

    __tablename__ = "salesperson_hours"
    __table_args__ = (
        UniqueConstraint("salesperson_id", "weekday"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="salesperson_weekday_range"),
        CheckConstraint("opens_at < closes_at", name="salesperson_opens_before_closes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    salesperson_id: Mapped[int] = mapped_column(ForeignKey("salespeople.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(Integer)
    opens_at: Mapped[time] = mapped_column(Time)
    closes_at: Mapped[time] = mapped_column(Time)


class TimeOff(Base):
    """Days a salesperson is away (holiday, travel, training), first to last inclusive."""

    __tablename__ = "time_off"
    __table_args__ = (CheckConstraint("first_day <= last_day", name="time_off_in_order"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    salesperson_id: Mapped[int] = mapped_column(
        ForeignKey("salespeople.id", ondelete="CASCADE"), index=True
    )
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Line(Base):
    """A salesperson's old mobile number, diverted to a Twilio number of ours."""

    __tablename__ = "lines"
    __table_args__ = (e164_check("public_number"), e164_check("twilio_number"))

    id: Mapped[int] = mapped_column(primary_key=True)
    salesperson_id: Mapped[int] = mapped_column(
        ForeignKey("salespeople.id", ondelete="CASCADE"), index=True
    )
    public_number: Mapped[str] = mapped_column(E164, unique=True)
    # Calls are matched to their line by this number (Twilio's `To`).
    twilio_number: Mapped[str] = mapped_column(E164, unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    salesperson: Mapped[Salesperson] = relationship(back_populates="lines")


class OrgSettings(Base):
    """The organisation's single settings row; TIMEZONE from the environment seeds it."""

    __tablename__ = "org_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="Switchboard")
    timezone: Mapped[str | None] = mapped_column(String(64))
    enquiry_sla_minutes: Mapped[int] = mapped_column(Integer, default=15)
    ring_timeout_seconds: Mapped[int] = mapped_column(Integer, default=20)
    supervisor_email: Mapped[str | None] = mapped_column(String(254))
    # Dial-in number callers use to join teleconferences.
    teleconference_number: Mapped[str | None] = mapped_column(E164)
    # Local time, the business day before, at which customers get appointment reminders
    # (None: the default, 16:00).
    reminder_time: Mapped[time | None] = mapped_column(Time)
    # Changes whenever the directory, hours, holidays or settings change; in-process
    # caches (call routing) reload when it differs (see models/hours.py).
    directory_version: Mapped[str] = mapped_column(String(32), default="initial")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


def current_settings(session: Session) -> OrgSettings | None:
    """The organisation's settings row (the first by id), or None before anyone set it up."""
    return session.scalar(select(OrgSettings).order_by(OrgSettings.id).limit(1))


class BusinessHours(Base):
    """Opening hours of the coordinator team, per weekday (0 = Monday), local time."""

    __tablename__ = "business_hours"
    __table_args__ = (
        UniqueConstraint("weekday"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("opens_at < closes_at", name="opens_before_closes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    weekday: Mapped[int] = mapped_column(Integer)
    opens_at: Mapped[time] = mapped_column(Time)
    closes_at: Mapped[time] = mapped_column(Time)


class Holiday(Base):
    __tablename__ = "holidays"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    name: Mapped[str] = mapped_column(String(200))


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
