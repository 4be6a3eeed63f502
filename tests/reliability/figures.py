"""The reliability suite's figures: each test records what it measured, the run prints one table.

A figure is one line of the closing table, e.g. ``record("emails", "1,000: 0 lost, 0 doubled
under 300 injected faults")``. Figures are kept in a JSON file named by
``SWITCHBOARD_RELIABILITY_FIGURES`` (default ``bench/results/reliability.json``) so README's
Reliability section can be refreshed from the last run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_figures: dict[str, str] = {}


def figures_path() -> Path:
    return Path(
        os.environ.get("SWITCHBOARD_RELIABILITY_FIGURES")
        or ROOT / "bench" / "results" / "reliability.json"
    )


def record(name: str, text: str) -> None:
    """Keep one figure of this run under ``name`` (a later record of the same name wins)."""
    _figures[name] = text


def recorded() -> dict[str, str]:
    return dict(_figures)


def write(figures: dict[str, str]) -> Path:
    path = figures_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    return path
