"""The dispatch benchmark's --quick mode runs end to end, so the script never rots."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_dispatch_benchmark_sends_every_email_once(tmp_path):
    output = tmp_path / "dispatch.json"
    env_free_of_postgres = {k: v for k, v in os.environ.items() if k != "BENCH_DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "bench.dispatch", "--quick", "--output", str(output)],
        cwd=ROOT,
        env=env_free_of_postgres,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(output.read_text())
    assert report["baseline_emails_per_s"] > 0
    [run] = report["runs"]
    assert run["workers"] == 1
    assert run["emails"] == 300
    assert run["stub_requests"] == 300
    assert run["duplicates"] == 0
    assert run["emails_per_s"] > 0
    assert run["ratio_to_baseline"] > 0
    assert run["peak_rss_mb"] >= run["final_rss_mb"] > 0
    assert "emails/s" in result.stdout
