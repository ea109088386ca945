"""The ASGI application: REST API (+ the delivery workers when embedded).

The API docs pages (``/docs``, ``/redoc``) are served from files in the
installed packages, never a CDN: see :mod:`hookpost.api.routes.docs`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp.abc import AbstractResolver
from fastapi import FastAPI

from hookpost import __version__, dashboard
from hookpost.api import openapi
from hookpost.api.routes import (
    api_keys,
    audit,
    deliveries,
    docs,
    endpoints,
    event_types,
    events,
    jobs,
    profiles,
    projects,
    system,
    tokens,
)
from hookpost.config import Settings
from hookpost.core.clock import Clock
from hookpost.core.crypto import SecretBox
from hookpost.core.keyfile import load_secret_box
from hookpost.core.netguard import NetGuard
from hookpost.delivery import Dispatcher, Sender, TaskDied
from hookpost.observability import RequestMetrics
from hookpost.services.destinations import DestinationPolicy
from hookpost.store import Store
from hookpost.store.migrate import check_schema
from hookpost.web import errors, handwritten
from hookpost.web.idempotency import IdempotencyMiddleware
from hookpost.web.ratelimit import RateLimiter

log = logging.getLogger("hookpost")


def _report_death(
    on_worker_death: Callable[[TaskDied], None],
) -> Callable[[asyncio.Task[Any]], None]:
    def done(task: asyncio.Task[Any]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        if not isinstance(exc, TaskDied):
            # Out of the dispatcher itself (its start-up, or a bug), not of a
            # supervised task: nobody logged it yet.
            log.error("the delivery worker stopped", exc_info=exc)
            exc = TaskDied("dispatcher", exc)
        on_worker_death(exc)

    return done


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    clock: Clock | None = None,
    run_workers: bool | None = None,
    check_migrations: bool = True,
    box: SecretBox | None = None,
    resolver: AbstractResolver | None = None,
    on_worker_death: Callable[[TaskDied], None] | None = None,
) -> FastAPI:
    """Build the app. ``run_workers`` starts the dispatcher inside the server process.

    ``on_worker_death`` is called (once, on the event loop) when the embedded
    dispatcher stops by itself because one of its tasks died
    (:class:`~hookpost.delivery.TaskDied`, already logged with its traceback)
    or it raised anything else (logged here, and passed on as a ``TaskDied``):
    ``hookpost serve`` uses it to shut the whole server down and exit 1, so a
    supervisor restarts a process that would otherwise accept events nobody
    delivers. Without it the API keeps serving and ``/readyz`` reports not ready.

    ``box`` encrypts endpoint secrets when the app makes its own store (default:
    from ``settings``); ``resolver`` replaces DNS for the SSRF checks at
    registration and delivery (tests answer from a table, never the network).
    """
    settings = settings or Settings.from_env()
    workers = settings.workers if run_workers is None else run_workers
    guard = NetGuard.from_text(settings.allowed_networks)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if check_migrations:
            await check_schema(settings.database_url)
        own_store = store is None
        opened = store or Store.from_url(
            settings.database_url,
            clock,
            box=box or load_secret_box(settings),
            sqlite_synchronous=settings.sqlite_synchronous,
        )
        app.state.store = opened
        dispatcher: Dispatcher | None = None
        task: asyncio.Task[Any] | None = None
        if workers:
            sender = Sender.from_settings(settings, resolver=resolver)
            dispatcher = Dispatcher(opened, settings, clock=clock, sender=sender)
            app.state.dispatcher = dispatcher
            task = asyncio.create_task(dispatcher.run(), name="hookpost-dispatcher")
            if on_worker_death is not None:
                task.add_done_callback(_report_death(on_worker_death))
        try:
            yield
        finally:
            if dispatcher is not None and task is not None:
                dispatcher.stop()
                try:
                    await task
                except Exception:
                    if on_worker_death is None:
                        raise
                    # already logged and reported: the server is stopping because of it
                app.state.dispatcher = None
            if own_store:
                await opened.close()

    app = FastAPI(
        title="hookpost",
        version=__version__,
        description="Webhook delivery service: publish events, hookpost signs, delivers, "
        "retries and records every attempt.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.dispatcher = None
    app.state.rate_limiter = RateLimiter(settings.api_rate_limit)
    app.state.auth_failures = RateLimiter.for_auth_failures()
    app.state.refusal_records = RateLimiter.for_refusal_records()
    app.state.destinations = DestinationPolicy.create(
        guard,
        resolver,
        https_only=settings.https_only,
        dns_timeout=settings.dns_timeout_seconds,
    )
    errors.install(app, settings.database_url)
    app.add_middleware(IdempotencyMiddleware)  # inside the body limit: reads a bounded body
    app.add_middleware(errors.BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(errors.RejectNulMiddleware)
    app.add_middleware(RequestMetrics)  # outermost: times every answer, a 413 included
    for module in (
        projects,
        api_keys,
        endpoints,
        events,
        deliveries,
        event_types,
        profiles,
        jobs,
        audit,
        tokens,
    ):
        app.include_router(module.router, prefix="/api/v1")
    app.include_router(system.router)
    # Publishing, the hottest route, is matched first (same answer, fewer tries).
    handwritten.try_first(app, events.router, "POST", "/api/v1/projects/{project_id}/events")
    docs.install(app)
    dashboard.install(app, settings)
    openapi.install(app)  # error answers, security, operation ids, examples, webhooks
    return app
