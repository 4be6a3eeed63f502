"""Importing coordinators and account managers (users matched by email).

Check rows → check against the database (an email already used by a user of another
role) → write.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Role, User

from ..csvfile import CsvRow
from .checks import ImportSummary, Progress, RowChecker, chunks, ticker

MAX_CAPACITY = 10_000
_LABELS = {Role.COORDINATOR: "coordinators", Role.ACCOUNT_MANAGER: "account-managers"}


@dataclass
class _UserRow:
    row: CsvRow
    name: str
    email: str
    phone: str
    capacity: int | None


def importer_for(
    role: Role,
) -> Callable[[Session, Sequence[CsvRow], str, Progress, datetime], ImportSummary]:
    def run(
        session: Session, rows: Sequence[CsvRow], region: str, report: Progress, now: datetime
    ) -> ImportSummary:
        check = RowChecker(region)
        parsed = _check_rows(check, rows, role, report)
        users = _check_against_stored(session, check, parsed, role)
        check.raise_if_failed()
        return _write(session, parsed, users, role, report, len(rows))

    return run


# --- check rows ----------------------------------------------------------------------


def _check_rows(
    check: RowChecker, rows: Sequence[CsvRow], role: Role, report: Progress
) -> dict[str, _UserRow]:
    parsed: dict[str, _UserRow] = {}
    tick = ticker(report, "checking", len(rows))
    for done, row in enumerate(rows, 1):
        tick(done)
        errors_before = len(check.errors)
        name = check.required(row, "name")
        email = check.email(row, "email")
        phone = check.phone(row, "phone")
        capacity = _capacity(check, row) if role is Role.ACCOUNT_MANAGER else None
        if len(check.errors) > errors_before:
            continue
        assert name and email and phone
        item = _UserRow(row, name, email, phone, capacity)
        seen = parsed.get(email)
        if seen is not None:
            if (seen.name, seen.phone, seen.capacity) != (name, phone, capacity):
                check.fail(row, "email", f"{email} is also on line {seen.row.line}")
            continue
        parsed[email] = item
    return parsed


def _capacity(check: RowChecker, row: CsvRow) -> int | None:
    raw = row.get("capacity")
    try:
        value = int(raw)
    except ValueError:
        check.fail(row, "capacity", f"must be a whole number of open jobs, got {raw!r}")
        return None
    if not 0 <= value <= MAX_CAPACITY:
        check.fail(row, "capacity", f"must be between 0 and {MAX_CAPACITY}, got {value}")
        return None
    return value


# --- check against the database --------------------------------------------------------


def _check_against_stored(
    session: Session, check: RowChecker, parsed: dict[str, _UserRow], role: Role
) -> dict[str, User]:
    users = {
        u.email: u
        for batch in chunks(parsed)
        for u in session.scalars(select(User).where(User.email.in_(batch)))
    }
    for email, item in parsed.items():
        user = users.get(email)
        if user is not None and user.role != role:
            check.fail(
                item.row, "email", f"{email} is already a user with the role {user.role.value}"
            )
    return users


# --- write -----------------------------------------------------------------------------


def _write(
    session: Session,
    parsed: dict[str, _UserRow],
    users: dict[str, User],
    role: Role,
    report: Progress,
    rows: int,
) -> ImportSummary:
    summary = ImportSummary(_LABELS[role], rows)
    tick = ticker(report, "writing", len(parsed))
    for done, item in enumerate(parsed.values(), 1):
        tick(done)
        user = users.get(item.email)
        if user is None:
            session.add(
                User(
                    email=item.email,
                    name=item.name,
                    phone=item.phone,
                    role=role,
                    capacity=item.capacity or 0,
                    available=True,
                    active=True,
                )
            )
            summary.created += 1
            continue
        wanted: dict[str, Any] = {"name": item.name, "phone": item.phone}
        if item.capacity is not None:
            wanted["capacity"] = item.capacity
        changes = {k: v for k, v in wanted.items() if getattr(user, k) != v}
        for key, value in changes.items():
            setattr(user, key, value)
        if changes:
            summary.updated += 1
        else:
            summary.unchanged += 1
    session.flush()
    return summary
