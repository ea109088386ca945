"""hookpost: a self-hostable webhook delivery service.

Public API: :class:`Client` / :class:`AsyncClient` (publish events, manage
endpoints) and :mod:`hookpost.verify` (check signatures on the receiving side).
The client is imported lazily so that receivers importing ``hookpost.verify``
and the CLI do not pay for an HTTP client library they do not use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "AsyncClient",
    "Client",
    "Conflict",
    "ConnectionFailed",
    "Forbidden",
    "HookpostError",
    "NotFound",
    "RateLimited",
    "ServerError",
    "Unauthorized",
    "ValidationFailed",
    "__version__",
]
_CLIENT_NAMES = frozenset(__all__) - {"__version__"}

if TYPE_CHECKING:
    from hookpost.client import (
        AsyncClient,
        Client,
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


def __getattr__(name: str) -> Any:
    if name in _CLIENT_NAMES:
        from hookpost import client

        return getattr(client, name)
    raise AttributeError(f"module 'hookpost' has no attribute {name!r}")
