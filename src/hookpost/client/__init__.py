"""Python client for the hookpost API, sync and async, for the provider's backend.

    from hookpost import Client

    hp = Client("http://127.0.0.1:8000", token=API_KEY)
    ep = hp.create_endpoint(project_id, url="https://example.com/hook", rate_limit=5)
    hp.publish(project_id, "user.created", {"id": 42}, event_id="evt_42")
    hp.publish_batch(project_id, [{"event_type": "user.created", "payload": {"id": 43}}])

:class:`AsyncClient` has the same methods, as coroutines. Answers are the
server's JSON objects, typed by the TypedDicts of :mod:`hookpost.client.models`
(``ep["secret"]``). Failures raise a :class:`HookpostError` subclass
(:class:`NotFound`, :class:`ValidationFailed` with ``.fields``,
:class:`RateLimited` with ``.retry_after``, :class:`ConnectionFailed`, ...).
Requests that may succeed on a second try (no answer, 429, 502-504, 507) are
retried with backoff, honouring ``Retry-After``; each POST carries one
``Idempotency-Key`` for all its tries, so a retry never creates twice.
docs/client.md lists every operation.

This package needs only ``httpx`` (and nothing of the server): the
``hookpost-client`` distribution ships it with :mod:`hookpost.verify`.
"""

from __future__ import annotations

from hookpost.client import _models as models
from hookpost.client._api import MAX_BATCH
from hookpost.client._clients import DEFAULT_URL, USER_AGENT, AsyncClient, Client
from hookpost.client._errors import (
    BadRequest,
    Conflict,
    ConnectionFailed,
    Forbidden,
    HookpostError,
    NotFound,
    RateLimited,
    ServerError,
    Unauthorized,
    ValidationFailed,
)
from hookpost.client._retry import RETRY_STATUSES, RetryPolicy

__all__ = [
    "DEFAULT_URL",
    "MAX_BATCH",
    "RETRY_STATUSES",
    "USER_AGENT",
    "AsyncClient",
    "BadRequest",
    "Client",
    "Conflict",
    "ConnectionFailed",
    "Forbidden",
    "HookpostError",
    "NotFound",
    "RateLimited",
    "RetryPolicy",
    "ServerError",
    "Unauthorized",
    "ValidationFailed",
    "models",
]
