"""Figures that show the promise works, each aggregated in SQL over an indexed range.

Every table is one or two grouped queries over the period (grouped by local day or week
in the organisation's zone), so the page stays fast on millions of calls. The tables are
plain values (:class:`Table`): the page, its charts and the CSV all print the same ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased

from models import (
    AuditEntry,
    Call,
    CallResult,
    Customer,
    EmailStatus,
    Enquiry,
    EnquiryKind,
    EnquiryStatus,
    EtaChange,
    FeedbackStage,
    Job,
    JobFeedback,
    JobStatus,
    Line,
    OutboundEmail,
    Outcome,
    Salesperson,
    Task,
    TaskKind,
    User,
    UTCDateTime,
)

from . import rollup, sql
from .call_facts import RESULTS, CallFacts, Metrics, live_call_facts, open_job_at_call
from .period import Filters, Granularity, InvalidPeriod, Period, local_midnight
from .tables import Table, percent, rounded

__all__ = ["Filters", "Granularity", "InvalidPeriod", "Period", "Report", "build_report"]

ETA_EMAIL_KINDS = ("introduction", "eta-change")
LOW_RATING = 2
# Live over more days than this, the call flags are built as sets rather than looked up.
BULK_DAYS = 7


@dataclass
class Report:
    period: Period
    filters: Filters
    tables: dict[str, Table] = field(default_factory=dict)
    # Headline figures for the whole period (the cards above the charts).
    totals: dict[str, object] = field(default_factory=dict)
    facts: CallFacts | None = None

    def table(self, key: str) -> Table:
        return self.tables[key]


def _sum(condition) -> object:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _bucket(period: Period, column) -> object:
    return sql.local_bucket(column, period.timezone.key, period.granularity is Granularity.WEEK)


def _by_bucket(period: Period, rows) -> dict:
    return {sql.as_date(row[0]): row[1:] for row in rows}


def build_report(session: Session, period: Period, now: datetime, filters: Filters) -> Report:
    """Every table for ``period`` narrowed by ``filters``; ``now`` decides what is overdue."""
    sql.prepare(session)
    report = Report(period, filters)
    for builder in (
        _call_facts,
        _calls,
        _outcomes,
        _status_calls,
        _lead_capture,
        _enquiries,
        _refunds,
        _eta_reliability,
        _feedback,
        _lines,
        _coordinators,
    ):
        builder(session, report, now)
    return report


# ---------------------------------------------------------------- calls


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


def _call_facts(session: Session, report: Report, now: datetime) -> None:
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
        live_call_facts(session, facts, _bucket(period, Call.started_at), conditions, bulk)
    report.facts = facts


def _calls(session: Session, report: Report, now: datetime) -> None:
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


def _outcomes(session: Session, report: Report, now: datetime) -> None:
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


def _status_calls(session: Session, report: Report, now: datetime) -> None:
    period, filters = report.period, report.filters
    if filters.manager_id:
        # Only her jobs make a status call: read live (the roll-up counts anyone's jobs).
        bucket = _bucket(period, Call.started_at).label("bucket")
        status_rows = session.execute(
            select(bucket, func.count())
            .where(
                *_call_filter(report),
                Call.customer_id.is_not(None),
                open_job_at_call(filters.manager_id),
            )
            .group_by(bucket)
        ).all()
        status = {day: int(n) for day, (n,) in _by_bucket(period, status_rows).items()}
    else:
        status = {day: m["status"] for day, m in report.facts.by_bucket.items()}
    calls = {
        row[0]: row[1]
        for row in report.tables["calls"].rows
        # the calls table is already bucketed: reuse its totals
    }
    email_bucket = _bucket(period, OutboundEmail.sent_at).label("bucket")
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
    emails = _by_bucket(period, session.execute(email_query.group_by(email_bucket)).all())
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


def _lead_capture(session: Session, report: Report, now: datetime) -> None:
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


def _enquiries(session: Session, report: Report, now: datetime) -> None:
    period, filters = report.period, report.filters
    bucket = _bucket(period, Enquiry.created_at).label("bucket")
    callback = aliased(AuditEntry)
    first_callback = (
        select(callback.entity_id.label("enquiry_id"), func.min(callback.at).label("at"))
        .where(callback.entity_type == "enquiry", callback.action == "callback_placed")
        .group_by(callback.entity_id)
        .subquery()
    )
    resolved = Enquiry.status == EnquiryStatus.RESOLVED
    answered_at = func.coalesce(first_callback.c.at, Enquiry.resolved_at)
    wait = sql.seconds_between(Enquiry.created_at, answered_at)
    conditions = [
        Enquiry.created_at >= period.start,
        Enquiry.created_at < period.end,
        Enquiry.kind != EnquiryKind.FEEDBACK,
    ]
    if filters.line_id:
        conditions.append(Enquiry.line_id == filters.line_id)
    if filters.coordinator_id:
        conditions.append(Enquiry.owner_id == filters.coordinator_id)
    rows = session.execute(
        select(
            bucket,
            func.count(),
            _sum(resolved),
            _sum(resolved & (Enquiry.resolved_at <= Enquiry.sla_deadline)),
            _sum(~resolved & (Enquiry.sla_deadline < now)),
            func.sum(case((answered_at.is_not(None), wait))),
            _sum(answered_at.is_not(None)),
        )
        .select_from(Enquiry)
        .outerjoin(first_callback, first_callback.c.enquiry_id == Enquiry.id)
        .where(*conditions)
        .group_by(bucket)
    ).all()
    data = _by_bucket(period, rows)
    table = Table(
        "enquiries",
        "Missed enquiries: SLA and time to call back",
        [
            "period",
            "enquiries",
            "resolved",
            "resolved within SLA",
            "SLA met (%)",
            "open past SLA now",
            "time to call back (min)",
        ],
        filtered_by=("line", "coordinator"),
        note="Time to call back: from the missed call to the first call back placed from the "
        "console (or to its resolution).",
    )
    sums = [0, 0, 0]
    for day in period.buckets():
        n, res, within, breached, wait_sum, wait_n = (
            v or 0 for v in data.get(day, (0, 0, 0, 0, 0, 0))
        )
        sums = [sums[0] + int(n), sums[1] + int(res), sums[2] + int(within)]
        table.rows.append(
            [
                period.label(day),
                int(n),
                int(res),
                int(within),
                percent(int(within), int(res)),
                int(breached),
                rounded(float(wait_sum) / 60 / int(wait_n)) if wait_n else None,
            ]
        )
    report.totals.update(enquiries=sums[0], sla_rate=percent(sums[2], sums[1]))
    report.tables["enquiries"] = table


# ---------------------------------------------------------------- refunds


def _refunds(session: Session, report: Report, now: datetime) -> None:
    period, filters = report.period, report.filters
    conditions = [
        Task.kind == TaskKind.SAVE_THE_SALE,
        Task.created_at >= period.start,
        Task.created_at < period.end,
    ]
    if filters.manager_id:
        conditions.append(Task.assignee_id == filters.manager_id)
    if filters.line_id:
        conditions.append(Call.line_id == filters.line_id)
    if filters.coordinator_id:
        conditions.append(Call.disposed_by_id == filters.coordinator_id)
    bucket = _bucket(period, Task.created_at).label("bucket")
    base = select(Task).outerjoin(Call, Call.id == Task.call_id).where(*conditions)
    rows = session.execute(
        base.with_only_columns(
            bucket, func.count(), _sum(Task.outcome == "saved"), _sum(Task.outcome == "lost")
        ).group_by(bucket)
    ).all()
    data = _by_bucket(period, rows)
    table = Table(
        "refunds",
        "Refund and cancellation requests",
        ["period", "requests", "saved", "lost", "open", "saved (%)"],
        filtered_by=("line", "coordinator", "account manager"),
        note="Saved (%) of the requests decided.",
    )
    saved_total = lost_total = requests_total = 0
    for day in period.buckets():
        n, saved, lost = (int(v or 0) for v in data.get(day, (0, 0, 0)))
        requests_total, saved_total, lost_total = (
            requests_total + n,
            saved_total + saved,
            lost_total + lost,
        )
        table.rows.append(
            [period.label(day), n, saved, lost, n - saved - lost, percent(saved, saved + lost)]
        )
    report.totals.update(refunds=requests_total, refunds_saved=saved_total, refunds_lost=lost_total)
    report.tables["refunds"] = table

    owner = aliased(User)
    listed = session.execute(
        base.outerjoin(Customer, Customer.id == Task.customer_id)
        .outerjoin(owner, owner.id == Task.assignee_id)
        .with_only_columns(
            Task.created_at,
            Customer.name,
            Task.description,
            owner.name,
            Task.outcome,
            Task.outcome_notes,
        )
        .order_by(Task.created_at, Task.id)
    ).all()
    requests = Table(
        "refund_requests",
        "Refund and cancellation requests with their reasons",
        ["opened", "customer", "reason", "owner", "outcome", "what happened"],
        filtered_by=("line", "coordinator", "account manager"),
    )
    for created, customer, description, owner_name, outcome, notes in listed:
        requests.rows.append(
            [
                created.astimezone(period.timezone).strftime("%Y-%m-%d %H:%M"),
                customer or "",
                (description or "").removeprefix("Save the sale: "),
                owner_name or "",
                outcome or "open",
                notes or "",
            ]
        )
    report.tables["refund_requests"] = requests


# ---------------------------------------------------------------- jobs


def _first_eta():
    """Each changed job's first promised ETA: the old ETA of its first change."""
    first = (
        select(EtaChange.job_id, func.min(EtaChange.id).label("first_id"))
        .group_by(EtaChange.job_id)
        .subquery()
    )
    change = aliased(EtaChange)
    return (
        select(
            first.c.job_id,
            change.old_eta_date.label("eta_date"),
            change.old_eta_at.label("eta_at"),
        )
        .join(change, change.id == first.c.first_id)
        .subquery()
    )


