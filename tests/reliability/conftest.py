"""The reliability suite: real processes under injected faults (``make reliability``).

Every test here is marked ``reliability``; ``make test`` leaves them out and
``make reliability`` runs only them (on PostgreSQL in CI). At the end of a run the figures
that the tests recorded are printed as one table and written to JSON (see ``figures``).
"""

from __future__ import annotations

import pytest

# The name the tests import it by (a relative import would load a second copy whose
# figures nobody records).
from tests.reliability import figures


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/reliability/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.reliability)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001
    found = figures.recorded()
    if not found:
        return
    path = figures.write(found)
    terminalreporter.section("reliability figures")
    width = max(len(name) for name in found)
    for name, text in sorted(found.items()):
        terminalreporter.write_line(f"{name.ljust(width)}  {text}")
    terminalreporter.write_line(f"(written to {path})")
