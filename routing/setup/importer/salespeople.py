"""Importing salespeople and their lines (mobile number diverted from a Twilio number).

Check rows → check against the database → write; nothing is written unless every row
passes both checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Line, OrgSettings, Salesperson

from ..csvfile import CsvRow
from .checks import ImportSummary, Progress, RowChecker, chunks, ticker


@dataclass
class _LineRow:
    row: CsvRow
    name: str
    email: str
    mobile: str
    twilio: str


@dataclass
class _FileLines:
    """The rows that passed so far, by each key a later row may repeat or contradict."""

    parsed: list[_LineRow] = field(default_factory=list)
    by_twilio: dict[str, _LineRow] = field(default_factory=dict)
    by_mobile: dict[str, _LineRow] = field(default_factory=dict)
    name_of: dict[str, _LineRow] = field(default_factory=dict)

    def add(self, check: RowChecker, item: _LineRow) -> None:
        """Keep ``item`` unless it repeats (merged) or contradicts (an error) an earlier row."""
        row, email, mobile, twilio = item.row, item.email, item.mobile, item.twilio
        first = self.name_of.setdefault(email, item)
        if first.name != item.name:
            check.fail(row, "name", f"{email} is named {first.name!r} on line {first.row.line}")
            return
        seen = self.by_twilio.get(twilio)
        if seen is not None:
            if (seen.email, seen.mobile) != (email, mobile):
                check.fail(row, "twilio_number", f"{twilio} is also on line {seen.row.line}")
            return  # an identical repeat of a row: merged
        seen = self.by_mobile.get(mobile)
        if seen is not None:
            check.fail(row, "mobile_number", f"{mobile} is also on line {seen.row.line}")
            return
        # A number diverted to itself, or to another diverted number, would loop calls.
        seen = self.by_twilio.get(mobile) or self.by_mobile.get(twilio)
        if seen is not None:
            field = "mobile_number" if self.by_twilio.get(mobile) else "twilio_number"
            number = mobile if field == "mobile_number" else twilio
            check.fail(row, field, f"{number} is also a number of line {seen.row.line}")
            return
        self.by_twilio[twilio] = self.by_mobile[mobile] = item
        self.parsed.append(item)


@dataclass
class _Stored:
    """What the database already holds for the numbers and emails of the file."""

    people: dict[str, Salesperson]
    lines_by_twilio: dict[str, Line]
    lines_by_mobile: dict[str, Line]
    # Numbers of the file stored on the other side of a line (a mobile as a Twilio number).
    crossed: set[str]
    dial_in: set[str]


def import_salespeople(
    session: Session, rows: Sequence[CsvRow], region: str, report: Progress, now: datetime
) -> ImportSummary:
    check = RowChecker(region)
    lines = _check_rows(check, rows, report)
    stored = _load_stored(session, lines)
    for item in lines.parsed:
        _check_against_stored(check, item, stored)
    check.raise_if_failed()
    return _write(session, lines.parsed, stored, report, len(rows))


# --- check rows ----------------------------------------------------------------------


def _check_rows(check: RowChecker, rows: Sequence[CsvRow], report: Progress) -> _FileLines:
    lines = _FileLines()
    tick = ticker(report, "checking", len(rows))
    for done, row in enumerate(rows, 1):
        tick(done)
        item = _parse_row(check, row)
        if item is not None:
            lines.add(check, item)
    return lines


def _parse_row(check: RowChecker, row: CsvRow) -> _LineRow | None:
    errors_before = len(check.errors)
    name = check.required(row, "name")
    email = check.email(row, "email")
    mobile = check.phone(row, "mobile_number")
    twilio = check.phone(row, "twilio_number")
    if len(check.errors) > errors_before:
        return None
    assert name and email and mobile and twilio
    if mobile == twilio:
        check.fail(row, "twilio_number", "is the same number as mobile_number")
        return None
    return _LineRow(row, name, email, mobile, twilio)


# --- check against the database --------------------------------------------------------


def _load_stored(session: Session, lines: _FileLines) -> _Stored:
    people = {
        p.email: p
        for batch in chunks(lines.name_of)
        for p in session.scalars(select(Salesperson).where(Salesperson.email.in_(batch)))
    }
    lines_by_twilio: dict[str, Line] = {}
    lines_by_mobile: dict[str, Line] = {}
    for batch in chunks(lines.by_twilio):
        for line in session.scalars(select(Line).where(Line.twilio_number.in_(batch))):
            lines_by_twilio[line.twilio_number] = line
    for batch in chunks(lines.by_mobile):
        for line in session.scalars(select(Line).where(Line.public_number.in_(batch))):
            lines_by_mobile[line.public_number] = line
    crossed: set[str] = set()
    for batch in chunks(lines.by_mobile):
        crossed.update(
            session.scalars(select(Line.twilio_number).where(Line.twilio_number.in_(batch)))
        )
    for batch in chunks(lines.by_twilio):
        crossed.update(
            session.scalars(select(Line.public_number).where(Line.public_number.in_(batch)))
        )
    dial_in = set(session.scalars(select(OrgSettings.teleconference_number)))
    return _Stored(people, lines_by_twilio, lines_by_mobile, crossed, dial_in)


def _check_against_stored(check: RowChecker, item: _LineRow, stored: _Stored) -> None:
    # Calls to the dial-in number join teleconferences: it can be no salesperson's line.
    if item.twilio in stored.dial_in:
        check.fail(item.row, "twilio_number", f"{item.twilio} is the teleconference dial-in")
        return
    if item.mobile in stored.crossed or item.twilio in stored.crossed:
        field = "mobile_number" if item.mobile in stored.crossed else "twilio_number"
        number = item.mobile if field == "mobile_number" else item.twilio
        check.fail(item.row, field, f"{number} is already a number of another line")
        return
    existing = stored.lines_by_twilio.get(item.twilio)
    if existing is not None and existing.salesperson.email != item.email:
        owner = existing.salesperson
        check.fail(
            item.row,
            "twilio_number",
            f"{item.twilio} is already the Twilio number of {owner.name}'s line ({owner.email})",
        )
        return
    same_mobile = stored.lines_by_mobile.get(item.mobile)
    if same_mobile is not None and same_mobile.salesperson.email != item.email:
        owner = same_mobile.salesperson
        check.fail(
            item.row,
            "mobile_number",
            f"{item.mobile} is already a line of {owner.name} ({owner.email})",
        )
        return
    if existing is not None and same_mobile is not None and existing is not same_mobile:
        check.fail(
            item.row,
            "mobile_number",
            f"{item.mobile} is already diverted to {same_mobile.twilio_number}",
        )


# --- write -----------------------------------------------------------------------------


def _write(
    session: Session, parsed: list[_LineRow], stored: _Stored, report: Progress, rows: int
) -> ImportSummary:
    summary = ImportSummary("salespeople", rows)
    tick = ticker(report, "writing", len(parsed))
    for done, item in enumerate(parsed, 1):
        tick(done)
        outcome = _write_line(session, item, stored)
        setattr(summary, outcome, getattr(summary, outcome) + 1)
    session.flush()
    return summary


def _write_line(session: Session, item: _LineRow, stored: _Stored) -> str:
    """Create or update the salesperson and the line; say which summary count it adds to."""
    changed = False
    person = stored.people.get(item.email)
    if person is None:
        person = Salesperson(name=item.name, email=item.email)
        session.add(person)
        stored.people[item.email] = person
        changed = True
    elif person.name != item.name:
        person.name = item.name
        changed = True
    line = stored.lines_by_twilio.get(item.twilio) or stored.lines_by_mobile.get(item.mobile)
    if line is None:
        person.lines.append(Line(public_number=item.mobile, twilio_number=item.twilio))
        return "created"
    if line.public_number != item.mobile:
        line.public_number = item.mobile
        changed = True
    if line.twilio_number != item.twilio:
        line.twilio_number = item.twilio
        changed = True
    return "updated" if changed else "unchanged"
