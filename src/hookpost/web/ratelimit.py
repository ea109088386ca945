"""In-process token buckets: the per-API-key request rate, and failed sign-ins.

In-process on purpose: the limit protects this API process from one noisy
key, and a shared bucket would cost a database round trip per request. With
N API processes a key can reach N times the rate; set the limit accordingly.

The same bucket, fed only by failures and keyed by client address, slows
token guessing: :data:`AUTH_FAILURE_BURST` wrong tokens in a row, then one
more try every ``60 / AUTH_FAILURES_PER_MINUTE`` seconds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

#: Wrong tokens one client address may present before it has to slow down...
AUTH_FAILURE_BURST = 10
#: ...and how many more a minute it may try after that.
AUTH_FAILURES_PER_MINUTE = 6
#: Refused credentials written to the audit log per second, per process, whatever the
#: address (after a burst of :data:`REFUSAL_RECORD_BURST`): guessing from many addresses
#: must not turn into a flood of synced writes beside the publishes.
REFUSAL_RECORDS_PER_SECOND = 1
REFUSAL_RECORD_BURST = 20


class RateLimiter:
    """``rate`` requests per second per key, with a burst of one second's worth
    (or ``burst``)."""

    def __init__(
        self,
        rate: float,
        *,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.rate = rate
        self.burst = max(1.0, rate) if burst is None else burst
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, updated)

    @classmethod
    def for_auth_failures(cls, clock: Callable[[], float] = time.monotonic) -> RateLimiter:
        return cls(AUTH_FAILURES_PER_MINUTE / 60, burst=AUTH_FAILURE_BURST, clock=clock)

    @classmethod
    def for_refusal_records(cls, clock: Callable[[], float] = time.monotonic) -> RateLimiter:
        """One bucket (key ``""``) for the whole process: see :data:`REFUSAL_RECORDS_PER_SECOND`."""
        return cls(REFUSAL_RECORDS_PER_SECOND, burst=REFUSAL_RECORD_BURST, clock=clock)

    def blocked(self, key: str) -> float:
        """Seconds until ``key`` has a token again (0: it has one), taking nothing."""
        if not self.enabled or key not in self._buckets:
            return 0.0
        tokens, updated = self._buckets[key]
        tokens = min(self.burst, tokens + (self._clock() - updated) * self.rate)
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, key: str) -> float:
        """Take a token for ``key``: 0 if granted, else seconds until one is available."""
        if not self.enabled:
            return 0.0
        now = self._clock()
        if key not in self._buckets and len(self._buckets) >= self._max_keys:
            self._buckets.clear()  # bounded memory under a flood of distinct keys
        tokens, updated = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - updated) * self.rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1 - tokens) / self.rate

    @staticmethod
    def retry_after(wait: float) -> str:
        """A ``Retry-After`` value: whole seconds, at least 1."""
        return str(max(1, math.ceil(wait)))
