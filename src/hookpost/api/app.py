"""The ASGI application: REST API (+ the delivery workers when embedded)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI

from hookpost import __version__
from hookpost.api import errors
from hookpost.api.routes import (
    deliveries,
    endpoints,
    event_types,
    events,
    profiles,
    projects,
    system,
)
from hookpost.config import Settings
from hookpost.core.clock import Clock
from hookpost.delivery import Dispatcher
from hookpost.store import Store
from hookpost.store.migrate import check_schema

log = logging.getLogger("hookpost")


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    clock: Clock | None = None,
    run_workers: bool | None = None,
    check_migrations: bool = True,
) -> FastAPI:
    """Build the app. ``run_workers`` starts the dispatcher inside the server process."""
    settings = settings or Settings.from_env()
    workers = settings.workers if run_workers is None else run_workers

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if check_migrations:
            await check_schema(settings.database_url)
        own_store = store is None
        app.state.store = store or Store.from_url(
            settings.database_url, clock, sqlite_synchronous=settings.sqlite_synchronous
        )
        task: asyncio.Task[Any] | None = None
        if workers:
            dispatcher = Dispatcher(app.state.store, settings, clock=clock)
            app.state.dispatcher = dispatcher
            task = asyncio.create_task(dispatcher.run(), name="hookpost-dispatcher")
        try:
            yield
        finally:
            if task is not None:
                app.state.dispatcher.stop()
                await task
                app.state.dispatcher = None
            if own_store:
                await app.state.store.close()

    app = FastAPI(
        title="hookpost",
        version=__version__,
        description="Webhook delivery service: publish events, hookpost signs, delivers, "
        "retries and records every attempt.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.dispatcher = None
    errors.install(app)
    app.add_middleware(errors.BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    for module in (projects, endpoints, events, deliveries, event_types, profiles):
        app.include_router(module.router, prefix="/api/v1")
    app.include_router(system.router)
    return app
