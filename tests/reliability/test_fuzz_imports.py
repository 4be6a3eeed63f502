"""Fuzzed CSV files for ``switchboard import``: accepted, or refused naming line and field.

Hypothesis writes files mixing good rows with odd values (unicode, control characters,
huge numbers, formulas, broken quoting, missing or repeated columns, bytes that are not
UTF-8). Whatever the file, the command never crashes (no traceback), and a refused file
changes nothing: the directory is compared row by row before and after.
"""

from __future__ import annotations

import csv
import io
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from models import Customer, Line, Salesperson, User
from routing.cli import main
from routing.setup.importer import HEADERS
from tests.reliability import figures

EXAMPLES_PER_KIND = 100
_cases: dict[str, list[int]] = {}  # kind -> [accepted, refused]

PHONES = [
    "(312) 555-0101",
    "+1 646 555 0102",
    "312.555.0103",
    "6465550104",
    "+44 20 7946 0958",
    "+1 (415) 555-0100 ext. 5",
]
ODD = [
    "",
    " ",
    "NaN",
    "-1",
    "0",
    "1e309",
    "99999999999999999999999",
    '=HYPERLINK("http://x")',
    "\u202egnp.exe",
    "a" * 300,
    "+",
    "@",
    "x@y",
    "user@@example.com",
    "☎️ 555",
    'Zoë O\'Brien, "the boss"',
    "line\nbreak",
    "nul\x00byte",
    "tab\tand\rreturn",
]


def _good(column: str) -> st.SearchStrategy[str]:
    if column == "email" or column == "salesperson_email":
        return st.builds(lambda n: f"fuzz{n}@example.com", st.integers(0, 12))
    if column in ("phone", "mobile_number", "twilio_number"):
        return st.sampled_from(PHONES) | st.builds(lambda n: f"312555{n:04d}", st.integers(0, 40))
    if column == "capacity":
        return st.sampled_from(["0", "3", "10", "10000", " 7 "])
    return st.sampled_from(["Alice Smith", "Rahul Mehta", "Zoë O'Brien", "Acme Ltd", "李雷"])


def _value(column: str) -> st.SearchStrategy[str]:
    return st.one_of(
        _good(column),
        _good(column),
        st.sampled_from(ODD),
        st.text(max_size=40),
        st.integers(-(10**30), 10**30).map(str),
    )


@st.composite
def csv_files(draw: st.DrawFn, kind: str) -> bytes:
    columns = list(HEADERS[kind])
    if draw(st.booleans()):
        columns.append(draw(st.sampled_from(["notes", "Name", "", "email"])))  # extra/repeated
    if draw(st.integers(0, 9)) == 0:
        columns.remove(draw(st.sampled_from(columns)))  # a required column missing
    columns = draw(st.permutations(columns))
    header = [c.upper() if draw(st.booleans()) else c for c in columns]
    rows = draw(
        st.lists(
            st.fixed_dictionaries({c: _value(c.lower()) for c in columns}), min_size=0, max_size=6
        )
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        cells = [row[c] for c in columns]
        if draw(st.integers(0, 9)) == 0:
            cells = cells[: draw(st.integers(0, len(cells)))]  # a short row
        writer.writerow(cells)
    data = out.getvalue().encode("utf-8")
    damage = draw(st.integers(0, 14))
    if damage == 0:
        data = b"\xef\xbb\xbf" + data  # BOM, as Excel writes
    elif damage == 1:
        data = data + b'"unterminated,quote\n'
    elif damage == 2:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + b"\xff\xfe" + data[at:]  # not UTF-8
    elif damage == 3:
        data = draw(st.binary(max_size=120))
    return data


def _directory(db_session) -> tuple:
    db_session.expire_all()
    return (
        sorted(
            (u.email, u.name, u.phone, u.role.value, u.capacity)
            for u in db_session.scalars(select(User))
        ),
        sorted((s.email, s.name) for s in db_session.scalars(select(Salesperson))),
        sorted((ln.public_number, ln.twilio_number) for ln in db_session.scalars(select(Line))),
        sorted(
            (c.name or "", c.email or "", c.phone or "", c.company or "")
            for c in db_session.scalars(select(Customer))
        ),
    )


ERROR_LINE = re.compile(r"^line (\d+): ([^:]+): .+", re.MULTILINE)


def _check_kind(kind: str, runner, db_session, tmp_path) -> None:
    path = tmp_path / f"{kind}.csv"
    tally = _cases.setdefault(kind, [0, 0])

    @given(data=csv_files(kind))
    @settings(
        max_examples=EXAMPLES_PER_KIND,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def imports(data: bytes) -> None:
        path.write_bytes(data)
        before = _directory(db_session)
        result = runner.invoke(main, ["import", kind, str(path)])
        after = _directory(db_session)
        assert "Traceback" not in result.output, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            f"{type(result.exception).__name__}: {result.exception}\n{result.output}"
        )
        if result.exit_code == 0:
            tally[0] += 1
            assert "Imported" in result.output
        else:
            tally[1] += 1
            assert after == before, "a refused file imported nothing"
            named = ERROR_LINE.findall(result.output)
            assert named, f"the refusal names a line and a field:\n{result.output}"
            allowed = {c.lower() for c in HEADERS[kind]} | {"header", "row", "file"}
            assert {field for _, field in named} <= allowed, result.output

    imports()


def test_fuzzed_csv_imports_are_accepted_or_refused_by_line_and_field(runner, db_session, tmp_path):
    for kind in ("salespeople", "coordinators", "account-managers", "customers"):
        _check_kind(kind, runner, db_session, tmp_path)
    accepted = sum(a for a, _ in _cases.values())
    refused = sum(r for _, r in _cases.values())
    figures.record(
        "fuzz: CSV imports",
        f"{accepted + refused:,} generated files over 4 kinds: {accepted:,} imported, "
        f"{refused:,} refused naming line and field, 0 crashes, 0 partial imports",
    )
