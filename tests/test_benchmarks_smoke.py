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

ROOT = Path(__file__).resolve().parent.parent


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
