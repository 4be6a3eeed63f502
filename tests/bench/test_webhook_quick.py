"""The webhook benchmark's --quick mode runs end to end, so the script never rots."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# gunicorn's arbiter reads each worker's heartbeat from a file's mtime: under libfaketime
# (the suite's run on a shifted date) it sees every worker as timed out. The benchmark does
# not depend on the date, so its servers run on the real clock.
REAL_CLOCK_ENV = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "FAKETIME")}


@pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk is not installed (.ci/run installs it)"
)
def test_quick_benchmark_measures_both_baselines_and_the_ratios(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.webhook",
            "--quick",
            "--duration",
            "1",
            "--output-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        env=REAL_CLOCK_ENV,
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "webhook-quick-issue.json").read_text())
    assert report["shape"] == "issue"
    runs = {(run["app"], run["connections"]): run for run in report["runs"]}
    assert set(runs) == {("constant", 8), ("store", 8), ("switchboard", 8)}
    for run in runs.values():
        assert run["requests"] > 0 and run["errors"] == 0
        assert run["p99_ms"] >= run["p50_ms"] > 0
    # Switchboard really routed the calls, and the store baseline stored its own: every
    # request is a new CallSid and stores a row; the constant baseline stores nothing.
    for app in ("switchboard", "store"):
        assert runs[(app, 8)]["calls_stored"] >= runs[(app, 8)]["requests"] > 0
        assert runs[(app, 8)]["calls_missing"] == 0
    assert runs[("constant", 8)]["calls_stored"] == 0
    for baseline in ("constant", "store"):
        expected = (
            runs[("switchboard", 8)]["requests_per_s"] / runs[(baseline, 8)]["requests_per_s"]
        )
        assert report["throughput_ratio"][baseline]["8"] == pytest.approx(expected, abs=0.001)
    assert report["targets"]["ratio_met"] in (True, False)
    assert report["rounds"] == 1 and len(report["round_runs"]) == 3
    assert "| Switchboard | 8 |" in result.stdout
    assert "Switchboard / store then answer:" in result.stdout


def test_benchmark_serves_every_app_the_way_the_procfile_runs_the_web_process():
    from bench.webhook.__main__ import procfile_web_options

    procfile = (ROOT / "Procfile").read_text()
    web = next(line for line in procfile.splitlines() if line.startswith("web:"))
    options = procfile_web_options({})
    assert f"--worker-class {options['--worker-class']}" in web
    assert f"--worker-connections {options['--worker-connections']}" in web
    # ${WEB_CONCURRENCY:-2}: the platform's value when set, the Procfile's default otherwise.
    assert options["--workers"] == "2"
    assert procfile_web_options({"WEB_CONCURRENCY": "5"})["--workers"] == "5"
    keep_alive = options["--keep-alive"]
    assert (f"--keep-alive {keep_alive}" in web) or (
        "--keep-alive" not in web and keep_alive == "2"  # gunicorn's default
    )
