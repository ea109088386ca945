"""Prometheus metrics. One registry per process, exposed at ``/metrics``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from prometheus_client import Counter, Histogram

if TYPE_CHECKING:
    from hookpost.store import Outcome


class _Metrics:
    def __init__(self) -> None:
        self.attempts = Counter(
            "hookpost_delivery_attempts_total",
            "HTTP delivery attempts, by resulting delivery status",
            ["result"],
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

    def record_outcomes(self, outcomes: Iterable[Outcome]) -> None:
        for o in outcomes:
            self.attempts.labels(o.status).inc()
            self.duration.observe(o.duration_ms / 1000)


metrics = _Metrics()