def _eta_reliability(session: Session, report: Report, now: datetime) -> None:
    period, filters = report.period, report.filters
    first = _first_eta()
    changes = (
        select(EtaChange.job_id, func.count().label("n")).group_by(EtaChange.job_id).subquery()
    )
    promised_date = case((first.c.job_id.is_(None), Job.eta_date), else_=first.c.eta_date)
    promised_at = case((first.c.job_id.is_(None), Job.eta_at), else_=first.c.eta_at)
    deadline = case(
        (promised_at.is_not(None), promised_at),
        else_=sql.end_of_local_day(promised_date, period.timezone.key, UTCDateTime()),
    )
    conditions = [
        Job.status == JobStatus.DELIVERED,
        Job.delivered_at >= period.start,
        Job.delivered_at < period.end,
    ]
    if filters.manager_id:
        conditions.append(Job.account_manager_id == filters.manager_id)
    delivered = session.execute(
        select(
            Job.account_manager_id,
            func.count(),
            _sum(Job.delivered_at <= deadline),
            func.coalesce(func.sum(changes.c.n), 0),
        )
        .select_from(Job)
        .outerjoin(first, first.c.job_id == Job.id)
        .outerjoin(changes, changes.c.job_id == Job.id)
        .where(*conditions)
        .group_by(Job.account_manager_id)
    ).all()
    override_conditions = [
        AuditEntry.action == "eta_override",
        AuditEntry.entity_type == "job",
        AuditEntry.at >= period.start,
        AuditEntry.at < period.end,
    ]
    if filters.manager_id:
        override_conditions.append(Job.account_manager_id == filters.manager_id)
    overrides = dict(
        session.execute(
            select(Job.account_manager_id, func.count())
            .select_from(AuditEntry)
            .join(Job, Job.id == AuditEntry.entity_id)
            .where(*override_conditions)
            .group_by(Job.account_manager_id)
        ).all()
    )
    stats = {
        manager: (int(n), int(on_time), int(n_changes))
        for manager, n, on_time, n_changes in delivered
    }
    managers = set(stats) | set(overrides)
    names = dict(
        session.execute(
            select(User.id, User.name).where(User.id.in_([m for m in managers if m]))
        ).all()
    )
    table = Table(
        "eta_reliability",
        "ETA reliability per account manager",
        [
            "account manager",
            "jobs delivered",
            "on time",
            "late",
            "on time (%)",
            "ETA changes per job",
            "capacity overrides",
        ],
        filtered_by=("account manager",),
        note="On time: delivered on or before the first ETA promised (a date-only ETA "
        "counts until the end of that local day). Overrides: ETAs set on a full day.",
    )
    totals = [0, 0, 0, 0]
    for manager in sorted(managers, key=lambda m: (m is None, names.get(m, ""))):
        n, on_time, n_changes = stats.get(manager, (0, 0, 0))
        n_overrides = int(overrides.get(manager, 0))
        totals = [
            totals[0] + n,
            totals[1] + on_time,
            totals[2] + n_changes,
            totals[3] + n_overrides,
        ]
        table.rows.append(
            [
                names.get(manager, "(no account manager)"),
                n,
                on_time,
                n - on_time,
                percent(on_time, n),
                round(n_changes / n, 2) if n else None,
                n_overrides,
            ]
        )
    report.totals.update(
        delivered=totals[0],
        on_time_rate=percent(totals[1], totals[0]),
        overrides=totals[3],
    )
    report.tables["eta_reliability"] = table


