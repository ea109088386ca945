"""What each API-key scope may do, decided from the route template alone.

Three scopes, least privilege first:

- ``publish`` -- only ``POST /api/v1/projects/{project_id}/events`` and its batch
  form ``POST .../events/batch``. This is the
  key a provider's backend holds: it can publish, but it cannot read payloads,
  deliveries or endpoint settings, so a leaked publisher key exposes nothing.
  Even the answer to a repeated ``event_id`` carries only what this caller
  sent plus the first event's id, sequence and delivery count
  (:func:`reads` decides which answer a caller gets), and a payload the
  catalog's schema refuses is named without quoting the schema.
- ``read`` -- every ``GET`` of its project (dashboards, support tooling,
  catching up on missed events); no writes.
- ``full`` -- everything in its project, including its API keys.

The decision looks at the method and the matched route *template*
(``/projects/{project_id}/events``), never the raw path, so no path spelling
can smuggle a request past it. It is applied once, in
:func:`hookpost.web.deps.get_principal`.
"""

from __future__ import annotations

from typing import Literal

Scope = Literal["full", "read", "publish"]

_READ_METHODS = frozenset({"GET", "HEAD"})
EVENTS_ROUTE = "/projects/{project_id}/events"
EVENT_TYPES_ROUTE = "/projects/{project_id}/event-types"
EVENT_BATCH_ROUTE = EVENTS_ROUTE + "/batch"
_PUBLISH_ROUTES = frozenset({("POST", EVENTS_ROUTE), ("POST", EVENT_BATCH_ROUTE)})
_API_PREFIX = "/api/v1"


def allows(scope: str, method: str, route: str | None) -> bool:
    """May a key of ``scope`` call ``method`` on the route template ``route``?

    FastAPI reports an included route's template with or without the
    ``/api/v1`` include prefix depending on its version; both are accepted.
    """
    route = (route or "").removeprefix(_API_PREFIX)
    if scope == "full":
        return True
    if scope == "read":
        return method in _READ_METHODS
    if scope == "publish":
        return (method, route) in _PUBLISH_ROUTES
    return False  # an unknown scope grants nothing


def reads(scope: str, route: str) -> bool:
    """May a key of ``scope`` read what ``GET route`` lists (and so be answered with it)?

    The publish route asks before it answers with a stored event
    (:data:`EVENTS_ROUTE`) or a refusal that quotes the catalog's schema
    (:data:`EVENT_TYPES_ROUTE`).
    """
    return allows(scope, "GET", route)
