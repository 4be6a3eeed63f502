"""Every call figure from grouped calls: read live, or from the per-day roll-up.

A year is a million calls: the closed days come from the roll-up (``rollup.py``), the
days still open from one grouped pass over their calls (and one per line), with as few
aggregates per call as possible.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import case, exists, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from models import Call, CallResult, Customer, Job, JobStatus, Outcome

from . import sql

RESULTS = (
    CallResult.ANSWERED,
    CallResult.VOICEMAIL,
    CallResult.ABANDONED,
    CallResult.NO_ANSWER,
    CallResult.FALLBACK,
)


class Metrics(dict):
    """Figure name → count; missing figures are 0."""

    def __missing__(self, key: str) -> int:
        return 0

    def add(self, other: dict) -> None:
        for key, value in other.items():
            self[key] += value


@dataclass
class CallFacts:
    by_bucket: dict = field(default_factory=lambda: defaultdict(Metrics))
    disposed_by_bucket: dict = field(default_factory=lambda: defaultdict(Metrics))
    by_line: dict = field(default_factory=lambda: defaultdict(Metrics))
    by_answerer: dict = field(default_factory=lambda: defaultdict(Metrics))
    by_disposer: dict = field(default_factory=lambda: defaultdict(Metrics))
    coordinator_id: int | None = None
    # The last day read from the roll-up (None: every day was read live).
    rolled_through: date | None = None

    def add_group(self, day, answerer, disposer, result, outcome, flags, sums) -> None:
        """One group of identical calls (``flags``: declined, full, status; ``sums``:
        count, ring sum and count, talk sum and count).

        With a coordinator chosen, per-period figures count the calls she answered, and
        the per-period outcomes the calls she disposed.
        """
        figures = _figures(result, _outcome(outcome), *(bool(f) for f in flags), sums)
        chosen = self.coordinator_id
        if not chosen or answerer == chosen:
            self.by_bucket[day].add(figures)
        if not chosen or disposer == chosen:
            self.disposed_by_bucket[day].add(figures)
        self.by_answerer[answerer].add(figures)
        self.by_disposer[disposer].add(figures)

    def add_line(self, line_id, answerer, result, count) -> None:
        if not self.coordinator_id or answerer == self.coordinator_id:
            self.by_line[line_id].add({"calls": count, result or "": count})


def _outcome(value) -> Outcome | None:
    """An outcome as a query returns it: the enum, or its stored name (the roll-up)."""
    if value is None or isinstance(value, Outcome):
        return value
    return Outcome[value]


def _closed_at():
    """When a job stopped being open: delivered, or cancelled (its last update stands for
    the cancellation, which has no time of its own); NULL while open."""
    return case(
        (Job.status == JobStatus.DELIVERED, Job.delivered_at),
        (Job.status == JobStatus.CANCELLED, Job.updated_at),
        else_=None,
    )


def open_job_at_call(manager_id: int | None = None):
    """A job of the caller's that was open when the call started (delivered or cancelled later)."""
    conditions = [
        Job.customer_id == Call.customer_id,
        Job.created_at <= Call.started_at,
        or_(_closed_at().is_(None), _closed_at() > Call.started_at),
    ]
    if manager_id:
        conditions.append(Job.account_manager_id == manager_id)
    return exists().where(*conditions)


def _flags(bulk: tuple[datetime, datetime, int | None] | None) -> tuple:
    """Declined, details complete and status call, as 0/1 per call.

    For a few days' calls each is a lookup per call.
    For ``bulk``, a long range, the database builds each set once instead: the complete
    customers' ids and the ids of the range's calls made while a job was open, both
    hashed and probed per call.
    """
    answered = Call.result == CallResult.ANSWERED.value
    declined = case((Call.caller_declined.is_(True), 1), else_=0)
    if bulk is None:
        # A scalar subquery: a lookup by key per call, which the planner cannot swap for
        # hashing every customer as it may an EXISTS.
        complete = (
            select(literal(1)).where(Customer.id == Call.customer_id, *_complete(Customer))
        ).scalar_subquery()
        full = case((answered & (func.coalesce(complete, 0) == 1), 1), else_=0)
        status = case((Call.customer_id.is_not(None) & open_job_at_call(), 1), else_=0)
        return declined, full, status
    complete_ids = select(Customer.id).where(*_complete(Customer))
    full = case((answered & Call.customer_id.in_(complete_ids), 1), else_=0)
    other = aliased(Call)
    start, end, line_id = bulk
    status_ids = (
        select(other.id)
        .join(Job, Job.customer_id == other.customer_id)
        .where(
            other.started_at >= start,
            other.started_at < end,
            Job.created_at <= other.started_at,
            or_(_closed_at().is_(None), _closed_at() > other.started_at),
        )
    )
    if line_id:
        status_ids = status_ids.where(other.line_id == line_id)
    status = case((Call.id.in_(status_ids), 1), else_=0)
    return declined, full, status


