"""The dispatch benchmark's --quick mode runs end to end, so the script never rots."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.dispatch import judge

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
    # A quick run judges duplicates only: 300 emails say nothing of throughput or memory.
    assert report["met"] == {"duplicates": True}
    assert "target 0 duplicates: 0 — MET" in result.stdout
    assert "on one worker: " in result.stdout and "not judged" in result.stdout


def _run(workers: int, emails_per_s: float, growth: float, duplicates: int = 0) -> dict:
    return {
        "workers": workers,
        "emails_per_s": emails_per_s,
        "rss_growth_mb": growth,
        "duplicates": duplicates,
    }


def test_a_full_postgresql_run_is_judged_on_every_target():
    runs = [_run(1, 285.0, 0.6), _run(2, 420.0, 1.4)]
    assert judge(runs, postgres=True, full=True) == {
        "duplicates": True,
        "emails_per_s_one_worker": True,
        "rss_growth_mb": True,
    }
    slow_and_growing = [_run(1, 150.0, 25.0), _run(2, 300.0, 1.0, duplicates=1)]
    assert judge(slow_and_growing, postgres=True, full=True) == {
        "duplicates": False,
        "emails_per_s_one_worker": False,
        "rss_growth_mb": False,
    }
    assert "emails_per_s_one_worker" not in judge(runs, postgres=False, full=True)
