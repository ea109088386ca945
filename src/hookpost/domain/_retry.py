"""When to try a failed delivery again: the schedule, its jitter, and the receiver's word.

The default is close to Svix's: the first attempt at once, then, after each
failure, retries 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h later -- eight
attempts spread over about a day and a half, so a receiver that is down
overnight still gets its events. ``DEFAULT_SCHEDULE[i]`` is the wait before
attempt ``i + 1``, so its first entry, 0, is the first attempt, not a retry.

The schedule is a floor. Jitter only lengthens a wait (by up to 20%), and a
receiver's ``Retry-After`` may lengthen it too but never shorten it: the wait
is the larger of the two. Letting ``Retry-After`` win outright made a receiver
answering ``503`` with ``Retry-After: 1`` to everything burn all eight
attempts in about 8 s instead of a day and a half -- exactly the receiver that
is down and needs the time. ``Retry-After`` itself is clamped to 1 s .. 1 h,
so one answer cannot park a delivery for a year.
"""

from __future__ import annotations

import math
import random
import re
import time
from collections.abc import Mapping, Sequence
from email.utils import parsedate_to_datetime

DEFAULT_SCHEDULE: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
DEFAULT_MAX_ATTEMPTS = len(DEFAULT_SCHEDULE)
#: A scheduled wait is stretched by a random 0..20%.
JITTER = 0.2
#: Statuses that mean "you are sending too much": wait twice the scheduled delay.
OVERLOADED = frozenset({429, 502, 503, 504})
RETRY_AFTER_MIN, RETRY_AFTER_MAX = 1.0, 3600.0

_SECONDS = re.compile(r"\d+(\.\d+)?")


def next_delay(
    attempts_made: int,
    schedule: Sequence[float] = DEFAULT_SCHEDULE,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before attempt number ``attempts_made + 1``.

    ``schedule[i]`` is the delay before attempt ``i + 1``; past the end the last
    step repeats. Jitter of 0..+20% spreads out a herd of retries that failed
    together (for example when a receiver went down) without ever sending one
    sooner than the schedule says.
    """
    base = schedule[min(attempts_made, len(schedule) - 1)]
    if base <= 0:
        return 0.0
    r = (rng or random).uniform(1, 1 + JITTER)
    return float(base * r)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date).

    None for a value that is neither; an HTTP date in the past gives a
    negative number (the caller clamps it).
    """
    if not value:
        return None
    value = value.strip()
    if _SECONDS.fullmatch(value):
        seconds = float(value)
        return seconds if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when.timestamp() - now


def retry_delay(
    attempts_made: int,
    schedule: Sequence[float] | None,
    status: int | None,
    response_headers: Mapping[str, str],
    *,
    now: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """The wait before the next attempt, after ``attempts_made`` attempts.

    The scheduled delay (with jitter) is doubled for overload answers (429,
    502, 503, 504). A ``Retry-After`` (any status; clamped to 1 s .. 1 h) can
    only lengthen it. An endpoint's own ``retry_schedule`` lists the waits
    after each failure. ``response_headers`` have lower-case names; ``now``
    (for an HTTP-date ``Retry-After``) defaults to the system time.
    """
    steps = (0.0, *schedule) if schedule else DEFAULT_SCHEDULE
    delay = next_delay(attempts_made, steps, rng)
    if status in OVERLOADED:
        delay *= 2
    after = parse_retry_after(
        response_headers.get("retry-after"), time.time() if now is None else now
    )
    if after is not None:
        delay = max(delay, min(max(after, RETRY_AFTER_MIN), RETRY_AFTER_MAX))
    return delay
