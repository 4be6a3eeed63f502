"""Figures that show the promise works, each aggregated in SQL over an indexed range.

Every table is one or two grouped queries over the period (grouped by local day or week
in the organisation's zone), so the page stays fast on millions of calls; the call
figures of settled days come from the per-day roll-up (``rollup.py``). The tables are
plain values (:class:`Table`): the page, its charts and the CSV all print the same ones.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from . import call_tables, desk_tables, job_tables, sql
from .period import Filters, Granularity, InvalidPeriod, Period
from .report import Report

__all__ = ["Filters", "Granularity", "InvalidPeriod", "Period", "Report", "build_report"]


def build_report(session: Session, period: Period, now: datetime, filters: Filters) -> Report:
    """Every table for ``period`` narrowed by ``filters``; ``now`` decides what is overdue."""
    sql.prepare(session)
    report = Report(period, filters)
    for builder in (
        call_tables.call_facts,
        call_tables.calls,
        call_tables.outcomes,
        call_tables.status_calls,
        call_tables.lead_capture,
        desk_tables.enquiries,
        desk_tables.refunds,
        job_tables.eta_reliability,
        job_tables.feedback,
        call_tables.lines,
        call_tables.coordinators,
    ):
        builder(session, report, now)
    return report