def _feedback(session: Session, report: Report, now: datetime) -> None:
    period, filters = report.period, report.filters
    bucket = _bucket(period, JobFeedback.at).label("bucket")
    conditions = [JobFeedback.at >= period.start, JobFeedback.at < period.end]
    if filters.manager_id:
        conditions.append(Job.account_manager_id == filters.manager_id)
    early = JobFeedback.stage == FeedbackStage.EARLY
    rows = session.execute(
        select(
            bucket,
            _sum(early),
            func.sum(case((early, JobFeedback.rating))),
            _sum(~early),
            func.sum(case((~early, JobFeedback.rating))),
            _sum(JobFeedback.rating <= LOW_RATING),
            _sum(JobFeedback.enquiry_id.is_not(None)),
        )
        .select_from(JobFeedback)
        .join(Job, Job.id == JobFeedback.job_id)
        .where(*conditions)
        .group_by(bucket)
    ).all()
    data = _by_bucket(period, rows)
    table = Table(
        "feedback",
        "Customer feedback over time",
        [
            "period",
            "early answers",
            "early rating (avg)",
            "delivery answers",
            "delivery rating (avg)",
            "low ratings (1-2)",
            "follow-ups opened",
        ],
        filtered_by=("account manager",),
        note='Early: "how are we doing so far?" in the introduction email; delivery: in the '
        "delivered email.",
    )
    sums = [0, 0, 0, 0]
    for day in period.buckets():
        n_early, sum_early, n_done, sum_done, low, follow = (
            int(v or 0) for v in data.get(day, (0,) * 6)
        )
        sums = [
            sums[0] + n_early + n_done,
            sums[1] + sum_early + sum_done,
            sums[2] + low,
            sums[3] + follow,
        ]
        table.rows.append(
            [
                period.label(day),
                n_early,
                rounded(sum_early / n_early, 2) if n_early else None,
                n_done,
                rounded(sum_done / n_done, 2) if n_done else None,
                low,
                follow,
            ]
        )
    report.totals.update(
        feedback=sums[0], rating=rounded(sums[1] / sums[0], 2) if sums[0] else None
    )
    report.tables["feedback"] = table
    _feedback_follow_ups(session, report, conditions)


