"""Per-endpoint concurrency windows: slow start, then additive increase and halving.

An endpoint's ``max_concurrency`` is a ceiling, not a grant. A worker that
sent its full cap to an endpoint it knows nothing about would let ten hanging
endpoints hold most of its slots until their first timeouts. So each endpoint
starts with a small window of requests in flight; every success widens it by
one (which doubles it per round trip, as TCP's slow start does) up to the cap,
and every failure halves it (never below one). A healthy endpoint reaches its
cap within a few milliseconds of round trips; a hanging one never holds more
than the initial window, and one slot once it has failed.

Windows are per worker process and forgotten least-recently-used first: an
endpoint not seen for a while starts again from the initial window.
"""

from __future__ import annotations

from collections import OrderedDict


class Windows:
    """How many requests this worker may have in flight to each endpoint."""

    def __init__(self, initial: int, *, size: int = 8192) -> None:
        self.initial = max(1, initial)
        self.size = size
        self._w: OrderedDict[str, int] = OrderedDict()

    def allowance(self, endpoint_id: str, cap: int) -> int:
        """Requests allowed in flight now: the window, never above the endpoint's cap."""
        return max(1, min(cap, self._w.get(endpoint_id, self.initial)))

    def observe(self, endpoint_id: str, success: bool, cap: int) -> None:
        """Widen the window after a success, halve it after a failure."""
        w = min(cap, self._w.get(endpoint_id, self.initial))
        self._w[endpoint_id] = min(cap, w + 1) if success else max(1, w // 2)
        self._w.move_to_end(endpoint_id)
        if len(self._w) > self.size:
            self._w.popitem(last=False)


__all__ = ["Windows"]
