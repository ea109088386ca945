"""What can go wrong with a request in terms of the delivery model, not of HTTP.

The store raises these; the API and the dashboard map them to answers (404,
409, ...) in one place each. They carry a short human reason and nothing
else, so raising one never leaks another project's data.
"""

from __future__ import annotations


class NotFound(Exception):
    """The object does not exist, or not in the caller's project (same answer)."""


class Conflict(Exception):
    """The request clashes with the object's current state; ``field`` names the
    request field it is about, when one is (``event_id`` for a reused id)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class LimitReached(Conflict):
    """A per-project quota (the "plan limit") would be exceeded."""


__all__ = ["Conflict", "LimitReached", "NotFound"]
