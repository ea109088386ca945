"""The values the store and the dispatcher hand each other.

A claim leases :class:`Job` s (a delivery with its endpoint and event), the
dispatcher turns each into an :class:`Outcome`, and the store records those
in batches. :class:`HealthPolicy` is how hard the dispatcher protects itself
and every other tenant from a bad endpoint. These are plain data: no SQL,
no HTTP, no settings, so every layer above may use them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hookpost.domain._status import DeliveryStatus


@dataclass(slots=True)
class Page:
    """One page of a cursor-paginated list, and the cursor of the next (None at the end)."""

    data: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(slots=True)
class Job:
    """A claimed delivery with everything needed to send it."""

    delivery_id: str
    lease: str
    attempt_count: int
    attempt_limit: int | None
    endpoint: dict[str, Any]
    event: dict[str, Any]


@dataclass(slots=True)
class Claim:
    """What one claim leased, and whether the queue may hold more due right now."""

    jobs: list[Job]
    #: The claim found as many due rows as it asked for (some may have been
    #: handed back over a cap or rate limit): claim again without waiting.
    more: bool
    #: Endpoints whose due rows were handed back over their concurrency cap:
    #: claim again when one of their requests finishes.
    capped: set[str]


@dataclass(slots=True)
class Outcome:
    """The result of one attempt, to be recorded by ``Store.record``."""

    delivery_id: str
    lease: str
    number: int
    started_at: float
    url: str
    request_headers: dict[str, str]
    request_body: str
    status_code: int | None
    response_headers: dict[str, str] | None
    response_body: str | None
    duration_ms: float
    error: str | None
    #: The delivery's new state: succeeded, failed, held, or pending (with next_attempt_at).
    status: DeliveryStatus
    next_attempt_at: float | None
    endpoint_id: str = ""
    project_id: str = ""
    event_id: str = ""
    #: Did the attempt count as a success for the endpoint's health?
    success: bool = False
    #: The endpoint had failures before this attempt (so a success resets it).
    endpoint_was_failing: bool = False
    #: Set when the answer demands disabling the endpoint (410 Gone).
    disable_reason: str | None = None
    profile: str = ""


@dataclass(frozen=True, slots=True)
class HealthPolicy:
    """How the dispatcher protects itself and everyone else from bad endpoints."""

    #: Requests in flight per endpoint per worker, unless the endpoint says otherwise.
    endpoint_concurrency: int = 32
    #: Consecutive failures that open the circuit.
    breaker_threshold: int = 10
    #: How long an open circuit holds deliveries before one probe is let through.
    breaker_cooldown_seconds: float = 30.0
    #: An endpoint failing without a single success for this long is disabled.
    disable_after_seconds: float = 5 * 86400
    #: Project that receives operational events (endpoint.disabled, delivery.exhausted...).
    operations_project: str | None = None


__all__ = ["Claim", "HealthPolicy", "Job", "Outcome", "Page"]
