"""Retry schedule with jitter.

The default is close to Svix's: immediately, 5 s, 5 min, 30 min, 2 h, 5 h,
10 h, 10 h -- eight attempts spread over about a day and a half, so a receiver
that is down overnight still gets its events.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

DEFAULT_SCHEDULE: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
DEFAULT_MAX_ATTEMPTS = len(DEFAULT_SCHEDULE)
JITTER = 0.2


def next_delay(
    attempts_made: int,
    schedule: Sequence[float] = DEFAULT_SCHEDULE,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before attempt number ``attempts_made + 1``.

    ``schedule[i]`` is the delay before attempt ``i + 1``; past the end the last
    step repeats. Jitter of +-20% spreads out a herd of retries that failed
    together (for example when a receiver went down).
    """
    base = schedule[min(attempts_made, len(schedule) - 1)]
    if base <= 0:
        return 0.0
    r = (rng or random).uniform(1 - JITTER, 1 + JITTER)
    return float(base * r)
