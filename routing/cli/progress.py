"""How a long import shows it is alive: rows checked, rows written, rate and time left.

On a terminal, rich draws one bar per stage (checking, writing) that updates in place; in a
pipe or a log file, plain lines, one every tenth of the file (at most), that a person or a
log collector can read. Small files finish at once and print nothing.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import IO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

# Below this many rows an import takes well under a second: no progress at all.
SHOW_FROM_ROWS = 1000
STAGES = ("checking", "writing")

Clock = Callable[[], float]


def rate_text(done: int, seconds: float) -> str:
    return f"{done / seconds:,.0f} rows/s" if seconds > 0 else "… rows/s"


def left_text(done: int, total: int, seconds: float) -> str:
    if done <= 0 or seconds <= 0:
        return "time left unknown"
    left = (total - done) * seconds / done
    return f"about {left:,.0f} s left" if left >= 1 else "less than a second left"


class _StageClock:
    """Each stage starts when the one before it ended (the first when the import began),
    or when it reports 0 rows done (the importer says so once the file has been read)."""

    def __init__(self, clock: Clock):
        self.clock = clock
        self._mark = clock()
        self._started: dict[str, float] = {}

    def elapsed(self, stage: str, done: int, total: int) -> float:
        now = self.clock()
        started = self._started.setdefault(stage, now if done == 0 else self._mark)
        if done >= total:
            self._mark = now
        return now - started


class PlainProgress:
    """Plain lines: ``checking 10,000/100,000 rows (8,120 rows/s, about 11 s left)``."""

    def __init__(self, stream: IO[str], clock: Clock = time.monotonic):
        self.stream = stream
        self._clock = _StageClock(clock)
        self._next: dict[str, int] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if total < SHOW_FROM_ROWS:
            return
        seconds = self._clock.elapsed(stage, done, total)
        step = max(total // 10, 1)
        if done < self._next.get(stage, 0) and done != total:
            return
        # The line at 0 gives the size of the file; the next gives a first rate.
        self._next[stage] = done + step if done else 0
        line = f"{stage} {done:,}/{total:,} rows"
        if done == total:
            line += f" ({rate_text(done, seconds)}, done)"
        elif done:
            line += f" ({rate_text(done, seconds)}, {left_text(done, total, seconds)})"
        print(line, file=self.stream, flush=True)

    def close(self) -> None:
        """Nothing to clear: every line is already written."""


class TerminalProgress:
    """One live bar per stage with rows done, rows per second and time left."""

    def __init__(self, console: Console, clock: Clock = time.monotonic):
        self._clock = _StageClock(clock)
        self._bars = Progress(
            TextColumn("{task.description:<9}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rows"),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if total < SHOW_FROM_ROWS:
            return
        if not self._tasks:
            self._bars.start()
        if stage not in self._tasks:
            self._tasks[stage] = self._bars.add_task(stage, total=total, rate="")
        seconds = self._clock.elapsed(stage, done, total)
        self._bars.update(self._tasks[stage], completed=done, rate=rate_text(done, seconds))

    def close(self) -> None:
        if self._tasks:
            self._bars.stop()


def progress_for(stream: IO[str] | None = None) -> PlainProgress | TerminalProgress:
    """Bars on a terminal, plain lines elsewhere (pipes, files, CI logs)."""
    stream = stream or sys.stderr
    if stream.isatty():
        return TerminalProgress(Console(file=stream))
    return PlainProgress(stream)
