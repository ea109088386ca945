"""What one attempt's answer means, and where the delivery goes next.

An attempt ends in an :class:`Answer`: a status code and headers, a message
broker's confirmation, or an error before any answer (refused, timed out, a
request that could not be built).
Two pure steps turn it into the delivery's next state:

- :func:`classify` says what the answer means. Success follows the endpoint's
  ``success_rule`` (``"200"``, ``"2xx"``) or else its profile's own rule (some
  providers accept only 200). A failed answer carrying ``webhook-delivery:
  abort`` is the receiver asking to stop retrying; ``410 Gone`` says the
  endpoint is gone and disables it.
- :func:`decide` says what follows: ``succeeded``; ``failed`` when the
  receiver aborted or no attempts are left; ``held`` after a 410 (the endpoint
  is disabled, so its delivery waits with the others for it to be enabled);
  otherwise ``pending`` again at a time from :func:`~hookpost.domain.retry_delay`
  (the schedule with jitter, twice the step for 429/502/503/504, lengthened
  but never shortened by ``Retry-After``).

No HTTP, clock or settings here: the dispatcher hands in the answer, the
attempt's number and limit, the endpoint's schedule and the time, and stores
what comes back. ``tests/unit/test_outcome_table.py`` pins the table.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from hookpost.domain._retry import DEFAULT_MAX_ATTEMPTS, retry_delay
from hookpost.domain._status import DeliveryStatus

#: The answer that disables its endpoint.
GONE = 410
#: The header (and its value) by which a receiver asks hookpost to stop retrying.
ABORT_HEADER, ABORT_VALUE = "webhook-delivery", "abort"
#: Why an endpoint is disabled after a 410.
GONE_REASON = "receiver answered 410 Gone"


@dataclass(frozen=True, slots=True)
class Answer:
    """What came back from one attempt: an HTTP status and headers, or an error."""

    status_code: int | None
    #: The response headers; kept with lower-case names (the last of a repeated name wins).
    headers: Mapping[str, str]
    #: Why there is no status (the transport's or the request builder's words).
    error: str | None = None
    #: A message broker confirmed the message (brokers answer no HTTP status).
    accepted: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "headers", {k.lower(): v for k, v in self.headers.items()})


@dataclass(frozen=True, slots=True)
class Verdict:
    """What an answer means, before the delivery's schedule is looked at."""

    success: bool
    #: The receiver answered ``webhook-delivery: abort`` to a failure.
    aborted: bool
    #: The receiver answered 410: the endpoint is to be disabled.
    gone: bool
    #: What the attempt log says went wrong (None for a success).
    error: str | None

    @property
    def disable_reason(self) -> str | None:
        return GONE_REASON if self.gone else None


@dataclass(frozen=True, slots=True)
class Decision:
    """The delivery's next state, and when it is due again if it is ``pending``."""

    status: DeliveryStatus
    next_attempt_at: float | None


def is_success(
    status_code: int | None,
    success_rule: str | None,
    profile_accepts: Callable[[int], bool] | None,
    *,
    accepted: bool = False,
) -> bool:
    """Does this answer count as delivered?

    ``success_rule`` is the endpoint's (``"200"``: exactly 200; ``"2xx"``: any
    2xx); without one the profile decides. Without a status, a broker's
    confirmation (``accepted``) is the success; no profile (the request was
    never built) is never one.
    """
    if profile_accepts is None:
        return False
    if status_code is None:
        return accepted
    if success_rule == "200":
        return status_code == 200
    if success_rule == "2xx":
        return 200 <= status_code < 300
    return profile_accepts(status_code)


def asks_to_stop(answer: Answer) -> bool:
    """Did the receiver send ``webhook-delivery: abort`` (any case, any spacing)?"""
    return answer.headers.get(ABORT_HEADER, "").strip().lower() == ABORT_VALUE


def classify(
    answer: Answer,
    *,
    success_rule: str | None,
    profile_accepts: Callable[[int], bool] | None,
) -> Verdict:
    """What ``answer`` means (see the module docstring)."""
    code = answer.status_code
    ok = is_success(code, success_rule, profile_accepts, accepted=answer.accepted)
    aborted = not ok and asks_to_stop(answer)
    error = answer.error
    if error is None and not ok:
        error = f"unsuccessful status {code}"
    if aborted:
        error = f"{error}; receiver asked to stop retrying (webhook-delivery: abort)"
    return Verdict(success=ok, aborted=aborted, gone=code == GONE, error=error)


def attempt_limit(*limits: int | None) -> int:
    """The first limit set (the delivery's, the endpoint's, the profile's), else the default."""
    for limit in limits:
        if limit:
            return limit
    return DEFAULT_MAX_ATTEMPTS


def decide(
    verdict: Verdict,
    answer: Answer,
    *,
    number: int,
    limit: int,
    schedule: Sequence[float] | None,
    now: float,
    rng: random.Random | None = None,
) -> Decision:
    """The delivery's next state after attempt ``number`` of ``limit`` ended at ``now``."""
    if verdict.success:
        return Decision(DeliveryStatus.SUCCEEDED, None)
    if verdict.aborted or number >= limit:
        return Decision(DeliveryStatus.FAILED, None)
    if verdict.gone:
        return Decision(DeliveryStatus.HELD, None)
    delay = retry_delay(number, schedule, answer.status_code, answer.headers, now=now, rng=rng)
    return Decision(DeliveryStatus.PENDING, now + delay)


__all__ = [
    "ABORT_HEADER",
    "GONE",
    "Answer",
    "Decision",
    "Verdict",
    "asks_to_stop",
    "attempt_limit",
    "classify",
    "decide",
    "is_success",
]
