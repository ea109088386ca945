"""The delivery model: what hookpost's words mean, with no SQL, HTTP or settings.

An *event* is published to a project; routing (:func:`targets`) picks the
*endpoints* it goes to and one *delivery* each is stored with it. A worker
claims due deliveries (:class:`Claim` of :class:`ClaimedDelivery` s, each
with its typed :class:`ClaimedEndpoint` and :class:`ClaimedEvent`), attempts each and
reports an :class:`Outcome`: :func:`classify` says what the receiver's
:class:`Answer` means and :func:`decide` the delivery's next
:class:`DeliveryStatus`, with :func:`retry_delay` saying when a failed
delivery is tried again. :class:`HealthPolicy` bounds what one bad endpoint
may cost everyone else, and :class:`Windows` how many requests a worker has
in flight to each endpoint. Failures the caller can act on are the
errors :class:`NotFound`, :class:`Conflict`, :class:`LimitReached` and
:class:`Invalid`. Every change is made as an :class:`Actor` (:func:`acting_as`),
and the audit log records it under one of :data:`AUDIT_ACTIONS`, with the
changed fields masked by :func:`audit_changes`; what an operator's role
lets it do is :mod:`roles` (``hookpost.domain.roles``).

This package imports only :mod:`hookpost.core` and the standard library, so
the store, the services, the API, the dashboard and the dispatcher can all
use it without importing each other. Its modules are private: import from
``hookpost.domain``.
"""

from hookpost.domain import _roles as roles
from hookpost.domain._actor import (
    ADMIN,
    SHELL,
    SYSTEM,
    Actor,
    ActorKind,
    acting_as,
    current_actor,
    set_actor,
)
from hookpost.domain._audit import ACTIONS as AUDIT_ACTIONS
from hookpost.domain._audit import OBJECT_TYPES as AUDIT_OBJECT_TYPES
from hookpost.domain._audit import changes as audit_changes
from hookpost.domain._audit import check_action as check_audit_action
from hookpost.domain._audit import masked as audit_masked
from hookpost.domain._errors import Conflict, Invalid, LimitReached, NotFound
from hookpost.domain._health import HealthChange, fold_health
from hookpost.domain._idempotency import repeat_differences
from hookpost.domain._model import (
    Claim,
    ClaimedDelivery,
    ClaimedEndpoint,
    ClaimedEvent,
    HealthPolicy,
    Job,
    Outcome,
    Page,
    UnreadableSecret,
)
from hookpost.domain._outcome import (
    ABORT_HEADER,
    GONE,
    Answer,
    Decision,
    Verdict,
    asks_to_stop,
    attempt_limit,
    classify,
    decide,
    is_success,
)
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
from hookpost.domain._window import Windows

__all__ = [
    "ABORT_HEADER",
    "ADMIN",
    "AUDIT_ACTIONS",
    "AUDIT_OBJECT_TYPES",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_SCHEDULE",
    "GONE",
    "JITTER",
    "OVERLOADED",
    "RETRY_AFTER_MAX",
    "RETRY_AFTER_MIN",
    "SHELL",
    "SYSTEM",
    "Actor",
    "ActorKind",
    "Answer",
    "Claim",
    "ClaimedDelivery",
    "ClaimedEndpoint",
    "ClaimedEvent",
    "Conflict",
    "Decision",
    "DeliveryStatus",
    "HealthChange",
    "HealthPolicy",
    "Invalid",
    "Job",
    "LimitReached",
    "NotFound",
    "Outcome",
    "Page",
    "Subscriber",
    "UnreadableSecret",
    "Verdict",
    "Windows",
    "acting_as",
    "asks_to_stop",
    "attempt_limit",
    "audit_changes",
    "audit_masked",
    "check_audit_action",
    "classify",
    "current_actor",
    "decide",
    "event_types_match",
    "fold_health",
    "is_success",
    "next_delay",
    "parse_retry_after",
    "repeat_differences",
    "retry_delay",
    "roles",
    "set_actor",
    "targets",
]
