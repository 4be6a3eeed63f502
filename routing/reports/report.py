"""What every report section shares: the report itself and grouping by period."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import case, func

from . import sql
from .call_facts import CallFacts
from .period import Filters, Granularity, Period
from .tables import Table


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


def sum_of(condition) -> object:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def period_bucket(period: Period, column) -> object:
    return sql.local_bucket(column, period.timezone.key, period.granularity is Granularity.WEEK)


def by_bucket(period: Period, rows) -> dict:
    return {sql.as_date(row[0]): row[1:] for row in rows}
