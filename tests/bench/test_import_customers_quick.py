"""The import benchmark still runs and reports its ratio (tiny size: a smoke test, no timing)."""

from __future__ import annotations

import json

from bench.import_customers import main


def test_import_benchmark_reports_seconds_and_ratios(tmp_path, capsys):
    assert main(["--rows", "300", "--results-dir", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "import customers: 300 rows on sqlite" in printed
    assert "x baseline" in printed
    (result_file,) = tmp_path.glob("import_customers-sqlite-*.json")
    result = json.loads(result_file.read_text())
    assert result["rows"] == 300
    assert set(result["ratio_to_baseline"]) == {
        "first_import",
        "reimport_unchanged",
        "reimport_10pct_changed",
    }
    assert all(seconds > 0 for seconds in result["seconds"].values())
