"""Liveness, readiness and metrics: what a load balancer and Prometheus ask."""

from __future__ import annotations

import contextlib
import hmac
import time
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from hookpost.domain import DeliveryStatus
from hookpost.observability import metrics
from hookpost.store import Store
from hookpost.store.migrate import schema_is_current
from hookpost.store.outage import Outage, sqlite_disk_full
from hookpost.web.schemas import ErrorOut
from hookpost.web.state import runtime

router = APIRouter(tags=["system"])

_STATS_TTL = 5.0
_stats_cache: dict[str, Any] = {"at": 0.0}


def _json(description: str, example: Any) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"example": example}}}


_ALIVE: dict[int | str, dict[str, Any]] = {
    200: _json("The process is up and answering", {"status": "ok"})
}


@router.get("/healthz", responses=_ALIVE)
async def healthz() -> Any:
    """Liveness, for a process supervisor: answers 200 while the process serves HTTP.

    No token; checks nothing else, so a database outage does not get the process
    restarted (use /readyz to decide where to route traffic).
    """
    return {"status": "ok"}


_READY: dict[int | str, dict[str, Any]] = {
    200: _json(
        "Ready: every check is ok",
        {"status": "ready", "checks": {"database": "ok", "schema": "ok", "workers": "ok"}},
    ),
    503: _json(
        "Not ready: each check says what fails",
        {
            "status": "not ready",
            "checks": {"database": "unreachable", "workers": "stalled for 42s"},
        },
    ),
}


@router.get("/readyz", responses=_READY)
async def readyz(request: Request) -> Any:
    """Readiness, for a load balancer (no token). Ready when the database answers and
    takes writes, its schema is current and,
    in a process that runs workers, the dispatcher keeps turning (a stalled worker
    is not ready even though the API still answers).

    Writes count as failing while this process's latest database failure is
    newer than its latest committed write; a probe write (at most one a second)
    then tells when they go through again. On SQLite a disk with no room left
    under the database file is not ready before any write fails on it.
    """
    checks: dict[str, str] = {}
    state = runtime(request)
    store = state.store
    try:
        async with store.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
            checks["schema"] = "ok" if await schema_is_current(conn) else "outdated"
    except Exception as exc:
        store.health.note(exc, "the readiness check")
        checks["database"] = "unreachable"
    else:
        failing = await _writes_failing(store)
        if failing is not None:
            checks["database"] = f"writes failing: {failing.what}"
    dispatcher = state.dispatcher
    if dispatcher is not None:
        idle = time.monotonic() - dispatcher.last_tick
        stalled = idle > state.settings.stall_seconds
        checks["workers"] = f"stalled for {idle:.0f}s" if stalled else "ok"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


async def _writes_failing(store: Store) -> Outage | None:
    if store.health.failing() is not None and store.health.may_probe():
        with contextlib.suppress(Exception):  # the writer records the outcome
            await store.probe_write()
    return store.health.failing() or sqlite_disk_full(store.database_file())


_METRICS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Prometheus text exposition format",
        "content": {
            "text/plain": {
                "example": "# HELP hookpost_queue_deliveries Deliveries not yet final: due, "
                "scheduled (waiting for a retry), delivering, held\n"
                "# TYPE hookpost_queue_deliveries gauge\n"
                'hookpost_queue_deliveries{state="due"} 0.0\n'
            }
        },
    },
    401: {
        "model": ErrorOut,
        "description": "HOOKPOST_METRICS_TOKEN is set and the request did not carry it "
        "as its bearer token",
    },
}


@router.get("/metrics", response_class=Response, responses=_METRICS)
async def prometheus(request: Request) -> Response:
    """Prometheus metrics of this process: attempts and their latency by outcome,
    events and deliveries created, API requests by route, and -- read from the
    database at most every 5 s -- the queue by state, the oldest due delivery's age
    and endpoints by health. Scrape every process; the queue figures are the same
    from each."""
    _check_metrics_token(request)
    now = time.monotonic()
    if now - _stats_cache["at"] > _STATS_TTL:
        try:
            stats = await runtime(request).store.queue_stats()
        except Exception:
            stats = None
        if stats is not None:
            for state in ("due", "scheduled", DeliveryStatus.DELIVERING, DeliveryStatus.HELD):
                metrics.queue.labels(state).set(stats[state])
            metrics.oldest_due.set(stats["oldest_due_seconds"])
            for state in ("disabled", "circuit_open", "failing"):
                metrics.endpoints.labels(state).set(stats["endpoints_" + state])
            _stats_cache["at"] = now
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _check_metrics_token(request: Request) -> None:
    want: str | None = request.app.state.settings.metrics_token
    if not want:
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), want.encode()):
        raise HTTPException(
            401,
            "/metrics needs the bearer token set in HOOKPOST_METRICS_TOKEN",
            headers={"WWW-Authenticate": 'Bearer realm="hookpost metrics"'},
        )