def _feedback_follow_ups(session: Session, report: Report, conditions) -> None:
    owner = aliased(User)
    rows = session.execute(
        select(
            JobFeedback.at,
            Job.reference,
            JobFeedback.stage,
            JobFeedback.rating,
            JobFeedback.comment,
            owner.name,
            Enquiry.status,
        )
        .select_from(JobFeedback)
        .join(Job, Job.id == JobFeedback.job_id)
        .join(Enquiry, Enquiry.id == JobFeedback.enquiry_id)
        .outerjoin(owner, owner.id == Enquiry.owner_id)
        .where(*conditions)
        .order_by(JobFeedback.at, JobFeedback.id)
    ).all()
    table = Table(
        "feedback_follow_ups",
        "Feedback that opened an enquiry",
        ["answered", "job", "asked", "rating", "comment", "account manager", "enquiry"],
        filtered_by=("account manager",),
    )
    tz = report.period.timezone
    for at, reference, stage, rating, comment, owner_name, status in rows:
        table.rows.append(
            [
                at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                reference,
                "early" if stage is FeedbackStage.EARLY else "at delivery",
                rating,
                comment or "",
                owner_name or "",
                status.value if status else "",
            ]
        )
    report.tables["feedback_follow_ups"] = table


# ---------------------------------------------------------------- by line, by coordinator


def _lines(session: Session, report: Report, now: datetime) -> None:
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


def _coordinators(session: Session, report: Report, now: datetime) -> None:
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
