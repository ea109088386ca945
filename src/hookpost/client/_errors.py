"""What the client raises: one class per kind of failure, all :class:`HookpostError`.

Every error answer of the API is ``{"error": code, "message": text, "detail":
[{"field", "message", "type"}, ...]}``; the class is chosen by the status, so
callers catch what they can act on (``except RateLimited as e: e.retry_after``)
and let the rest through. A request that never got an answer (refused
connection, DNS failure, timeout) raises :class:`ConnectionFailed`, never an
``httpx`` exception, so code using the client needs no import of the transport.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

__all__ = [
    "BadRequest",
    "Conflict",
    "ConnectionFailed",
    "Forbidden",
    "HookpostError",
    "NotFound",
    "RateLimited",
    "ServerError",
    "Unauthorized",
    "ValidationFailed",
    "error_for",
    "retry_after_of",
]


class HookpostError(Exception):
    """A non-2xx answer (or, for :class:`ConnectionFailed`, none at all).

    ``status`` is the HTTP status (0: no answer), ``body`` the parsed JSON (or
    text), ``code`` the server's ``error`` string (``not_found``,
    ``validation_error``, ...), ``message`` its sentence, ``detail`` its list
    of per-field problems and ``headers`` the answer's headers.
    """

    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers: dict[str, str] = {k.lower(): v for k, v in (headers or {}).items()}
        obj = body if isinstance(body, dict) else {}
        self.code: str | None = obj.get("error")
        self.message: str = obj.get("message") or (body if isinstance(body, str) else "") or ""
        detail = obj.get("detail")
        self.detail: list[dict[str, Any]] = detail if isinstance(detail, list) else []
        super().__init__(f"HTTP {status}: {self.message or body}")


class BadRequest(HookpostError):
    """400, 413 or 415: the request itself is malformed (not JSON, too large)."""


class ValidationFailed(BadRequest):
    """422: invalid input. ``fields`` maps each field named in ``detail`` to
    what is wrong with it (``{"url": "must include a host"}``)."""

    @property
    def fields(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for item in self.detail:
            if isinstance(item, dict) and "field" in item:
                name, why = str(item["field"]), str(item.get("message", ""))
                out[name] = f"{out[name]}; {why}" if name in out else why
        return out


class Unauthorized(HookpostError):
    """401: the token is missing or unknown."""


class Forbidden(HookpostError):
    """403: the token may not do this (admin only, or outside the key's scope)."""


class NotFound(HookpostError):
    """404: no such resource in the caller's project."""


class Conflict(HookpostError):
    """409: the request contradicts what exists (an ``event_id`` used by another
    event, an ``Idempotency-Key`` reused with another body or still running)."""


class RateLimited(HookpostError):
    """429: too many requests; ``retry_after`` is the server's wait in seconds."""

    @property
    def retry_after(self) -> float | None:
        return retry_after_of(self.headers)


class ServerError(HookpostError):
    """5xx: the server could not complete the request. 503 and 507 (database
    unavailable or full) are safe to retry after ``retry_after`` seconds."""

    @property
    def retry_after(self) -> float | None:
        return retry_after_of(self.headers)


class ConnectionFailed(HookpostError):
    """No answer: connection refused, name not resolved, timed out, cut off.
    ``__cause__`` is the transport's exception."""

    def __init__(self, message: str) -> None:
        super().__init__(0, {"error": "connection_failed", "message": message})


_BY_STATUS: dict[int, type[HookpostError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: BadRequest,
    415: BadRequest,
    422: ValidationFailed,
    429: RateLimited,
}


def error_for(status: int, body: Any, headers: Mapping[str, str]) -> HookpostError:
    """The exception for a non-2xx answer."""
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else HookpostError)
    return cls(status, body, headers)


def retry_after_of(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), None when absent or garbled."""
    value = headers.get("retry-after") or headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = max(0.0, (when - datetime.now(UTC)).total_seconds())
    return seconds if 0 <= seconds < float("inf") else None
