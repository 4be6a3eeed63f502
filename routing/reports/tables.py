"""A report table: what the page shows, the chart draws and the CSV exports (pure)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

Cell = int | float | str | None


@dataclass
class Table:
    """Rows of plain values under headers; the page and the CSV print them alike."""

    key: str
    title: str
    headers: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    # Which of the page's filters narrow this table (shown next to it).
    filtered_by: Sequence[str] = ()
    note: str = ""

    def column(self, index: int) -> list[Cell]:
        return [row[index] for row in self.rows]


def cell_text(value: Cell) -> str:
    """One cell as text, the same on the page and in the CSV."""
    if value is None:
        return ""
    return str(value)


def percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def rounded(value: float | None, digits: int = 1) -> float | None:
    return round(float(value), digits) if value is not None else None


def to_csv(tables: Sequence[Table], period_args: dict[str, str]) -> str:
    """UTF-8 CSV: one section column naming the table, then its columns; a header per table.

    A single table exports with its own header row only (no section column).
    """
    out = io.StringIO()
    writer = csv.writer(out)
    if len(tables) == 1:
        table = tables[0]
        writer.writerow(table.headers)
        writer.writerows([cell_text(v) for v in row] for row in table.rows)
        return out.getvalue()
    writer.writerow(["section", *(f"{k}={v}" for k, v in period_args.items())])
    for table in tables:
        writer.writerow([table.key, *table.headers])
        writer.writerows([table.key, *(cell_text(v) for v in row)] for row in table.rows)
    return out.getvalue()
