"""Directory import from CSV: salespeople and their lines, coordinators, account managers,
customers (headers fixed by PRODUCT.md section 8).

The whole file is validated before anything is written: one bad row and nothing is
imported, and every bad row is reported as ``line N: field: reason``. Re-importing a
file updates what exists (salespeople and users by email, customers by phone, then
email) and never duplicates. Rows repeated inside one file are merged when identical and
refused when they contradict each other.

Each kind has a module of its own that runs three phases in turn: check the rows (parse
and validate each CSV row on its own and against the rows before it), check against the
database (what already exists, who owns it), then write. ``checks`` holds what the
phases share. Lookups are done in bulk and writes in batches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import IO

from sqlalchemy.orm import Session

from models import Role
from models.audit import record

from ..csvfile import CsvRow, ImportFailed, RowError, read_rows
from . import customers, salespeople, users
from .checks import ImportSummary, Progress

__all__ = ["HEADERS", "KINDS", "ImportFailed", "ImportSummary", "RowError", "import_directory"]

HEADERS: dict[str, tuple[str, ...]] = {
    "salespeople": ("name", "email", "mobile_number", "twilio_number"),
    "coordinators": ("name", "email", "phone"),
    "account-managers": ("name", "email", "phone", "capacity"),
    "customers": ("name", "email", "phone", "company", "salesperson_email"),
}
KINDS = tuple(HEADERS)

_IMPORTERS: dict[
    str, Callable[[Session, Sequence[CsvRow], str, Progress, datetime], ImportSummary]
] = {
    "salespeople": salespeople.import_salespeople,
    "coordinators": users.importer_for(Role.COORDINATOR),
    "account-managers": users.importer_for(Role.ACCOUNT_MANAGER),
    "customers": customers.import_customers,
}


def import_directory(
    session: Session,
    kind: str,
    source: IO[bytes] | IO[str] | bytes | str,
    *,
    region: str = "US",
    actor: str = "cli",
    now: datetime,
    progress: Progress | None = None,
) -> ImportSummary:
    """Validate and import one CSV file of ``kind``; ImportFailed lists every bad row.

    The caller owns the transaction: commit after a successful import. On ImportFailed
    nothing has been added to the session.
    """
    if kind not in HEADERS:
        raise ValueError(f"unknown import kind {kind!r}; one of {', '.join(KINDS)}")
    rows = read_rows(source, HEADERS[kind])
    report = progress or (lambda _stage, _done, _total: None)
    summary = _IMPORTERS[kind](session, rows, region.upper(), report, now)
    record(
        session,
        actor=actor,
        entity_type="directory_import",
        entity_id=0,
        action=f"import {kind}",
        details={
            "rows": summary.rows,
            "created": summary.created,
            "updated": summary.updated,
            "unchanged": summary.unchanged,
        },
    )
    session.flush()
    return summary
