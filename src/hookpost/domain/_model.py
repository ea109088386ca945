"""The values the store and the dispatcher hand each other.

A claim leases :class:`ClaimedDelivery` s (a delivery with its
:class:`ClaimedEndpoint` and :class:`ClaimedEvent`: exactly the columns the
claim's admission policy and one attempt read, built once per row by the
store), the dispatcher turns each into an :class:`Outcome`, and the store
records those in batches. :class:`HealthPolicy` is how hard the dispatcher
protects itself and every other tenant from a bad endpoint. These are plain
data: no SQL, no HTTP, no settings, so every layer above may use them.
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


class UnreadableSecret(ValueError):
    """The endpoint's signing secret could not be decrypted with this process's key."""


@dataclass(frozen=True, slots=True)
class ClaimedEndpoint:
    """An endpoint as a claim loads it: secrets open, custom profile attached.

    Built once per endpoint and claim, and shared by every delivery of that
    claim to it. Times are epoch seconds.
    """

    id: str
    project_id: str
    #: The URL every answer, page and attempt shows (a broker URL's password masked).
    url: str
    #: The URL the transports dial: ``url`` itself, or a broker URL with its password.
    wire_url: str
    #: The profile's name, built-in or custom.
    profile: str
    #: A custom profile's definition (None for the built-in ones).
    profile_definition: dict[str, Any] | None
    #: How the receiver's language writes a parsed body back (a re-serializing
    #: profile signs that form), or None for the profile's own.
    serializer: str | None
    #: The current signing secret; None when this process's key cannot open it.
    secret: str | None
    #: Secrets retired by rotation that still sign: (secret, expires_at) pairs.
    old_secrets: tuple[tuple[str, float], ...]
    #: Custom headers, values in the clear.
    headers: dict[str, str]
    #: The names in ``headers`` whose values are secret (masked in attempt logs).
    secret_headers: tuple[str, ...]
    #: "2xx", "200", or None for the profile's rule.
    success_rule: str | None
    max_attempts: int | None
    #: Seconds to wait after each failed attempt; None for the default schedule.
    retry_schedule: tuple[float, ...] | None
    timeout_seconds: float | None
    #: Requests in flight per worker; None for the policy's default.
    max_concurrency: int | None
    #: Requests per second across all workers; None for no limit.
    rate_limit: float | None
    #: Deliveries go out one at a time, in publish order.
    fifo: bool
    consecutive_failures: int
    circuit_open_until: float | None

    @property
    def failing(self) -> bool:
        """The endpoint had failures before this claim (so a success resets its health)."""
        return bool(self.consecutive_failures) or self.circuit_open_until is not None

    def live_secrets(self, now: float) -> list[str]:
        """The current secret first, then rotated-out ones still in their grace period.

        Raises :class:`UnreadableSecret` when the current secret could not be
        decrypted: the attempt fails to build instead of signing with nothing.
        """
        if self.secret is None:
            raise UnreadableSecret("the endpoint's secret cannot be decrypted with this key")
        return [self.secret, *(s for s, expires_at in self.old_secrets if expires_at > now)]


# Built once per row of every claim: slotted, not frozen (a frozen dataclass's
# ``__init__`` costs ~4x more). Nothing writes to them after the claim.
@dataclass(slots=True)
class ClaimedEvent:
    """The event a claimed delivery carries, as stored (``payload`` is its JSON text)."""

    id: str
    #: The event's place in the store's sequence (the body cache's key).
    seq: int
    project_id: str
    event_type: str
    payload: str
    created_at: float
    #: W3C traceparent of the publish span, or None.
    trace_context: str | None


@dataclass(slots=True)
class ClaimedDelivery:
    """A leased delivery with everything needed to send it."""

    delivery_id: str
    #: The claim's lease token: the record only lands while it is still ours.
    lease: str
    attempt_count: int
    #: Set by resend/recover: overrides the endpoint's and the profile's limit.
    attempt_limit: int | None
    endpoint: ClaimedEndpoint
    event: ClaimedEvent


#: The name the dispatcher has always used for a claimed delivery.
Job = ClaimedDelivery


@dataclass(slots=True)
class Claim:
    """What one claim leased, and whether the queue may hold more due right now."""

    jobs: list[ClaimedDelivery]
    #: The claim found as many due rows as it asked for (some may have been
    #: handed back over a cap or rate limit): claim again without waiting.
    more: bool
    #: Endpoints whose due rows were handed back over their concurrency cap:
    #: claim again when one of their requests finishes.
    capped: set[str]
    #: When the next delivery falls due after this claim (epoch seconds; ``inf``:
    #: none is scheduled), read by the claim itself when it leaves the loop idle;
    #: None when it did not look (the loop then asks ``Store.next_due_at``).
    next_due: float | None = None


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


__all__ = [
    "Claim",
    "ClaimedDelivery",
    "ClaimedEndpoint",
    "ClaimedEvent",
    "HealthPolicy",
    "Job",
    "Outcome",
    "Page",
    "UnreadableSecret",
]
