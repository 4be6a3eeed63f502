"""The desk's follow-up tables: missed enquiries and refund or cancellation requests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased

from models import (
    AuditEntry,
    Call,
    Customer,
    Enquiry,
    EnquiryKind,
    EnquiryStatus,
    Task,
    TaskKind,
    User,
)

from . import sql
from .report import Report, by_bucket, period_bucket, sum_of
from .tables import Table, percent, rounded


def enquiries(session: Session, report: Report, now: datetime) -> None:
    period, filters = report.period, report.filters
    bucket = period_bucket(period, Enquiry.created_at).label("bucket")
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
            sum_of(resolved),
            sum_of(resolved & (Enquiry.resolved_at <= Enquiry.sla_deadline)),
            sum_of(~resolved & (Enquiry.sla_deadline < now)),
            func.sum(case((answered_at.is_not(None), wait))),
            sum_of(answered_at.is_not(None)),
        )
        .select_from(Enquiry)
        .outerjoin(first_callback, first_callback.c.enquiry_id == Enquiry.id)
        .where(*conditions)
        .group_by(bucket)
    ).all()
    data = by_bucket(period, rows)
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


def refunds(session: Session, report: Report, now: datetime) -> None:
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
    bucket = period_bucket(period, Task.created_at).label("bucket")
    base = select(Task).outerjoin(Call, Call.id == Task.call_id).where(*conditions)
    rows = session.execute(
        base.with_only_columns(
            bucket, func.count(), sum_of(Task.outcome == "saved"), sum_of(Task.outcome == "lost")
        ).group_by(bucket)
    ).all()
    data = by_bucket(period, rows)
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
