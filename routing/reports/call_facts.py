"""Every call figure from one pass over the period's calls.

A year is a million calls: reading them as few times as possible, with as few
aggregates per call as possible, matters more than anything else.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from models import Call, CallResult, Customer, Outcome

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


def call_facts(session: Session, bucket, conditions, coordinator_id: int | None) -> CallFacts:
    """The figures of the calls matching ``conditions``, rolled up five ways.

    The database reads each call once and groups by what the figures tell apart (period,
    answerer, disposer, result, outcome, declined, details complete) with five sums;
    Python adds the few thousand groups up into every table. Lines are a second, lighter
    grouping (one count). With ``coordinator_id``, per-period and per-line figures count
    the calls she answered, and the per-period outcomes the calls she disposed.
    """
    if coordinator_id:
        conditions = [
            *conditions,
            or_(Call.answered_by_id == coordinator_id, Call.disposed_by_id == coordinator_id),
        ]
    answered = Call.result == CallResult.ANSWERED.value
    # An uncorrelated IN: PostgreSQL hashes the complete customers' ids once and probes it
    # for answered calls only, cheaper than joining every call to its customer.
    complete = select(Customer.id).where(
        func.coalesce(Customer.name, "") != "",
        func.coalesce(Customer.email, "") != "",
        func.coalesce(Customer.phone, "") != "",
    )
    full = case((answered & Call.customer_id.in_(complete), 1), else_=0)
    declined = case((Call.caller_declined.is_(True), 1), else_=0)
    keys = (
        bucket,
        Call.answered_by_id,
        Call.disposed_by_id,
        Call.result,
        Call.outcome,
        declined,
        full,
    )
    query = (
        select(
            *keys,
            func.count(),
            func.sum(Call.ring_seconds),
            func.count(Call.ring_seconds),
            func.sum(Call.talk_seconds),
            func.count(Call.talk_seconds),
        )
        .where(*conditions)
        .group_by(*keys)
    )
    facts = CallFacts()
    for day, answerer, disposer, result, outcome, is_declined, is_full, *sums in session.execute(
        query
    ):
        figures = _figures(result, outcome, bool(is_declined), bool(is_full), sums)
        if not coordinator_id or answerer == coordinator_id:
            facts.by_bucket[day].add(figures)
        if not coordinator_id or disposer == coordinator_id:
            facts.disposed_by_bucket[day].add(figures)
        facts.by_answerer[answerer].add(figures)
        facts.by_disposer[disposer].add(figures)
    lines = select(Call.line_id, Call.answered_by_id, Call.result, func.count()).where(*conditions)
    for line_id, answerer, result, count in session.execute(
        lines.group_by(Call.line_id, Call.answered_by_id, Call.result)
    ):
        if not coordinator_id or answerer == coordinator_id:
            facts.by_line[line_id].add({"calls": count, result or "": count})
    return facts


def _figures(result, outcome, declined: bool, full: bool, sums) -> dict[str, int]:
    """The figures one group of identical calls adds (``sums``: count, ring, talk)."""
    count, ring_sum, ring_n, talk_sum, talk_n = (int(v or 0) for v in sums)
    figures = {"calls": count, result or "": count}
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
