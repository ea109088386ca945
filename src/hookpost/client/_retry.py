"""When the client tries a request again, and how long it waits first: pure functions.

A request is retried when trying again cannot do harm and may succeed:

* no answer at all (connection refused or reset, DNS failure, timeout);
* 429 (rate limited), 502/503/504 (a proxy or the database unavailable) and
  507 (the database's disk full): hookpost answers 503/507 only when the
  change was rolled back, and says when to come back in ``Retry-After``;
* 409 ``idempotency_key_in_use``: the same request is still running on the
  server (a retry of ours that overtook the original).

Every POST carries an ``Idempotency-Key`` made once per call and sent again on
each of its retries, so a retry of a POST whose answer was lost replays the
first answer instead of creating twice (see docs/client.md). PATCH and DELETE
are idempotent by nature; a retried DELETE whose first try went through
answers 404.

The wait before retry *n* (0-based) is ``Retry-After`` when the server gave
one (up to ``max_wait``; a longer one is not waited for, the error is
raised), else exponential backoff with "equal jitter": half of
``min(max_wait, backoff * 2**n)`` plus a random part of the other half, so
many clients that failed together do not come back together.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

from hookpost.client._errors import retry_after_of

__all__ = ["RETRY_STATUSES", "RetryPolicy"]

#: Statuses worth retrying (any method: POSTs carry an Idempotency-Key).
RETRY_STATUSES = frozenset({429, 502, 503, 504, 507})


@dataclass(frozen=True)
class RetryPolicy:
    """``max_retries`` tries after the first (0: none); waits in seconds."""

    max_retries: int = 2
    backoff: float = 0.5
    max_wait: float = 60.0

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.backoff < 0 or self.max_wait < 0:
            raise ValueError("max_retries, backoff and max_wait must not be negative")

    def should_retry(self, status: int, error_code: str | None) -> bool:
        """Whether an answer with this status (and JSON ``error``) is worth a retry."""
        return status in RETRY_STATUSES or (
            status == 409 and error_code == "idempotency_key_in_use"
        )

    def wait(
        self, retry: int, headers: Mapping[str, str] | None = None, rand: float | None = None
    ) -> float | None:
        """Seconds to wait before retry number ``retry`` (0-based); None: do not retry.

        ``headers`` are the failed answer's (None: there was no answer);
        ``rand`` in [0, 1) replaces the random draw (tests).
        """
        if retry >= self.max_retries:
            return None
        told = retry_after_of(headers) if headers is not None else None
        if told is not None:
            return told if told <= self.max_wait else None
        ceiling = min(self.max_wait, self.backoff * 2**retry)
        draw = random.random() if rand is None else rand
        return float(ceiling / 2 + ceiling / 2 * draw)
