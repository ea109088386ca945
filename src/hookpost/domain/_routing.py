"""Which endpoints an event goes to.

An endpoint subscribes to event types (``[]`` for all, ``"user.*"`` for a
family) and may add a payload filter; a test event names its one endpoint.
Publishing computes this once per event, inside the transaction that stores
the event and its deliveries, so it must be cheap: the payload is parsed
only when some endpoint has a filter.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from hookpost.core import filters


class Subscriber(Protocol):
    """What routing reads of an endpoint (a database row has these attributes)."""

    @property
    def id(self) -> str: ...
    @property
    def enabled(self) -> Any: ...
    @property
    def event_types(self) -> Sequence[str]: ...
    @property
    def filter(self) -> Any: ...


def event_types_match(subscribed: Sequence[str], event_type: str) -> bool:
    """``[]`` subscribes to everything; ``"user.*"`` to every ``user.`` type."""
    if not subscribed:
        return True
    for pattern in subscribed:
        if pattern == event_type or pattern == "*":
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def targets(
    endpoints: Sequence[Subscriber],
    event_type: str,
    payload: str,
    only_endpoint: str | None = None,
) -> list[tuple[str, bool]]:
    """``(endpoint id, enabled)`` of the endpoints an event goes to.

    Those subscribed to its type whose payload filter it passes, or only the
    one named (a test event to one endpoint).
    """
    if only_endpoint is not None:
        return [(r.id, bool(r.enabled)) for r in endpoints if r.id == only_endpoint]
    parsed: Any = None
    out = []
    for r in endpoints:
        if not event_types_match(r.event_types, event_type):
            continue
        if r.filter:
            if parsed is None:
                parsed = json.loads(payload)
            if not filters.matches(r.filter, parsed):
                continue
        out.append((r.id, bool(r.enabled)))
    return out


__all__ = ["Subscriber", "event_types_match", "targets"]
