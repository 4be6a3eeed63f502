"""The call tables: by result, by outcome, status calls, lead capture, by line and by
coordinator; all from the period's call facts (roll-up and live)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import (
    Call,
    CallResult,
    EmailStatus,
    Job,
    Line,
    OutboundEmail,
    Outcome,
    Salesperson,
    User,
)

from . import rollup, sql
from .call_facts import RESULTS, CallFacts, Metrics, live_call_facts, open_job_at_call
from .period import Granularity, local_midnight
from .report import Report, by_bucket, period_bucket
from .tables import Table, percent, rounded

ETA_EMAIL_KINDS = ("introduction", "eta-change")
# Live over more days than this, the call flags are built as sets rather than looked up.
BULK_DAYS = 7


def _call_filter(report: Report, *, coordinator_column=None):
    period, filters = report.period, report.filters
    conditions = [Call.started_at >= period.start, Call.started_at < period.end]
    conditions.append(func.coalesce(Call.result, "") != CallResult.TELECONFERENCE.value)
    if filters.line_id:
        conditions.append(Call.line_id == filters.line_id)
    if filters.coordinator_id:
        column = coordinator_column if coordinator_column is not None else Call.answered_by_id
        conditions.append(column == filters.coordinator_id)
    return conditions


def call_facts(session: Session, report: Report, now: datetime) -> None:
    """Settled days from the roll-up, the days after them live from the calls table."""
    period, filters = report.period, report.filters
    facts = CallFacts(coordinator_id=filters.coordinator_id)
    live_from = period.first
    settled = min(period.last, rollup.last_settled_day(session, period.timezone, now))
    if settled >= period.first:
        rollup.refresh(session, period.timezone, period.first, settled)
        week = period.granularity is Granularity.WEEK
        days = (period.first, settled)
        rollup.add_rolled_up(session, facts, period.timezone, days, week, filters.line_id)
        live_from = settled + timedelta(days=1)
        facts.rolled_through = settled
    if live_from <= period.last:
        start = local_midnight(live_from, period.timezone)
        conditions = [
            Call.started_at >= start,
            Call.started_at < period.end,
            func.coalesce(Call.result, "") != CallResult.TELECONFERENCE.value,
        ]
        if filters.line_id:
            conditions.append(Call.line_id == filters.line_id)
        bulk = (
            (start, period.end, filters.line_id)
            if (period.last - live_from).days > BULK_DAYS
            else None
        )
        live_call_facts(session, facts, period_bucket(period, Call.started_at), conditions, bulk)
    report.facts = facts


def calls(session: Session, report: Report, now: datetime) -> None:
    period = report.period
    table = Table(
        "calls",
        "Calls by what became of them",
        [
            "period",
            "calls",
            "answered",
            "voicemail",
            "abandoned",
            "no answer",
            "fallback",
            "answer rate (%)",
            "abandoned (%)",
            "voicemail (%)",
            "time to answer (s)",
        ],
        filtered_by=("line", "coordinator"),
        note="With a coordinator chosen, only the calls she answered.",
    )
    total = Metrics()
    for day in period.buckets():
        m = report.facts.by_bucket.get(day, Metrics())
        total.add(m)
        table.rows.append([period.label(day), *_call_row(m)])
    report.totals.update(
        calls=total["calls"],
        answered=total["answered"],
        answer_rate=percent(total["answered"], total["calls"]),
        abandoned_share=percent(total["abandoned"], total["calls"]),
        voicemail_share=percent(total["voicemail"], total["calls"]),
        time_to_answer=rounded(total["ring_sum"] / total["ring_n"]) if total["ring_n"] else None,
    )
    report.tables["calls"] = table


def _call_row(m: Metrics) -> list:
    calls = m["calls"]
    return [
        calls,
        *(m[r.value] for r in RESULTS),
        percent(m["answered"], calls),
        percent(m["abandoned"], calls),
        percent(m["voicemail"], calls),
        rounded(m["ring_sum"] / m["ring_n"]) if m["ring_n"] else None,
    ]


def outcomes(session: Session, report: Report, now: datetime) -> None:
    period = report.period
    outcomes = list(Outcome)
    table = Table(
        "outcomes",
        "Calls by outcome (disposition)",
        ["period", *(o.value.replace("_", " ") for o in outcomes), "answered, not disposed"],
        filtered_by=("line", "coordinator"),
        note="With a coordinator chosen, the calls she disposed.",
    )
    for day in period.buckets():
        m = report.facts.disposed_by_bucket.get(day, Metrics())
        table.rows.append([period.label(day), *(m[o.value] for o in outcomes), m["undisposed"]])
    report.tables["outcomes"] = table


def _her_status_calls(session: Session, report: Report) -> dict:
    """Status calls about one account manager's jobs: settled days from the roll-up, the
    days after them live."""
    period, filters = report.period, report.filters
    status: dict = defaultdict(int)
    live_start = period.start
    rolled = report.facts.rolled_through
    if rolled is not None:
        week = period.granularity is Granularity.WEEK
        for day, n in rollup.manager_status_calls(
            session, period.timezone, (period.first, rolled), week, filters
        ):
            status[sql.as_date(day)] += int(n)
        live_start = local_midnight(rolled + timedelta(days=1), period.timezone)
    bucket = period_bucket(period, Call.started_at).label("bucket")
    status_rows = session.execute(
        select(bucket, func.count())
        .where(
            *_call_filter(report),
            Call.started_at >= live_start,
            Call.customer_id.is_not(None),
            open_job_at_call(filters.manager_id),
        )
        .group_by(bucket)
    )
    for day, n in status_rows:
        status[sql.as_date(day)] += int(n)
    return status


def status_calls(session: Session, report: Report, now: datetime) -> None:
    period, filters = report.period, report.filters
    if filters.manager_id:
        status = _her_status_calls(session, report)
    else:
        status = {day: m["status"] for day, m in report.facts.by_bucket.items()}
    calls = {
        row[0]: row[1]
        for row in report.tables["calls"].rows
        # the calls table is already bucketed: reuse its totals
    }
    email_bucket = period_bucket(period, OutboundEmail.sent_at).label("bucket")
    email_conditions = [
        OutboundEmail.kind.in_(ETA_EMAIL_KINDS),
        OutboundEmail.status == EmailStatus.SENT,
        OutboundEmail.sent_at >= period.start,
        OutboundEmail.sent_at < period.end,
    ]
    email_query = select(email_bucket, func.count()).where(*email_conditions)
    if filters.manager_id:
        email_query = email_query.join(Job, Job.id == OutboundEmail.job_id).where(
            Job.account_manager_id == filters.manager_id
        )
    emails = by_bucket(period, session.execute(email_query.group_by(email_bucket)).all())
    table = Table(
        "status_calls",
        "Status calls (callers with an open job) and ETA emails sent",
        ["period", "calls", "status calls", "status calls (%)", "ETA emails sent"],
        filtered_by=("line", "coordinator", "account manager"),
        note=(
            "A status call comes from a known customer who had a job open when she called. "
            "With an account manager chosen: her jobs and the ETA emails about them."
        ),
    )
    total_status = total_emails = 0
    for day in period.buckets():
        n_status = status.get(day, 0)
        n_emails = int(emails.get(day, (0,))[0])
        n_calls = calls[period.label(day)]
        total_status += n_status
        total_emails += n_emails
        table.rows.append(
            [period.label(day), n_calls, n_status, percent(n_status, n_calls), n_emails]
        )
    report.totals.update(
        status_calls=total_status,
        status_share=percent(total_status, int(report.totals["calls"])),
        eta_emails=total_emails,
    )
    report.tables["status_calls"] = table


def lead_capture(session: Session, report: Report, now: datetime) -> None:
    period = report.period
    table = Table(
        "lead_capture",
        "Lead capture on answered calls",
        ["period", "answered", "full details", "caller declined", "missing", "captured (%)"],
        filtered_by=("line", "coordinator"),
        note="Answered calls except wrong numbers: name, email and phone known, "
        "declined, or missing.",
    )
    total = Metrics()
    for day in period.buckets():
        m = report.facts.by_bucket.get(day, Metrics())
        total.add(m)
        lead, full, declined = m["lead"], m["lead_full"], m["lead_declined"]
        table.rows.append(
            [period.label(day), lead, full, declined, lead - full - declined, percent(full, lead)]
        )
    report.totals.update(
        lead_capture=percent(total["lead_full"], total["lead"]),
        leads_missing=total["lead"] - total["lead_full"] - total["lead_declined"],
    )
    report.tables["lead_capture"] = table


def lines(session: Session, report: Report, now: datetime) -> None:
    by_line = {k: v for k, v in report.facts.by_line.items() if k is not None}
    names = {
        line_id: (name, number)
        for line_id, name, number in session.execute(
            select(Line.id, Salesperson.name, Line.public_number)
            .join(Salesperson, Salesperson.id == Line.salesperson_id)
            .where(Line.id.in_(list(by_line)))
        )
    }
    table = Table(
        "lines",
        "By salesperson's line",
        ["salesperson", "old number", "calls", "answered", "missed", "answer rate (%)"],
        filtered_by=("line", "coordinator"),
    )
    rows = []
    for line_id, m in by_line.items():
        name, number = names[line_id]
        missed = m["voicemail"] + m["abandoned"] + m["no-answer"]
        rows.append(
            [name, number, m["calls"], m["answered"], missed, percent(m["answered"], m["calls"])]
        )
    table.rows = sorted(rows, key=lambda r: (-r[2], r[0], r[1]))
    report.tables["lines"] = table


def coordinators(session: Session, report: Report, now: datetime) -> None:
    facts, chosen = report.facts, report.filters.coordinator_id
    people = {k for k in (*facts.by_answerer, *facts.by_disposer) if k is not None}
    if chosen:
        people &= {chosen}
    names = dict(session.execute(select(User.id, User.name).where(User.id.in_(people))).all())
    table = Table(
        "coordinators",
        "By coordinator",
        ["coordinator", "calls answered", "calls disposed", "time to answer (s)", "talk time (s)"],
        filtered_by=("line", "coordinator"),
    )
    rows = []
    for person in people:
        m = facts.by_answerer.get(person, Metrics())
        rows.append(
            [
                names.get(person, "(removed user)"),
                m["answered"],
                facts.by_disposer.get(person, Metrics())["calls"],
                rounded(m["ring_sum"] / m["ring_n"]) if m["ring_n"] else None,
                rounded(m["talk_sum"] / m["talk_n"]) if m["talk_n"] else None,
            ]
        )
    table.rows = sorted(rows, key=lambda r: (-r[1], r[0]))
    report.tables["coordinators"] = table
