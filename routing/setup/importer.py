"""Directory import from CSV: salespeople and their lines, coordinators, account managers,
customers (headers fixed by PRODUCT.md section 8).

The whole file is validated before anything is written: one bad row and nothing is
imported, and every bad row is reported as ``line N: field: reason``. Re-importing a
file updates what exists (salespeople and users by email, customers by phone, then
email) and never duplicates. Rows repeated inside one file are merged when identical and
refused when they contradict each other.

Lookups are done in bulk (chunked ``IN`` queries) and writes with executemany, so a file
of ten thousand customers imports in a second or two.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from models import Customer, Line, OrgSettings, Role, Salesperson, User, utcnow
from models.audit import record
from models.contact import InvalidContact, normalise_email, normalise_phone

from .csvfile import CsvRow, ImportFailed, RowError, read_rows

__all__ = ["HEADERS", "KINDS", "ImportFailed", "ImportSummary", "RowError", "import_directory"]

HEADERS: dict[str, tuple[str, ...]] = {
    "salespeople": ("name", "email", "mobile_number", "twilio_number"),
    "coordinators": ("name", "email", "phone"),
    "account-managers": ("name", "email", "phone", "capacity"),
    "customers": ("name", "email", "phone", "company", "salesperson_email"),
}
KINDS = tuple(HEADERS)

# (stage, rows done, rows in total); stages are "checking" and "writing".
Progress = Callable[[str, int, int], None]
PROGRESS_EVERY = 1000
# Well under SQLite's and PostgreSQL's limits on bound parameters.
CHUNK = 500
MAX_CAPACITY = 10_000


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


def import_directory(
    session: Session,
    kind: str,
    source: IO[bytes] | IO[str] | bytes | str,
    *,
    region: str = "US",
    actor: str = "cli",
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ImportSummary:
    """Validate and import one CSV file of ``kind``; ImportFailed lists every bad row.

    The caller owns the transaction: commit after a successful import. On ImportFailed
    nothing has been added to the session.
    """
    if kind not in HEADERS:
        raise ValueError(f"unknown import kind {kind!r}; one of {', '.join(KINDS)}")
    rows = read_rows(source, HEADERS[kind])
    report = progress or (lambda _stage, _done, _total: None)
    importer = _IMPORTERS[kind]
    summary = importer(session, rows, region.upper(), report, now or utcnow())
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


# --- shared checks -------------------------------------------------------------------


class _Checker:
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


def _chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    batch: list[Any] = []
    for value in values:
        batch.append(value)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def _ticker(report: Progress, stage: str, total: int) -> Callable[[int], None]:
    def tick(done: int) -> None:
        if done % PROGRESS_EVERY == 0 or done == total:
            report(stage, done, total)

    return tick


# --- salespeople and their lines -------------------------------------------------------


@dataclass
class _LineRow:
    row: CsvRow
    name: str
    email: str
    mobile: str
    twilio: str


def _import_salespeople(
    session: Session, rows: Sequence[CsvRow], region: str, report: Progress, now: datetime
) -> ImportSummary:
    check = _Checker(region)
    parsed: list[_LineRow] = []
    by_twilio: dict[str, _LineRow] = {}
    by_mobile: dict[str, _LineRow] = {}
    name_of: dict[str, _LineRow] = {}
    tick = _ticker(report, "checking", len(rows))
    for done, row in enumerate(rows, 1):
        tick(done)
        errors_before = len(check.errors)
        name = check.required(row, "name")
        email = check.email(row, "email")
        mobile = check.phone(row, "mobile_number")
        twilio = check.phone(row, "twilio_number")
        if len(check.errors) > errors_before:
            continue
        assert name and email and mobile and twilio
        if mobile == twilio:
            check.fail(row, "twilio_number", "is the same number as mobile_number")
            continue
        item = _LineRow(row, name, email, mobile, twilio)
        first = name_of.setdefault(email, item)
        if first.name != name:
            check.fail(row, "name", f"{email} is named {first.name!r} on line {first.row.line}")
            continue
        seen = by_twilio.get(twilio)
        if seen is not None:
            if (seen.email, seen.mobile) != (email, mobile):
                check.fail(row, "twilio_number", f"{twilio} is also on line {seen.row.line}")
            continue  # an identical repeat of a row: merged
        seen = by_mobile.get(mobile)
        if seen is not None:
            check.fail(row, "mobile_number", f"{mobile} is also on line {seen.row.line}")
            continue
        # A number diverted to itself, or to another diverted number, would loop calls.
        seen = by_twilio.get(mobile) or by_mobile.get(twilio)
        if seen is not None:
            field = "mobile_number" if by_twilio.get(mobile) else "twilio_number"
            number = mobile if field == "mobile_number" else twilio
            check.fail(row, field, f"{number} is also a number of line {seen.row.line}")
            continue
        by_twilio[twilio] = by_mobile[mobile] = item
        parsed.append(item)

    people = {
        p.email: p
        for batch in _chunks(name_of)
        for p in session.scalars(select(Salesperson).where(Salesperson.email.in_(batch)))
    }
    lines_by_twilio: dict[str, Line] = {}
    lines_by_mobile: dict[str, Line] = {}
    for batch in _chunks(by_twilio):
        for line in session.scalars(select(Line).where(Line.twilio_number.in_(batch))):
            lines_by_twilio[line.twilio_number] = line
    for batch in _chunks(by_mobile):
        for line in session.scalars(select(Line).where(Line.public_number.in_(batch))):
            lines_by_mobile[line.public_number] = line

    crossed: set[str] = set()
    for batch in _chunks(by_mobile):
        crossed.update(
            session.scalars(select(Line.twilio_number).where(Line.twilio_number.in_(batch)))
        )
    for batch in _chunks(by_twilio):
        crossed.update(
            session.scalars(select(Line.public_number).where(Line.public_number.in_(batch)))
        )
    # Calls to the dial-in number join teleconferences: it can be no salesperson's line.
    dial_in = set(session.scalars(select(OrgSettings.teleconference_number)))
    for item in parsed:
        if item.twilio in dial_in:
            check.fail(item.row, "twilio_number", f"{item.twilio} is the teleconference dial-in")
            continue
        if item.mobile in crossed or item.twilio in crossed:
            field = "mobile_number" if item.mobile in crossed else "twilio_number"
            number = item.mobile if field == "mobile_number" else item.twilio
            check.fail(item.row, field, f"{number} is already a number of another line")
            continue
        existing = lines_by_twilio.get(item.twilio)
        if existing is not None and existing.salesperson.email != item.email:
            owner = existing.salesperson
            check.fail(
                item.row,
                "twilio_number",
                f"{item.twilio} is already the Twilio number of {owner.name}'s line "
                f"({owner.email})",
            )
            continue
        same_mobile = lines_by_mobile.get(item.mobile)
        if same_mobile is not None and same_mobile.salesperson.email != item.email:
            owner = same_mobile.salesperson
            check.fail(
                item.row,
                "mobile_number",
                f"{item.mobile} is already a line of {owner.name} ({owner.email})",
            )
            continue
        if existing is not None and same_mobile is not None and existing is not same_mobile:
            check.fail(
                item.row,
                "mobile_number",
                f"{item.mobile} is already diverted to {same_mobile.twilio_number}",
            )
    check.raise_if_failed()

    summary = ImportSummary("salespeople", len(rows))
    tick = _ticker(report, "writing", len(parsed))
    for done, item in enumerate(parsed, 1):
        tick(done)
        changed = False
        person = people.get(item.email)
        if person is None:
            person = Salesperson(name=item.name, email=item.email)
            session.add(person)
            people[item.email] = person
            changed = True
        elif person.name != item.name:
            person.name = item.name
            changed = True
        line = lines_by_twilio.get(item.twilio) or lines_by_mobile.get(item.mobile)
        if line is None:
            person.lines.append(Line(public_number=item.mobile, twilio_number=item.twilio))
            summary.created += 1
            continue
        if line.public_number != item.mobile:
            line.public_number = item.mobile
            changed = True
        if line.twilio_number != item.twilio:
            line.twilio_number = item.twilio
            changed = True
        if changed:
            summary.updated += 1
        else:
            summary.unchanged += 1
    session.flush()
    return summary


# --- coordinators and account managers ---------------------------------------------------


@dataclass
class _UserRow:
    row: CsvRow
    name: str
    email: str
    phone: str
    capacity: int | None


def _import_users(
    role: Role,
) -> Callable[[Session, Sequence[CsvRow], str, Progress, datetime], Any]:
    label = {Role.COORDINATOR: "coordinators", Role.ACCOUNT_MANAGER: "account-managers"}[role]

    def run(
        session: Session, rows: Sequence[CsvRow], region: str, report: Progress, now: datetime
    ) -> ImportSummary:
        check = _Checker(region)
        parsed: dict[str, _UserRow] = {}
        tick = _ticker(report, "checking", len(rows))
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

        users = {
            u.email: u
            for batch in _chunks(parsed)
            for u in session.scalars(select(User).where(User.email.in_(batch)))
        }
        for email, item in parsed.items():
            user = users.get(email)
            if user is not None and user.role != role:
                check.fail(
                    item.row,
                    "email",
                    f"{email} is already a user with the role {user.role.value}",
                )
        check.raise_if_failed()

        summary = ImportSummary(label, len(rows))
        tick = _ticker(report, "writing", len(parsed))
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

    return run


def _capacity(check: _Checker, row: CsvRow) -> int | None:
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


# --- customers -----------------------------------------------------------------------


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


_CUSTOMER_COLUMNS = (
    Customer.id,
    Customer.name,
    Customer.phone,
    Customer.email,
    Customer.company,
    Customer.salesperson_id,
    Customer.is_lead,
)


def _import_customers(
    session: Session, rows: Sequence[CsvRow], region: str, report: Progress, now: datetime
) -> ImportSummary:
    check = _Checker(region)
    salespeople = {
        row.email: row.id for row in session.execute(select(Salesperson.email, Salesperson.id))
    }
    parsed: list[_CustomerRow] = []
    by_phone: dict[str, _CustomerRow] = {}
    by_email: dict[str, _CustomerRow] = {}
    tick = _ticker(report, "checking", len(rows))
    for done, row in enumerate(rows, 1):
        tick(done)
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
            continue
        assert name
        item = _CustomerRow(row, name, phone, email, company, salesperson_id)
        repeat = (by_phone.get(phone) if phone else None) or (
            by_email.get(email) if email else None
        )
        if repeat is not None:
            if repeat.key() != item.key():
                field = "phone" if phone and by_phone.get(phone) is repeat else "email"
                check.fail(row, field, f"this customer is also on line {repeat.row.line}")
            continue  # identical repeats are merged
        if phone:
            by_phone[phone] = item
        if email:
            by_email[email] = item
        parsed.append(item)

    existing_by_phone: dict[str, Any] = {}
    existing_by_email: dict[str, Any] = {}
    # Lowest id first: when earlier data holds duplicates, the oldest record wins.
    for batch in _chunks(by_phone):
        stmt = select(*_CUSTOMER_COLUMNS).where(Customer.phone.in_(batch)).order_by(Customer.id)
        for found in session.execute(stmt):
            existing_by_phone.setdefault(found.phone, found)
    for batch in _chunks(by_email):
        stmt = select(*_CUSTOMER_COLUMNS).where(Customer.email.in_(batch)).order_by(Customer.id)
        for found in session.execute(stmt):
            existing_by_email.setdefault(found.email, found)

    matches: list[tuple[_CustomerRow, Any]] = []
    for item in parsed:
        phone_match = existing_by_phone.get(item.phone) if item.phone else None
        email_match = existing_by_email.get(item.email) if item.email else None
        if phone_match is not None and email_match is not None and phone_match.id != email_match.id:
            check.fail(
                item.row,
                "email",
                f"{item.email} belongs to {email_match.name!r}, but {item.phone} to "
                f"{phone_match.name!r}",
            )
            continue
        matches.append((item, phone_match or email_match))
    check.raise_if_failed()

    summary = ImportSummary("customers", len(rows))
    new_rows: list[dict[str, Any]] = []
    changed_rows: list[dict[str, Any]] = []
    tick = _ticker(report, "writing", len(matches))
    for done, (item, found) in enumerate(matches, 1):
        tick(done)
        if found is None:
            new_rows.append(
                {
                    "name": item.name,
                    "phone": item.phone,
                    "email": item.email,
                    "company": item.company,
                    "salesperson_id": item.salesperson_id,
                    "is_lead": False,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            continue
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
        if merged == current:
            summary.unchanged += 1
            continue
        merged["updated_at"] = now
        changed_rows.append(merged)
    for batch in _chunks(new_rows):
        # render_nulls keeps every row's columns identical, so the batch goes out as one
        # statement; RETURNING lets SQLAlchemy use multi-row VALUES ("insertmanyvalues")
        # where psycopg would otherwise send a statement per row.
        session.execute(
            insert(Customer).returning(Customer.id).execution_options(render_nulls=True), batch
        )
    for batch in _chunks(changed_rows):
        session.execute(update(Customer), batch)
    summary.created = len(new_rows)
    summary.updated = len(changed_rows)
    return summary


_IMPORTERS: dict[
    str, Callable[[Session, Sequence[CsvRow], str, Progress, datetime], ImportSummary]
] = {
    "salespeople": _import_salespeople,
    "coordinators": _import_users(Role.COORDINATOR),
    "account-managers": _import_users(Role.ACCOUNT_MANAGER),
    "customers": _import_customers,
}
