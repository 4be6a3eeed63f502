"""Which chart each report table gets (pure: tables in, SVG out)."""

from __future__ import annotations

from .charts import Chart, Series, bar_chart, line_chart
from .service import Report
from .tables import Table

# table key → (kind, [(column index, series name)], unit, fixed top of the scale)
CHARTS: dict[str, tuple[str, list[int], str, float | None]] = {
    "calls": ("bar", [2, 3, 4, 5, 6], "", None),
    "outcomes": ("bar", [1, 2, 3, 4, 5, 6, 7], "", None),
    "status_calls": ("line", [2, 4], "", None),
    "lead_capture": ("bar", [2, 3, 4], "", None),
    "enquiries": ("line", [4], "%", 100),
    "refunds": ("bar", [2, 3, 4], "", None),
    "eta_reliability": ("bar", [2, 3], "", None),
    "feedback": ("line", [2, 4], "", 5),
}


def chart_for(table: Table) -> Chart | None:
    spec = CHARTS.get(table.key)
    if spec is None or not table.rows:
        return None
    kind, columns, unit, top = spec
    labels = [str(row[0]) for row in table.rows]
    series = [Series(table.headers[i], table.column(i)) for i in columns]
    if kind == "bar":
        return bar_chart(table.title, labels, series, unit=unit)
    return line_chart(table.title, labels, series, unit=unit, top=top)


def charts(report: Report) -> dict[str, Chart]:
    out = {}
    for key, table in report.tables.items():
        chart = chart_for(table)
        if chart is not None:
            out[key] = chart
    return out
