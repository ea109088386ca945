"""The hot-path benchmark's verdicts: a ratio target is judged only against a reference
measured in the same run (``benchmarks.hotpath.targets``).

``--parts e2e`` measures R_bare but not R_route, so target 2 (against R_limit, which
needs both) has no reference: it used to print "miss", as if it had been measured short.
"""

from __future__ import annotations

from typing import Any

import pytest
from benchmarks.hotpath import VERDICTS, targets

E2E: dict[str, Any] = {
    "serve_vm_hwm_mb": [120.0],
    "e2e_1": {"deliveries_per_s": 1200.0},
    "e2e_10": {"deliveries_per_s": 3000.0},
    "latency": {
        "latency_p50_ms": 8.0,
        "latency_p99_ms": 20.0,
        "events": 100,
        "events_planned": 100,
        "publish_rate": 500.0,
        "rate": 500,
    },
}


@pytest.mark.parametrize(
    ("references", "verdicts"),
    [
        # both references: R_limit = 1/(1/2000 + 1/10000) = 1666.7; 1200/1666.7 = 0.72
        ({"r_route": 2000.0, "r_bare": 10000.0}, {"2": True, "3": False, "4": True}),
        # R_bare only (--parts e2e): target 2 is not judged, 3 still is
        ({"r_bare": 6000.0}, {"2": None, "3": True, "4": True}),
        # neither: only the absolute target is judged
        ({}, {"2": None, "3": None, "4": True}),
        # a slow machine's references: fan-out 1 at 0.6 x R_limit exactly passes
        ({"r_route": 4000.0, "r_bare": 4000.0}, {"2": True, "3": True, "4": True}),
    ],
)
def test_a_ratio_target_without_its_reference_is_not_judged(
    references: dict[str, float], verdicts: dict[str, bool | None]
) -> None:
    report: dict[str, Any] = dict(E2E)
    if "r_route" in references:
        report["r_route"] = {"accepted_per_s": references["r_route"]}
    if "r_bare" in references:
        report["r_bare"] = {"requests_per_s": references["r_bare"]}
    got = {t["target"]: t["pass"] for t in targets(report) if t["target"] != "8"}
    assert got == verdicts
    assert {VERDICTS[v] for v in got.values()} <= {"pass", "miss", "n/a (no reference)"}
