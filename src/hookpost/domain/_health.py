"""What one recorded batch of attempts does to each endpoint's health.

The breaker counts an endpoint's consecutive failures. A batch can hold many
attempts to one endpoint, in the order they finished, so the store folds the
batch first: per endpoint, did a success come in it (the count starts again
from there) and how many failures came after the last success. An endpoint
whose batch ends on a success, and which had failures before, is simply
reset; one with failures after its last success has them added (to zero
when it also succeeded in the batch), which may open its circuit. This fold
is pure; turning it into UPDATEs is the store's job.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hookpost.domain._model import Outcome


@dataclass(frozen=True, slots=True)
class HealthChange:
    """One batch's effect on endpoint health, per endpoint id."""

    #: Endpoints that were failing and whose batch ended on a success: reset them.
    resets: list[str]
    #: ``(endpoint id, a success came first, failures after the last success)``.
    failing: list[tuple[str, bool, int]]


def fold_health(batch: Iterable[Outcome]) -> HealthChange:
    """Fold a batch of outcomes, in order, into the per-endpoint health change."""
    verdict: dict[str, tuple[bool, int]] = {}
    was_failing: set[str] = set()
    for o in batch:
        if o.endpoint_was_failing:
            was_failing.add(o.endpoint_id)
        if o.success:
            verdict[o.endpoint_id] = (True, 0)
        else:
            reset, n = verdict.get(o.endpoint_id, (False, 0))
            verdict[o.endpoint_id] = (reset, n + 1)
    resets = [ep for ep, (r, n) in verdict.items() if r and n == 0 and ep in was_failing]
    failing = [(ep, r, n) for ep, (r, n) in verdict.items() if n > 0]
    return HealthChange(resets, failing)


__all__ = ["HealthChange", "fold_health"]
