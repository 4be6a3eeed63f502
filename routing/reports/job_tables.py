"""The job tables: ETA reliability per account manager and customer feedback."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased

from models import (
    AuditEntry,
    Enquiry,
    EtaChange,
    FeedbackStage,
    Job,
    JobFeedback,
    JobStatus,
    User,
    UTCDateTime,
)

from . import sql
from .report import Report, by_bucket, period_bucket, sum_of
from .tables import Table, percent, rounded

LOW_RATING = 2


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


def eta_reliability(session: Session, report: Report, now: datetime) -> None:
    stats = _delivered_on_time(session, report)
    overrides = _overrides(session, report)
    managers = set(stats) | set(overrides)
    names = dict(
        session.execute(
            select(User.id, User.name).where(User.id.in_([m for m in managers if m]))
        ).all()
    )
    _eta_table(report, stats, overrides, managers, names)


def _delivered_on_time(session: Session, report: Report) -> dict:
    """Account manager → (jobs delivered in the period, on time, ETA changes)."""
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
            sum_of(Job.delivered_at <= deadline),
            func.coalesce(func.sum(changes.c.n), 0),
        )
        .select_from(Job)
        .outerjoin(first, first.c.job_id == Job.id)
        .outerjoin(changes, changes.c.job_id == Job.id)
        .where(*conditions)
        .group_by(Job.account_manager_id)
    ).all()
    return {
        manager: (int(n), int(on_time), int(n_changes))
        for manager, n, on_time, n_changes in delivered
    }


def _overrides(session: Session, report: Report) -> dict:
    """Account manager → ETAs set on a full day in the period (``eta_override`` entries)."""
    period, filters = report.period, report.filters
    override_conditions = [
        AuditEntry.action == "eta_override",
        AuditEntry.entity_type == "job",
        AuditEntry.at >= period.start,
        AuditEntry.at < period.end,
    ]
    if filters.manager_id:
        override_conditions.append(Job.account_manager_id == filters.manager_id)
    return dict(
        session.execute(
            select(Job.account_manager_id, func.count())
            .select_from(AuditEntry)
            .join(Job, Job.id == AuditEntry.entity_id)
            .where(*override_conditions)
            .group_by(Job.account_manager_id)
        ).all()
    )


def _eta_table(report: Report, stats: dict, overrides: dict, managers: set, names: dict) -> None:
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


def feedback(session: Session, report: Report, now: datetime) -> None:
    period, filters = report.period, report.filters
    bucket = period_bucket(period, JobFeedback.at).label("bucket")
    conditions = [JobFeedback.at >= period.start, JobFeedback.at < period.end]
    if filters.manager_id:
        conditions.append(Job.account_manager_id == filters.manager_id)
    early = JobFeedback.stage == FeedbackStage.EARLY
    rows = session.execute(
        select(
            bucket,
            sum_of(early),
            func.sum(case((early, JobFeedback.rating))),
            sum_of(~early),
            func.sum(case((~early, JobFeedback.rating))),
            sum_of(JobFeedback.rating <= LOW_RATING),
            sum_of(JobFeedback.enquiry_id.is_not(None)),
        )
        .select_from(JobFeedback)
        .join(Job, Job.id == JobFeedback.job_id)
        .where(*conditions)
        .group_by(bucket)
    ).all()
    data = by_bucket(period, rows)
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
