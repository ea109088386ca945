"""The :class:`Store`: one object over the store's aggregates.

Callers (``api/``, ``dashboard/``, ``cli/``, ``delivery/``) see one class
with every persistence method; its code lives in one module per aggregate,
each a mixin over the shared :class:`~hookpost.store._core.Core` (engines,
clock, secret box, caches, wake-ups). The order of the bases below is the
method resolution order: only :class:`~hookpost.store._events.EventsMixin`
extends ``Core._setup`` and ``close`` (its group commit), cooperatively.

=====================  ==========================================
``_projects``          projects and API keys
``_endpoints``         endpoints, their secrets, enable/disable
``_catalog``           event types and custom profiles
``_events``            publish (event + deliveries, one transaction)
``_group_commit``      concurrent publishes in one commit (SQLite)
``_deliveries``        deliveries: list, read, resend
``_queue``             claim, leases, heartbeat, next due time
``_record``            attempts, delivery state, endpoint health
``_jobs``              recover jobs
``_retention``         purge
``_stats``             queue metrics, dashboard aggregates
``_audit``             the audit log: write in a change's transaction, read, purge
``_idempotency``       Idempotency-Key reservations and stored answers
``_operators``         operators and their personal tokens
``_statements``        the hot path's SQL, by name
``_backend``           every SQLite/PostgreSQL difference
=====================  ==========================================
"""

from __future__ import annotations

from hookpost.store._audit import AuditMixin
from hookpost.store._catalog import CatalogMixin
from hookpost.store._core import Core
from hookpost.store._deliveries import DeliveriesMixin
from hookpost.store._endpoints import EndpointsMixin
from hookpost.store._events import EventsMixin
from hookpost.store._idempotency import IdempotencyMixin
from hookpost.store._jobs import JobsMixin
from hookpost.store._operators import OperatorsMixin
from hookpost.store._projects import ProjectsMixin
from hookpost.store._queue import QueueMixin
from hookpost.store._record import RecordMixin
from hookpost.store._retention import RetentionMixin
from hookpost.store._stats import StatsMixin

__all__ = ["Store"]


class Store(
    ProjectsMixin,
    EndpointsMixin,
    CatalogMixin,
    EventsMixin,
    DeliveriesMixin,
    QueueMixin,
    RecordMixin,
    JobsMixin,
    RetentionMixin,
    StatsMixin,
    AuditMixin,
    IdempotencyMixin,
    OperatorsMixin,
    Core,
):
    """All of hookpost's SQL. Every write that must be atomic (an event and its
    deliveries; a batch of attempts and their deliveries' new state) is one
    transaction inside one method."""
