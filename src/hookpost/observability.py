"""Prometheus metrics. One registry per process, exposed at ``/metrics``.

Counters and histograms move as work happens; the queue gauges are refreshed
from the database when ``/metrics`` is scraped (at most every few seconds), so
a scrape shows the shared queue even in an API-only process.

Names follow OpenMetrics: no family ends in the reserved ``_created`` (the fan-out
counter was ``hookpost_deliveries_created_total``; it is now
``hookpost_deliveries_enqueued_total``, the old name kept one release), and the
``*_created`` timestamp series prometheus_client adds beside every counter and
histogram are turned off: they doubled the sample count and said only when the
process started. The attempt counter's ``result`` is what the attempt itself did
(:func:`attempt_result`), whatever the delivery does next; API requests are counted
and timed by route template, never by raw path, so ids do not make new series.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter, Gauge, Histogram, Info, disable_created_metrics

from hookpost import __version__

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from hookpost.domain import Outcome

disable_created_metrics()  # type: ignore[no-untyped-call]

#: ``result`` label values of ``hookpost_delivery_attempts_total``.
ATTEMPT_RESULTS = ("success", "http_error", "error")


def attempt_result(outcome: Outcome) -> str:
    """``success`` (the endpoint's rule accepted the answer), ``http_error`` (an
    answer it did not accept), or ``error`` (no answer: refused connection, timeout,
    TLS, a request that could not be built)."""
    if outcome.success:
        return "success"
    return "http_error" if outcome.status_code is not None else "error"


class _Metrics:
    def __init__(self) -> None:
        self.attempts = Counter(
            "hookpost_delivery_attempts_total",
            "Delivery attempts by what the attempt did (success, http_error, error) and profile",
            ["result", "profile"],
        )
        self.duration = Histogram(
            "hookpost_delivery_attempt_seconds",
            "Duration of delivery attempts",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.events = Counter("hookpost_events_published_total", "Events accepted")
        self.deliveries_enqueued = Counter(
            "hookpost_deliveries_enqueued_total",
            "Deliveries created by fan-out: one per event and matching endpoint",
        )
        #: The former name of deliveries_enqueued, ending in OpenMetrics' reserved
        #: ``_created``; kept for one release (docs/operations.md).
        self.deliveries_created_deprecated = Counter(
            "hookpost_deliveries_created_total",
            "Deprecated: use hookpost_deliveries_enqueued_total (same value); "
            "removed in the next release",
        )
        self.requests = Counter(
            "hookpost_http_requests_total",
            "API and dashboard requests answered, by method, route template and status",
            ["method", "route", "status"],
        )
        self.request_seconds = Histogram(
            "hookpost_http_request_duration_seconds",
            "Time to answer an API or dashboard request, by method and route template",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.build = Info("hookpost_build", "The hookpost version and Python this process runs")
        self.build.info({"version": __version__, "python": platform.python_version()})
        self.queue = Gauge(
            "hookpost_queue_deliveries",
            "Deliveries not yet final: due, scheduled (waiting for a retry), delivering, held",
            ["state"],
        )
        self.oldest_due = Gauge(
            "hookpost_queue_oldest_due_seconds",
            "How long the oldest due delivery has been waiting (0 when none)",
        )
        self.inflight = Gauge("hookpost_worker_inflight", "Requests this process has in flight")
        self.endpoints = Gauge("hookpost_endpoints", "Endpoints by health", ["state"])
        self.last_claim = Gauge(
            "hookpost_worker_last_claim_timestamp_seconds",
            "When this process's dispatcher last went round its claim loop",
        )

    def record_outcomes(self, outcomes: Iterable[Outcome]) -> None:
        # One labelled increment per (result, profile) of a recorded batch, not per attempt.
        counts: dict[tuple[str, str], int] = {}
        for o in outcomes:
            key = (attempt_result(o), o.profile or "unknown")
            counts[key] = counts.get(key, 0) + 1
            self.duration.observe(o.duration_ms / 1000)
        for (result, profile), n in counts.items():
            self.attempts.labels(result, profile).inc(n)

    def fanned_out(self, deliveries: int) -> None:
        self.deliveries_enqueued.inc(deliveries)
        self.deliveries_created_deprecated.inc(deliveries)


metrics = _Metrics()


#: The ``route`` label of a request no API or dashboard route took (a 404, a body
#: refused before routing, a static file): one series, whatever paths scanners try.
OTHER = "<other>"


def route_template(scope: Scope) -> str:
    """The matched route's path template, its router's prefix included.

    FastAPI leaves the route in ``scope["route"]``; from 0.16x on that is the route
    as declared in its router (``/projects/{project_id}/events``) without the
    ``/api/v1`` it was included under, so the prefix is read off the request's path:
    the part before where the route's pattern matches.
    """
    route: Any = scope.get("route")
    template = getattr(route, "path", None)
    pattern = getattr(route, "path_regex", None)
    if not isinstance(template, str) or pattern is None:
        return OTHER
    path = str(scope.get("path", ""))
    for cut in (i for i, ch in enumerate(path) if ch == "/"):
        if pattern.match(path[cut:]):
            return path[:cut] + template
    return template


class RequestMetrics:
    """ASGI middleware: count and time each HTTP request by its route template.

    Outermost, so it sees every answer (a 413 from the body limit too). The router
    leaves the matched route in ``scope["route"]``; its ``path`` is the template
    (``/api/v1/projects/{project_id}/events``).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            template = route_template(scope)
            method = str(scope.get("method", ""))
            metrics.requests.labels(method, template, str(status)).inc()
            metrics.request_seconds.labels(method, template).observe(time.perf_counter() - started)
