"""The console pages benchmark's --quick mode runs end to end, so the script never rots."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_console_pages_benchmark_times_every_page_against_its_target(tmp_path):
    output = tmp_path / "console_pages.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench.console_pages", "--quick", "--output", str(output)],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(output.read_text())
    assert report["database"] == "sqlite"
    pages = report["ms"]
    for page in (
        "live calls JSON (polled every second)",
        "screen-pop with disposition form",
        "missed-enquiries queue (300 open)",
        "customer page",
        "job page",
        "call log, first page",
        "reports, a year by week",
    ):
        assert 0 < pages[page]["p50"] <= pages[page]["p95"], page
        assert report["verdict"][page] in ("MET", "MISSED"), page
    assert report["target_p95_ms"]["reports, a year by week"] == 1000
    assert "p95 target < 100 ms" in result.stdout
