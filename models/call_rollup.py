"""The per-day roll-up of call figures the reports read instead of a year of calls.

A closed local day (in the organisation's zone) is summed once into a few small rows;
reports add those up and read only the days still open live. The roll-up never goes
stale silently: database triggers (migration 0008) write a :class:`CallDayChange` for
every change that could alter a rolled-up day's figures (a past call updated or deleted,
a customer's details becoming complete or incomplete, a job opened, closed, moved or
handed to another account manager), and calls inserted into past days are found by
their id (``CallRollupState.last_call_id``). Incoming calls start today, which is read
live, so the call's INSERT gets no extra work.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Boolean, Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base

# A call is "old" (its changes are logged for the roll-up) once it started a day ago;
# only whole local days that ended at least that long ago are rolled up.
SETTLED_HOURS = 24


class _Figures:
    """The keys and sums of a group of calls of one local day."""

    id: Mapped[int] = mapped_column(primary_key=True)
    zone: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    answered_by_id: Mapped[int | None] = mapped_column(Integer)
    disposed_by_id: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[str | None] = mapped_column(String(20))
    # The disposition as the calls table stores it (the Outcome's name).
    outcome: Mapped[str | None] = mapped_column(String(30))
    declined: Mapped[bool] = mapped_column(Boolean)
    # The caller's name, email and phone are all known.
    full: Mapped[bool] = mapped_column(Boolean)
    # The caller had a job open when she called (any account manager's).
    status_call: Mapped[bool] = mapped_column(Boolean)
    calls: Mapped[int] = mapped_column(Integer)
    ring_sum: Mapped[int] = mapped_column(BigInteger)
    ring_n: Mapped[int] = mapped_column(Integer)
    talk_sum: Mapped[int] = mapped_column(BigInteger)
    talk_n: Mapped[int] = mapped_column(Integer)


class CallDayFigures(_Figures, Base):
    """The calls of one local day that share every key, and their sums (all lines)."""

    __tablename__ = "call_day_figures"
    __table_args__ = (Index("ix_call_day_figures_zone_day", "zone", "day"),)


class CallDayLineFigures(_Figures, Base):
    """The same, line by line: what the report reads when one line is chosen."""

    __tablename__ = "call_day_line_figures"
    __table_args__ = (Index("ix_call_day_line_figures_zone_line_day", "zone", "line_id", "day"),)

    line_id: Mapped[int | None] = mapped_column(Integer)


class CallDayLines(Base):
    """Calls of one local day per line and answerer, by result (the by-line table)."""

    __tablename__ = "call_day_lines"
    __table_args__ = (Index("ix_call_day_lines_zone_day", "zone", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    zone: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    line_id: Mapped[int | None] = mapped_column(Integer)
    answered_by_id: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[str | None] = mapped_column(String(20))
    calls: Mapped[int] = mapped_column(Integer)


class CallDayManagerStatus(Base):
    """Status calls of one local day per account manager (whose job was open at the
    call), line and answerer: the status calls when one account manager is chosen."""

    __tablename__ = "call_day_manager_status"
    __table_args__ = (
        Index("ix_call_day_manager_status_zone_manager_day", "zone", "manager_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    zone: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    manager_id: Mapped[int] = mapped_column(Integer)
    line_id: Mapped[int | None] = mapped_column(Integer)
    answered_by_id: Mapped[int | None] = mapped_column(Integer)
    calls: Mapped[int] = mapped_column(Integer)


class CallRolledDay(Base):
    """A local day whose figures are in the roll-up (possibly none: a day without calls)."""

    __tablename__ = "call_rolled_days"

    zone: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class CallDayChange(Base):
    """A UTC date whose calls changed after they settled (written by triggers only).

    Append-only, so a change committed while the roll-up is being refreshed is never
    lost: the refresh deletes only the rows it read.
    """

    __tablename__ = "call_day_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    utc_day: Mapped[date] = mapped_column(Date)


class CallRollupState(Base):
    """One row: the highest call id the roll-up has looked at."""

    __tablename__ = "call_rollup_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_call_id: Mapped[int] = mapped_column(BigInteger)
