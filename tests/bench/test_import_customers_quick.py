"""The import benchmark's --quick mode still runs and reports (tiny size: a smoke test)."""

from __future__ import annotations

import json

from bench.import_customers import main, report


def test_import_benchmark_reports_rates_ratios_and_the_target(tmp_path, capsys):
    assert main(["--quick", "--results-dir", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "import customers: 300 rows on sqlite" in printed
    assert "x baseline time" in printed
    assert "judged on PostgreSQL only" in printed
    result = json.loads((tmp_path / "import_customers-quick.json").read_text())
    assert result["rows"] == 300
    assert set(result["ratio_to_baseline"]) == {
        "first_import",
        "reimport_unchanged",
        "reimport_10pct_changed",
    }
    assert all(seconds > 0 for seconds in result["seconds"].values())
    assert all(rate > 0 for rate in result["rows_per_s"].values())
    assert result["target"] == {"rows_per_s": 5000, "judged": False, "met": {}}


def test_the_target_is_met_or_missed_for_each_import_on_postgresql():
    rates = {"baseline_executemany_insert": 6000, "first_import": 5200}
    rates["reimport_unchanged"] = 4800
    rates["reimport_10pct_changed"] = 3000
    result = {
        "rows": 100_000,
        "database": "postgresql+psycopg",
        "cpus": 2,
        "load_average_1min": 1.5,
        "seconds": {key: 100_000 / rate for key, rate in rates.items()},
        "rows_per_s": rates,
        "ratio_to_baseline": {key: 1.0 for key in rates},
        "target": {
            "rows_per_s": 5000,
            "judged": True,
            "met": {"first_import": True, "reimport_unchanged": False},
        },
    }
    lines = report(result)
    assert lines[2].endswith("target >= 5,000 rows/s: MET")
    assert lines[3].endswith("target >= 5,000 rows/s: MISSED")
    assert "target" not in lines[4]
