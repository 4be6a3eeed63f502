"""Figures a sales manager asks for: were calls answered, what became of them, were promises kept.

Every figure is one aggregate query over an indexed time range, so the page stays fast on a
database with millions of calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import Integer, case, func, select
from sqlalchemy.orm import Session

from models import (
    BusinessCalendar,
    Call,
    CallResult,
    Customer,
    EmailStatus,
    Enquiry,
    EnquiryStatus,
    EtaChange,
    Job,
    JobStatus,
    Line,
    OutboundEmail,
    Outcome,
    Salesperson,
    User,
)


class InvalidPeriod(ValueError):
    """The requested report period cannot be shown; the message says why."""


@dataclass(frozen=True)
class Period:
    """Whole local days ``first`` to ``last`` (inclusive) as a UTC half-open range."""

    first: date
    last: date
    start: datetime
    end: datetime

    @classmethod
    def of_days(cls, calendar: BusinessCalendar, first: date, last: date) -> Period:
        if last < first:
            raise InvalidPeriod("the period ends before it starts")
        if (last - first).days > 366:
            raise InvalidPeriod("a report covers at most one year")
        start = datetime.combine(first, time(0), tzinfo=calendar.timezone)
        end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=calendar.timezone)
        return cls(first, last, start, end)


@dataclass
class LineFigures:
    salesperson: str
    public_number: str
    calls: int
    answered: int
    missed: int


@dataclass
class CoordinatorFigures:
    name: str
    answered: int
    disposed: int
    avg_talk_seconds: int | None


@dataclass
class Report:
    period: Period
    calls: int = 0
    answered: int = 0
    voicemail: int = 0
    abandoned: int = 0
    no_answer: int = 0
    fallback: int = 0
    unknown_line: int = 0
    avg_ring_seconds: int | None = None
    avg_talk_seconds: int | None = None
    outcomes: dict[str, int] = field(default_factory=dict)
    caller_declined: int = 0
    undisposed_answered: int = 0
    new_leads: int = 0
    enquiries: int = 0
    enquiries_resolved: int = 0
    enquiries_within_sla: int = 0
    enquiries_open_now: int = 0
    enquiries_breached_now: int = 0
    jobs_created: int = 0
    jobs_delivered: int = 0
    jobs_delivered_late: int = 0
    eta_changes: int = 0
    emails_sent: int = 0
    emails_failed: int = 0
    emails_bounced: int = 0
    lines: list[LineFigures] = field(default_factory=list)
    coordinators: list[CoordinatorFigures] = field(default_factory=list)

    @property
    def answer_rate(self) -> float | None:
        """Share of calls a coordinator took (teleconference dial-ins excluded)."""
        return self.answered / self.calls if self.calls else None

    @property
    def sla_rate(self) -> float | None:
        return (
            self.enquiries_within_sla / self.enquiries_resolved if self.enquiries_resolved else None
        )


def _count(expr) -> object:
    return func.coalesce(func.sum(case((expr, 1), else_=0)), 0)


def build_report(session: Session, period: Period, now: datetime) -> Report:
    """All figures for ``period``; ``now`` decides what counts as open or breached."""
    report = Report(period)
    in_period = (Call.started_at >= period.start) & (Call.started_at < period.end)
    not_teleconference = func.coalesce(Call.result, "") != CallResult.TELECONFERENCE.value
    row = session.execute(
        select(
            _count(not_teleconference),
            _count(Call.result == CallResult.ANSWERED.value),
            _count(Call.result == CallResult.VOICEMAIL.value),
            _count(Call.result == CallResult.ABANDONED.value),
            _count(Call.result == CallResult.NO_ANSWER.value),
            _count(Call.result == CallResult.FALLBACK.value),
            _count(Call.unknown_line.is_(True)),
            func.avg(Call.ring_seconds),
            func.avg(Call.talk_seconds),
            _count(Call.caller_declined.is_(True)),
            _count((Call.result == CallResult.ANSWERED.value) & Call.outcome.is_(None)),
        ).where(in_period)
    ).one()
    (
        report.calls,
        report.answered,
        report.voicemail,
        report.abandoned,
        report.no_answer,
        report.fallback,
        report.unknown_line,
        avg_ring,
        avg_talk,
        report.caller_declined,
        report.undisposed_answered,
    ) = (int(v) if isinstance(v, int) else v for v in row)
    report.avg_ring_seconds = round(avg_ring) if avg_ring is not None else None
    report.avg_talk_seconds = round(avg_talk) if avg_talk is not None else None

    report.outcomes = {outcome.value: 0 for outcome in Outcome}
    for outcome, count in session.execute(
        select(Call.outcome, func.count())
        .where(in_period, Call.outcome.is_not(None))
        .group_by(Call.outcome)
    ):
        report.outcomes[Outcome(outcome).value] = count

    report.new_leads = (
        session.scalar(
            select(func.count()).where(
                Customer.is_lead.is_(True),
                Customer.created_at >= period.start,
                Customer.created_at < period.end,
            )
        )
        or 0
    )

    enquiry_in_period = (Enquiry.created_at >= period.start) & (Enquiry.created_at < period.end)
    resolved = Enquiry.status == EnquiryStatus.RESOLVED
    e_row = session.execute(
        select(
            func.count(),
            _count(resolved),
            _count(resolved & (Enquiry.resolved_at <= Enquiry.sla_deadline)),
        ).where(enquiry_in_period)
    ).one()
    report.enquiries, report.enquiries_resolved, report.enquiries_within_sla = map(int, e_row)
    open_row = session.execute(
        select(func.count(), _count(Enquiry.sla_deadline < now)).where(~resolved)
    ).one()
    report.enquiries_open_now, report.enquiries_breached_now = map(int, open_row)

    report.jobs_created = (
        session.scalar(
            select(func.count()).where(Job.created_at >= period.start, Job.created_at < period.end)
        )
        or 0
    )
    delivered = (
        (Job.status == JobStatus.DELIVERED)
        & (Job.delivered_at >= period.start)
        & (Job.delivered_at < period.end)
    )
    report.jobs_delivered = session.scalar(select(func.count()).where(delivered)) or 0
    report.jobs_delivered_late = (
        session.scalar(
            select(func.count()).where(
                delivered, Job.eta_at.is_not(None), Job.delivered_at > Job.eta_at
            )
        )
        or 0
    )
    report.eta_changes = (
        session.scalar(
            select(func.count()).where(EtaChange.at >= period.start, EtaChange.at < period.end)
        )
        or 0
    )

    email_in_period = (OutboundEmail.created_at >= period.start) & (
        OutboundEmail.created_at < period.end
    )
    m_row = session.execute(
        select(
            _count(OutboundEmail.status == EmailStatus.SENT),
            _count(OutboundEmail.status == EmailStatus.FAILED),
            _count(OutboundEmail.delivery_state.in_(("bounce", "dropped", "bounced"))),
        ).where(email_in_period)
    ).one()
    report.emails_sent, report.emails_failed, report.emails_bounced = map(int, m_row)

    answered = Call.result == CallResult.ANSWERED.value
    missed = Call.result.in_(
        (CallResult.VOICEMAIL.value, CallResult.ABANDONED.value, CallResult.NO_ANSWER.value)
    )
    report.lines = [
        LineFigures(name, number, int(calls), int(ans), int(mis))
        for name, number, calls, ans, mis in session.execute(
            select(
                Salesperson.name,
                Line.public_number,
                func.count(Call.id),
                _count(answered),
                _count(missed),
            )
            .join(Line, Line.id == Call.line_id)
            .join(Salesperson, Salesperson.id == Line.salesperson_id)
            .where(in_period)
            .group_by(Salesperson.name, Line.public_number)
            .order_by(func.count(Call.id).desc(), Salesperson.name)
        )
    ]
    disposed = session.execute(
        select(Call.disposed_by_id, func.count())
        .where(in_period, Call.disposed_by_id.is_not(None))
        .group_by(Call.disposed_by_id)
    ).all()
    disposed_by = {user_id: int(count) for user_id, count in disposed}
    coordinators = session.execute(
        select(User.id, User.name, func.count(Call.id), func.avg(Call.talk_seconds).cast(Integer))
        .join(User, User.id == Call.answered_by_id)
        .where(in_period)
        .group_by(User.id, User.name)
        .order_by(func.count(Call.id).desc(), User.name)
    ).all()
    report.coordinators = [
        CoordinatorFigures(name, int(count), disposed_by.get(user_id, 0), talk)
        for user_id, name, count, talk in coordinators
    ]
    return report