def _complete(customer) -> list:
    return [
        func.coalesce(customer.name, "") != "",
        func.coalesce(customer.email, "") != "",
        func.coalesce(customer.phone, "") != "",
    ]


def coordinator_condition(coordinator_id: int | None, answered, disposed) -> list:
    if not coordinator_id:
        return []
    return [or_(answered == coordinator_id, disposed == coordinator_id)]


def call_groups(bucket, conditions, coordinator_id: int | None, bulk=None, by_line=False):
    """The calls matching ``conditions`` grouped by what the figures tell apart.

    Period, answerer, disposer, result, outcome, declined, details complete and status
    call, with five sums: the database reads each call once, Python adds the groups up
    into every table. ``bulk``: the (start, end, line) of a long range (see :func:`_flags`);
    ``by_line``: the line is a key too, after the period.
    """
    keys = (
        bucket,
        *((Call.line_id,) if by_line else ()),
        Call.answered_by_id,
        Call.disposed_by_id,
        Call.result,
        Call.outcome,
        *_flags(bulk),
    )
    query = select(
        *keys,
        func.count(),
        func.sum(Call.ring_seconds),
        func.count(Call.ring_seconds),
        func.sum(Call.talk_seconds),
        func.count(Call.talk_seconds),
    )
    return query.where(
        *conditions,
        *coordinator_condition(coordinator_id, Call.answered_by_id, Call.disposed_by_id),
    ).group_by(*keys)


def manager_status_groups(bucket, conditions):
    """Status calls per period, account manager (of a job open at the call), line and
    answerer; a call counts once for each manager who had a job of the caller's open."""
    keys = (bucket, Job.account_manager_id, Call.line_id, Call.answered_by_id)
    return (
        select(*keys, func.count(func.distinct(Call.id)))
        .select_from(Call)
        .join(
            Job,
            (Job.customer_id == Call.customer_id)
            & (Job.created_at <= Call.started_at)
            & or_(_closed_at().is_(None), _closed_at() > Call.started_at),
        )
        .where(*conditions, Job.account_manager_id.is_not(None))
        .group_by(*keys)
    )


def line_groups(bucket, conditions, coordinator_id: int | None):
    """Calls per period, line, answerer and result."""
    keys = (bucket, Call.line_id, Call.answered_by_id, Call.result)
    return (
        select(*keys, func.count())
        .where(
            *conditions,
            *coordinator_condition(coordinator_id, Call.answered_by_id, Call.disposed_by_id),
        )
        .group_by(*keys)
    )


def live_call_facts(session: Session, facts: CallFacts, bucket, conditions, bulk=None) -> None:
    """Add the calls matching ``conditions``, read from the calls table, to ``facts``."""
    chosen = facts.coordinator_id
    for day, answerer, disposer, result, outcome, *flags_and_sums in session.execute(
        call_groups(bucket, conditions, chosen, bulk)
    ):
        facts.add_group(
            sql.as_date(day),
            answerer,
            disposer,
            result,
            outcome,
            flags_and_sums[:3],
            flags_and_sums[3:],
        )
    for _day, line_id, answerer, result, count in session.execute(
        line_groups(bucket, conditions, chosen)
    ):
        facts.add_line(line_id, answerer, result, count)


def _figures(result, outcome, declined: bool, full: bool, status: bool, sums) -> dict[str, int]:
    """The figures one group of identical calls adds (``sums``: count, ring, talk)."""
    count, ring_sum, ring_n, talk_sum, talk_n = (int(v or 0) for v in sums)
    figures = {"calls": count, result or "": count}
    if status:
        figures["status"] = count
    if result != CallResult.ANSWERED.value:
        return figures
    figures.update(ring_sum=ring_sum, ring_n=ring_n, talk_sum=talk_sum, talk_n=talk_n)
    if outcome is None:
        figures["undisposed"] = count
    else:
        figures[Outcome(outcome).value] = count
    if outcome != Outcome.WRONG_NUMBER:
        figures["lead"] = count
        if declined:
            figures["lead_declined"] = count
        elif full:
            figures["lead_full"] = count
    return figures
