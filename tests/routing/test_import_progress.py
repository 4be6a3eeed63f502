"""What a person sees while a large file imports: rows checked and written, rate, time left."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from routing.cli.progress import PlainProgress, TerminalProgress, progress_for
from routing.setup.importer import import_directory


class StepClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_plain_lines_give_rate_and_time_left_about_every_tenth_of_the_file():
    out, clock = io.StringIO(), StepClock()
    progress = PlainProgress(out, clock=clock)
    for done in range(1000, 10_001, 1000):
        clock.now += 0.5  # 1,000 rows every half second
        progress("checking", done, 10_000)
    clock.now += 1.0
    progress("writing", 10_000, 10_000)
    lines = out.getvalue().splitlines()
    assert lines[0] == "checking 1,000/10,000 rows (2,000 rows/s, about 4 s left)"
    assert lines[4] == "checking 5,000/10,000 rows (2,000 rows/s, about 2 s left)"
    assert lines[9] == "checking 10,000/10,000 rows (2,000 rows/s, done)"
    # Writing is timed from the end of checking, not from the start of the import.
    assert lines[10] == "writing 10,000/10,000 rows (10,000 rows/s, done)"
    assert len(lines) == 11


def test_plain_lines_are_one_per_tenth_of_a_huge_file_plus_the_first():
    out = io.StringIO()
    progress = PlainProgress(out, clock=StepClock())
    for done in range(1000, 1_000_001, 1000):
        progress("checking", done, 1_000_000)
    assert len(out.getvalue().splitlines()) == 11


def test_small_files_print_nothing():
    out = io.StringIO()
    progress = PlainProgress(out)
    progress("checking", 999, 999)
    progress("writing", 999, 999)
    assert out.getvalue() == ""


def test_a_terminal_gets_live_bars_with_counts_and_rate():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100, color_system=None)
    progress = TerminalProgress(console, clock=StepClock())
    progress("checking", 5_000, 10_000)
    progress("checking", 10_000, 10_000)
    progress("writing", 10_000, 10_000)
    progress.close()
    shown = out.getvalue()
    assert "checking" in shown and "writing" in shown
    assert "10000/10000" in shown
    assert "rows/s" in shown


def test_a_pipe_gets_plain_lines_and_a_terminal_gets_bars():
    assert isinstance(progress_for(io.StringIO()), PlainProgress)

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert isinstance(progress_for(Tty()), TerminalProgress)


def test_checking_is_timed_from_when_the_file_has_been_read():
    out, clock = io.StringIO(), StepClock()
    progress = PlainProgress(out, clock=clock)
    clock.now += 30.0  # reading a very large file
    progress("checking", 0, 100_000)
    clock.now += 0.1
    progress("checking", 1_000, 100_000)
    clock.now += 1.0
    progress("checking", 11_000, 100_000)
    assert out.getvalue().splitlines() == [
        "checking 0/100,000 rows",
        "checking 1,000/100,000 rows (10,000 rows/s, about 10 s left)",
        "checking 11,000/100,000 rows (10,000 rows/s, about 9 s left)",
    ]


def test_a_large_import_says_how_many_rows_it_will_check_before_checking_them(db_session):
    rows = ["name,email,phone,company,salesperson_email"]
    rows += [f"Customer {i},c{i}@example.com,+1202555{i:04d},,," for i in range(1500)]
    seen: list[tuple[str, int, int]] = []
    import_directory(
        db_session,
        "customers",
        "\n".join(rows),
        progress=lambda *report: seen.append(report),
        now=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    )
    assert seen[0] == ("checking", 0, 1500)
    assert ("checking", 1000, 1500) in seen
    assert seen[-1] == ("writing", 1500, 1500)
