"""What can go wrong with a request in terms of the delivery model, not of HTTP.

The store and the services raise these; the API and the dashboard map them to
answers (404, 409, 422 ...) in one place each. They carry a short human reason and nothing
else, so raising one never leaks another project's data.
"""

from __future__ import annotations

from collections.abc import Sequence


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


class Invalid(Exception):
    """Input the rules refuse, naming the field: ``Invalid("url", "must be https")``.

    ``problems`` holds every ``(field, message)`` pair (a JSON Schema may refuse
    several fields of one payload at once); the text is ``"field: message; ..."``.
    """

    def __init__(self, field: str, message: str, *more: tuple[str, str]) -> None:
        self.problems: list[tuple[str, str]] = [(field, message), *more]
        super().__init__("; ".join(f"{f}: {m}" for f, m in self.problems))

    @classmethod
    def of(cls, problems: Sequence[tuple[str, str]]) -> Invalid:
        """One error for several problems (at least one)."""
        (field, message), *more = problems
        return cls(field, message, *more)


__all__ = ["Conflict", "Invalid", "LimitReached", "NotFound"]
