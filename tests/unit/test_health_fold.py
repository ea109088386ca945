"""The breaker's batch fold: per endpoint, reset or count the failures after the last success."""

from __future__ import annotations

import pytest

from hookpost.domain import HealthChange, Outcome, fold_health


def _outcome(endpoint: str, success: bool, was_failing: bool = False) -> Outcome:
    return Outcome(
        delivery_id="d", lease="l", number=1, started_at=0.0, url="http://x", request_headers={},
        request_body="", status_code=200 if success else 500, response_headers=None,
        response_body=None, duration_ms=1.0, error=None, status="succeeded", next_attempt_at=None,
        endpoint_id=endpoint, success=success, endpoint_was_failing=was_failing,
    )  # fmt: skip


# (batch as (endpoint, success, was failing), resets, failing)
CASES = [
    ([], [], []),
    ([("a", True, False)], [], []),  # healthy stays untouched
    ([("a", True, True)], ["a"], []),  # failing, then a success: reset
    ([("a", False, False)], [], [("a", False, 1)]),
    ([("a", False, False), ("a", False, False)], [], [("a", False, 2)]),
    ([("a", False, True), ("a", True, True)], ["a"], []),  # ends on success
    ([("a", True, True), ("a", False, True)], [], [("a", True, 1)]),  # success, then failure
    ([("a", False, False), ("a", True, False), ("a", False, False)], [], [("a", True, 1)]),
    ([("a", True, False), ("a", False, False)], [], [("a", True, 1)]),
    (
        [("a", False, False), ("b", True, True), ("a", False, False), ("c", True, False)],
        ["b"],
        [("a", False, 2)],
    ),
]


@pytest.mark.parametrize(("batch", "resets", "failing"), CASES)
def test_fold_health(
    batch: list[tuple[str, bool, bool]],
    resets: list[str],
    failing: list[tuple[str, bool, int]],
) -> None:
    got = fold_health(_outcome(*row) for row in batch)
    assert got == HealthChange(resets, failing)
