"""The benchmark package still runs: a tiny core scenario, end to end, counted.

Not a speed test (figures live in docs/benchmarks.md): this checks that
``python -m benchmarks core`` starts its receiver and ``hookpost serve``,
delivers every event, finds each one logged through the API, and writes its
JSON report -- so a refactoring cannot silently break the tooling that
measures it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_core_benchmark_completes_and_counts(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks", "core", "--events", "40", "--endpoints", "2",
         "--rate", "5", "--output", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    report = json.loads(out.read_text())
    (throughput,) = report["throughput"]
    assert throughput["expected_deliveries"] == 80
    assert throughput["delivered_unique"] == 80
    assert throughput["duplicates"] == 0
    assert throughput["verify"]["ok"] is True
    assert throughput["verify"]["succeeded_listed"] == 80
    assert report["latency"]["delivered_unique"] == report["latency"]["events"] > 0
    assert report["ceiling"]["ok"] == report["ceiling"]["received_by_receiver"] > 0


def test_destinations_benchmark_counts_every_delivery(tmp_path: Path) -> None:
    """``python -m benchmarks destinations``: each destination a row, measured or skipped."""
    out = tmp_path / "destinations.json"
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks", "destinations", "--events", "20",
         "--only", "http,redis", "--output", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    rows = {r["destination"]: r for r in json.loads(out.read_text())["destinations"]}
    assert rows["http"]["complete"] is True and rows["http"]["arrived"] == 20
    redis = rows["redis"]
    assert "skipped" in redis or (redis["complete"] is True and redis["arrived"] == 20)


def test_hotpath_benchmark_completes_and_counts(tmp_path: Path) -> None:
    """``python -m benchmarks hotpath`` at tiny sizes: every part runs, every count adds up,
    and every target gets its pass/miss line (the figures themselves are not judged)."""
    out = tmp_path / "hotpath.json"
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks", "hotpath", "--events", "30", "--e2e-events", "12",
         "--rate", "4", "--sequential", "5", "--batch-events", "60", "--batch-size", "25",
         "--output", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=420,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["r_route"]["stored"] == 30 and report["r_route"]["complete"]
    assert report["publish_sqlite"]["verify"] == {
        "events_listed": 30, "deliveries_listed": 30, "ok": True
    }  # fmt: skip
    assert report["publish_pg"]["verify"]["ok"] is True
    assert report["one_at_a_time_sqlite"]["complete"] and report["one_at_a_time_pg"]["complete"]
    assert report["e2e_10"]["delivered_unique"] == 120 and report["e2e_10"]["duplicates"] == 0
    assert report["e2e_1"]["verify"]["succeeded_listed"] == 12
    assert report["pg_workers_10"]["delivered_unique"] == 120
    assert report["pg_workers_10"]["verify"]["ok"] is True
    assert report["latency"]["delivered_unique"] == report["latency"]["events"] == 40
    assert report["batch_sqlite"]["item_statuses"] == {"202": 60}
    assert report["batch_sqlite"]["verify"]["ok"] is True
    assert report["r_bare"]["ok"] == report["r_bare"]["received_by_receiver"] == 120
    assert {t["target"] for t in report["targets"]} == {
        "1", "2", "3", "4", "5a", "5b", "6a", "6b", "7", "8"
    }  # fmt: skip
    lines = [ln for ln in run.stdout.splitlines() if ln.startswith("target ")]
    assert len(lines) == len(report["targets"])
    assert all(": pass: " in ln or ": miss: " in ln for ln in lines)
