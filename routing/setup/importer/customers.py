"""Importing customers (matched by phone, then by email; owned by a salesperson).

Check rows → check against the database (the stored customer each row updates, and rows
whose phone and email belong to two different customers) → write in batches. Blank
cells never erase what the directory already knows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from models import Customer, Salesperson

from ..csvfile import CsvRow
from .bulk import batch_size, insert_rows, one_of
from .checks import ImportSummary, Progress, RowChecker, chunks, ticker


@dataclass
class _CustomerRow:
    row: CsvRow
    name: str
    phone: str | None
    email: str | None
    company: str | None
    salesperson_id: int | None

    def key(self) -> tuple[Any, ...]:
        return (self.name, self.phone, self.email, self.company, self.salesperson_id)


@dataclass
class _FileCustomers:
    """The rows that passed so far, by phone and by email."""

    parsed: list[_CustomerRow] = field(default_factory=list)
    by_phone: dict[str, _CustomerRow] = field(default_factory=dict)
    by_email: dict[str, _CustomerRow] = field(default_factory=dict)

    def add(self, check: RowChecker, item: _CustomerRow) -> None:
        """Keep ``item`` unless it repeats (merged) or contradicts (an error) an earlier row."""
        phone, email = item.phone, item.email
        repeat = (self.by_phone.get(phone) if phone else None) or (
            self.by_email.get(email) if email else None
        )
        if repeat is not None:
            if repeat.key() != item.key():
                field = "phone" if phone and self.by_phone.get(phone) is repeat else "email"
                check.fail(item.row, field, f"this customer is also on line {repeat.row.line}")
            return  # identical repeats are merged
        if phone:
            self.by_phone[phone] = item
        if email:
            self.by_email[email] = item
        self.parsed.append(item)


_NEW_COLUMNS = (
    "name",
    "phone",
    "email",
    "company",
    "salesperson_id",
    "is_lead",
    "email_undeliverable",
    "created_at",
    "updated_at",
)
_CUSTOMER_COLUMNS = (
    Customer.id,
    Customer.name,
    Customer.phone,
    Customer.email,
    Customer.company,
    Customer.salesperson_id,
    Customer.is_lead,
)


def import_customers(
    session: Session, rows: Sequence[CsvRow], region: str, report: Progress, now: datetime
) -> ImportSummary:
    check = RowChecker(region)
    salespeople = {
        row.email: row.id for row in session.execute(select(Salesperson.email, Salesperson.id))
    }
    customers = _check_rows(check, rows, salespeople, report)
    matches = _check_against_stored(session, check, customers)
    check.raise_if_failed()
    return _write(session, matches, report, len(rows), now)


# --- check rows ----------------------------------------------------------------------


def _check_rows(
    check: RowChecker, rows: Sequence[CsvRow], salespeople: dict[str, int], report: Progress
) -> _FileCustomers:
    customers = _FileCustomers()
    tick = ticker(report, "checking", len(rows))
    for done, row in enumerate(rows, 1):
        tick(done)
        item = _parse_row(check, row, salespeople)
        if item is not None:
            customers.add(check, item)
    return customers


def _parse_row(check: RowChecker, row: CsvRow, salespeople: dict[str, int]) -> _CustomerRow | None:
    errors_before = len(check.errors)
    name = check.required(row, "name")
    phone = check.phone(row, "phone", required=False)
    email = check.email(row, "email", required=False)
    company = check.optional_text(row, "company")
    owner_email = check.email(row, "salesperson_email", required=False, memo=True)
    salesperson_id = None
    if owner_email:
        salesperson_id = salespeople.get(owner_email)
        if salesperson_id is None:
            check.fail(row, "salesperson_email", f"no salesperson has the email {owner_email}")
    if not row.get("phone") and not row.get("email"):
        check.fail(row, "phone", "a phone number or an email address is required")
    if len(check.errors) > errors_before:
        return None
    assert name
    return _CustomerRow(row, name, phone, email, company, salesperson_id)


# --- check against the database --------------------------------------------------------


def _check_against_stored(
    session: Session, check: RowChecker, customers: _FileCustomers
) -> list[tuple[_CustomerRow, Any]]:
    """Each row with the stored customer it updates (None for a new customer)."""
    stored_by_phone, stored_by_email = _load_stored(session, customers.parsed)
    matches: list[tuple[_CustomerRow, Any]] = []
    for item in customers.parsed:
        phone_match = stored_by_phone.get(item.phone) if item.phone else None
        email_match = stored_by_email.get(item.email) if item.email else None
        if phone_match is not None and email_match is not None and phone_match.id != email_match.id:
            check.fail(
                item.row,
                "email",
                f"{item.email} belongs to {email_match.name!r}, but {item.phone} to "
                f"{phone_match.name!r}",
            )
            continue
        matches.append((item, phone_match or email_match))
    return matches


def _load_stored(
    session: Session, parsed: list[_CustomerRow]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The stored customers with a phone or an email of the file: one query per batch."""
    by_phone: dict[str, Any] = {}
    by_email: dict[str, Any] = {}
    for batch in chunks(parsed, batch_size(session)):
        phones = [item.phone for item in batch if item.phone]
        emails = [item.email for item in batch if item.email]
        stmt = select(*_CUSTOMER_COLUMNS).where(
            or_(one_of(session, Customer.phone, phones), one_of(session, Customer.email, emails))
        )
        for found in session.execute(stmt):
            # Lowest id first: when earlier data holds duplicates, the oldest record wins.
            for key, stored in ((found.phone, by_phone), (found.email, by_email)):
                if key is not None and (key not in stored or found.id < stored[key].id):
                    stored[key] = found
    return by_phone, by_email


# --- write -----------------------------------------------------------------------------


def _write(
    session: Session,
    matches: list[tuple[_CustomerRow, Any]],
    report: Progress,
    rows: int,
    now: datetime,
) -> ImportSummary:
    summary = ImportSummary("customers", rows)
    new_rows: list[tuple[Any, ...]] = []
    changed_rows: list[dict[str, Any]] = []
    for item, found in matches:
        if found is None:
            new_rows.append(
                (item.name, item.phone, item.email, item.company, item.salesperson_id)
                + (False, False, now, now)
            )
            continue
        merged = _merged_row(item, found)
        if merged is None:
            summary.unchanged += 1
            continue
        merged["updated_at"] = now
        changed_rows.append(merged)
    # Unchanged rows need no writing: they count as written at once.
    done, total = summary.unchanged, len(matches)
    size = batch_size(session)
    for batch in chunks(new_rows, size):
        report("writing", done, total)
        insert_rows(session, Customer.__table__, _NEW_COLUMNS, batch)
        done += len(batch)
    for batch in chunks(changed_rows, size):
        report("writing", done, total)
        session.execute(update(Customer), batch)
        done += len(batch)
    if total:
        report("writing", done, total)
    summary.created = len(new_rows)
    summary.updated = len(changed_rows)
    return summary


def _merged_row(item: _CustomerRow, found: Any) -> dict[str, Any] | None:
    """The stored customer's new values, or None when the row changes nothing."""
    # Blank cells never erase what the directory already knows.
    merged = {
        "id": found.id,
        "name": item.name,
        "phone": item.phone or found.phone,
        "email": item.email or found.email,
        "company": item.company or found.company,
        "salesperson_id": item.salesperson_id or found.salesperson_id,
        "is_lead": False,
    }
    current = {k: getattr(found, k) for k in merged}
    return None if merged == current else merged
