"""The delivery model: what hookpost's words mean, with no SQL, HTTP or settings.

An *event* is published to a project; routing (:func:`targets`) picks the
*endpoints* it goes to and one *delivery* each is stored with it. A worker
claims due deliveries (:class:`Claim` of :class:`Job` s), attempts each and
reports an :class:`Outcome`; :class:`HealthPolicy` bounds what one bad
endpoint may cost everyone else, and :func:`retry_delay` when a failed
delivery is tried again. Failures the caller can act on are the
errors :class:`NotFound`, :class:`Conflict` and :class:`LimitReached`.

This package imports only :mod:`hookpost.core` and the standard library, so
the store, the services, the API, the dashboard and the dispatcher can all
use it without importing each other. Its modules are private: import from
``hookpost.domain``.
"""

from hookpost.domain._errors import Conflict, LimitReached, NotFound
from hookpost.domain._health import HealthChange, fold_health
from hookpost.domain._idempotency import repeat_differences
from hookpost.domain._model import Claim, HealthPolicy, Job, Outcome, Page
from hookpost.domain._retry import (
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_SCHEDULE,
    JITTER,
    OVERLOADED,
    RETRY_AFTER_MAX,
    RETRY_AFTER_MIN,
    next_delay,
    parse_retry_after,
    retry_delay,
)
from hookpost.domain._routing import Subscriber, event_types_match, targets
from hookpost.domain._status import DeliveryStatus

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_SCHEDULE",
    "JITTER",
    "OVERLOADED",
    "RETRY_AFTER_MAX",
    "RETRY_AFTER_MIN",
    "Claim",
    "Conflict",
    "DeliveryStatus",
    "HealthChange",
    "HealthPolicy",
    "Job",
    "LimitReached",
    "NotFound",
    "Outcome",
    "Page",
    "Subscriber",
    "event_types_match",
    "fold_health",
    "next_delay",
    "parse_retry_after",
    "repeat_differences",
    "retry_delay",
    "targets",
]
