"""What a profile is: how one event looks on the wire to one endpoint."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from hookpost.core.signing import WebhookVerificationError


@dataclass(frozen=True, slots=True)
class EventData:
    """The parts of a stored event that any envelope may use."""

    id: str
    type: str
    created_at: float  # seconds since the epoch
    payload: Any
    project_id: str = ""
    sequence: int = 0


class MalformedWebhookError(WebhookVerificationError):
    """The request is not shaped like a webhook at all (a header missing or
    unparseable, a body that is not JSON), as opposed to one whose signature is
    wrong or stale. Receivers answer the first with 400 and the second with 401,
    so an integrator can tell "you sent me the wrong thing" from "forged".
    """


class Profile(Protocol):
    name: str
    #: Default number of attempts for endpoints that do not set their own.
    max_attempts: int | None

    def body(self, event: EventData) -> bytes:
        """The request body. Deterministic: the same event gives the same bytes."""
        ...

    def sign(
        self, *, msg_id: str, timestamp: float, body: bytes, secrets: Sequence[str]
    ) -> dict[str, str]:
        """Headers that carry the signature(s) of ``body`` under each secret."""
        ...

    def verify(
        self,
        body: bytes,
        headers: Mapping[str, str],
        secrets: Sequence[str],
        *,
        tolerance: float,
        now: float,
    ) -> Any:
        """Return the parsed body, or raise ``WebhookVerificationError``."""
        ...

    def is_success(self, status: int) -> bool: ...

    def validate_secret(self, secret: str) -> str | None:
        """An error message if ``secret`` cannot be used with this profile."""
        ...


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Header lookup must be case-insensitive; HTTP says so and proxies rewrite case."""
    try:
        return {str(k).lower(): str(v) for k, v in headers.items()}
    except AttributeError:  # not a mapping at all
        return {}
