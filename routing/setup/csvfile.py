"""Reading directory CSV files: UTF-8 (with or without BOM), comma, one header row."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO


@dataclass(frozen=True, order=True)
class RowError:
    """One problem in a file, shown as ``line N: field: reason``."""

    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.reason}"


class ImportFailed(Exception):
    """The file cannot be imported; nothing was written. ``errors`` lists every bad row."""

    def __init__(self, errors: Iterable[RowError]):
        self.errors = sorted(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


@dataclass
class CsvRow:
    """A data row: its line number in the file and its values by (lower-cased) header."""

    line: int
    values: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str:
        return (self.values.get(name) or "").strip()


def read_rows(source: IO[bytes] | IO[str] | bytes | str, required: tuple[str, ...]) -> list[CsvRow]:
    """Every non-blank data row of ``source``; ImportFailed if the file or its header is bad.

    Extra columns are ignored; header names are matched without regard to case or
    surrounding spaces so spreadsheets' habits do not break an import.
    """
    text = _decode(source)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFailed([RowError(1, "header", "the file is empty")]) from None
    except csv.Error as exc:
        raise ImportFailed([RowError(1, "header", f"not a CSV header ({exc})")]) from None
    names = [h.strip().lower() for h in header]
    missing = [name for name in required if name not in names]
    if missing:
        raise ImportFailed(
            [
                RowError(
                    1,
                    "header",
                    f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                    f"(expected {','.join(required)})",
                )
            ]
        )
    rows: list[CsvRow] = []
    errors: list[RowError] = []
    line = reader.line_num
    while True:
        start = line + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(RowError(start, "row", f"not valid CSV ({exc})"))
            break
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        values = {name: record[i] if i < len(record) else "" for i, name in enumerate(names)}
        rows.append(CsvRow(start, values))
    if errors:
        raise ImportFailed(errors)
    return rows


def _decode(source: IO[bytes] | IO[str] | bytes | str) -> str:
    data = source if isinstance(source, bytes | str) else source.read()
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportFailed(
            [RowError(line, "file", "not UTF-8 text (save the file as CSV UTF-8)")]
        ) from None
