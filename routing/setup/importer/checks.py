"""What the importers of every kind share: the row checker that collects a file's errors,
the summary, progress ticks and chunked lookups."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from models.contact import InvalidContact, normalise_email, normalise_phone

from ..csvfile import CsvRow, ImportFailed, RowError

# (stage, rows done, rows in total); stages are "checking" and "writing".
Progress = Callable[[str, int, int], None]
PROGRESS_EVERY = 1000
# Well under SQLite's and PostgreSQL's limits on bound parameters.
CHUNK = 500


@dataclass
class ImportSummary:
    kind: str
    rows: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __str__(self) -> str:
        return (
            f"{self.kind}: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged ({self.rows} rows)"
        )


class RowChecker:
    """Collects the errors of a file while rows are normalised."""

    def __init__(self, region: str):
        self.region = region
        self.errors: list[RowError] = []
        self._emails: dict[str, str] = {}

    def fail(self, row: CsvRow, field: str, reason: str) -> None:
        self.errors.append(RowError(row.line, field, reason))

    def required(self, row: CsvRow, field: str, max_length: int = 200) -> str | None:
        value = " ".join(row.get(field).split())
        if not value:
            self.fail(row, field, "is required")
            return None
        if len(value) > max_length:
            self.fail(row, field, f"is longer than {max_length} characters")
            return None
        return value

    def optional_text(self, row: CsvRow, field: str, max_length: int = 200) -> str | None:
        value = " ".join(row.get(field).split())
        if len(value) > max_length:
            self.fail(row, field, f"is longer than {max_length} characters")
            return None
        return value or None

    def phone(self, row: CsvRow, field: str, *, required: bool = True) -> str | None:
        raw = row.get(field)
        if not raw and not required:
            return None
        try:
            return normalise_phone(raw, self.region)
        except InvalidContact as exc:
            self.fail(row, field, str(exc))
            return None

    def email(
        self, row: CsvRow, field: str, *, required: bool = True, memo: bool = False
    ) -> str | None:
        """``memo`` for columns that repeat a few values (a salesperson per customer)."""
        raw = row.get(field)
        if not raw and not required:
            return None
        if memo and raw in self._emails:
            return self._emails[raw]
        try:
            value = normalise_email(raw)
        except InvalidContact as exc:
            self.fail(row, field, str(exc))
            return None
        if memo:
            self._emails[raw] = value
        return value

    def raise_if_failed(self) -> None:
        if self.errors:
            raise ImportFailed(self.errors)


def chunks(values: Iterable[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    batch: list[Any] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def ticker(report: Progress, stage: str, total: int) -> Callable[[int], None]:
    """Report ``stage`` as started (0 rows done), then every PROGRESS_EVERY rows and at the end."""
    report(stage, 0, total)

    def tick(done: int) -> None:
        if done % PROGRESS_EVERY == 0 or done == total:
            report(stage, done, total)

    return tick
