"""The app's state, typed: the one place a request finds the store, the settings, the workers.

:func:`hookpost.api.app.create_app` puts these on ``app.state`` (the store
once the lifespan has opened it); every route, dependency and page reads them
through :func:`runtime`, so a name or a type is checked by mypy rather than
found wrong at run time.
"""

from __future__ import annotations

from typing import Protocol, cast

from starlette.requests import Request

from hookpost.config import Settings
from hookpost.delivery import Dispatcher
from hookpost.services import Wake
from hookpost.services.destinations import DestinationPolicy
from hookpost.store import Store
from hookpost.web.ratelimit import RateLimiter


class Runtime(Protocol):
    """What ``app.state`` holds."""

    settings: Settings
    #: Set by the lifespan: absent before startup (see :func:`store_if_open`).
    store: Store
    #: The workers of this process, when it runs them (``hookpost serve --workers``).
    dispatcher: Dispatcher | None
    #: Requests per second per API key.
    rate_limiter: RateLimiter
    #: Wrong tokens per client address.
    auth_failures: RateLimiter
    #: Refused credentials written to the audit log, for the whole process.
    refusal_records: RateLimiter
    #: The SSRF check at registration.
    destinations: DestinationPolicy
    #: The dashboard's signer and templates (:class:`hookpost.dashboard.state.Dashboard`).
    dashboard: object


def runtime(request: Request) -> Runtime:
    return cast(Runtime, request.app.state)


def store_if_open(request: Request) -> Store | None:
    """The store, or None before the lifespan opened it (an error during startup)."""
    store: Store | None = getattr(runtime(request), "store", None)
    return store


def waker(request: Request) -> Wake:
    """Wakes this process's workers, if it runs any: after anything that makes work due."""

    def wake() -> None:
        dispatcher = runtime(request).dispatcher
        if dispatcher is not None:
            dispatcher.wake()

    return wake
