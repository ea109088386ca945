"""Prometheus metrics. One registry per process, exposed at ``/metrics``.

Counters and histograms move as work happens; the queue gauges are refreshed
from the database when ``/metrics`` is scraped (at most every few seconds), so
a scrape shows the shared queue even in an API-only process.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge, Histogram

if TYPE_CHECKING:
    from hookpost.domain import Outcome


class _Metrics:
    def __init__(self) -> None:
        self.attempts = Counter(
            "hookpost_delivery_attempts_total",
            "HTTP delivery attempts, by the delivery's resulting status and the profile",
            ["result", "profile"],
        )
        self.duration = Histogram(
            "hookpost_delivery_attempt_seconds",
            "Duration of delivery attempts",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.events = Counter("hookpost_events_published_total", "Events accepted")
        self.deliveries_created = Counter(
            "hookpost_deliveries_created_total", "Deliveries created by fan-out"
        )
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
        for o in outcomes:
            self.attempts.labels(o.status, o.profile or "unknown").inc()
            self.duration.observe(o.duration_ms / 1000)


metrics = _Metrics()
