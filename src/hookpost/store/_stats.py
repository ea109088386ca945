"""Aggregate reads: queue metrics, and the dashboard's charts and live feed.

Read-only and bounded. :meth:`StatsMixin.queue_stats` counts through the
indexes behind ``/metrics``; the ``dashboard_*`` queries are each bounded by
a time window on the indexed ``attempts.started_at`` (the dashboard asks for
the last hour) and, where rows come back, by a row cap.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, func, select, text

from hookpost.domain import DeliveryStatus
from hookpost.store import _backend
from hookpost.store._core import Core
from hookpost.store.models import HELD_STATUS, OPEN_STATUSES, attempts, deliveries, endpoints

__all__ = ["StatsMixin"]


class StatsMixin(Core):
    """Queue depth and age for metrics; per-minute outcomes, per-endpoint success,
    durations and recent attempts for the dashboard."""

    async def queue_stats(self) -> dict[str, float]:
        """Queue depth and age for metrics: bounded, index-driven queries."""
        now = self.clock.now()
        out: dict[str, float] = {}
        # The pending conditions state the open rows' partial index condition in its
        # own words (SQLite uses a partial index only so): ``ix_deliveries_due``, not a
        # scan of the table. Held rows are counted by ``endpoint_id`` (never NULL),
        # which SQLite reads from ``ix_deliveries_endpoint_held``; for a bare
        # ``count(*)`` it scans a whole index, as it still does for ``delivering``.
        opened = text(OPEN_STATUSES)
        pending = deliveries.c.status == DeliveryStatus.PENDING
        due = and_(opened, pending, deliveries.c.next_attempt_at <= now)
        async with self.reader.connect() as conn:
            for state, counted, cond in (
                ("due", func.count(), due),
                (
                    "scheduled",
                    func.count(),
                    and_(opened, pending, deliveries.c.next_attempt_at > now),
                ),
                (
                    DeliveryStatus.DELIVERING,
                    func.count(),
                    and_(opened, deliveries.c.status == DeliveryStatus.DELIVERING),
                ),
                (DeliveryStatus.HELD, func.count(deliveries.c.endpoint_id), text(HELD_STATUS)),
            ):
                out[state] = float(
                    (
                        await conn.execute(select(counted).select_from(deliveries).where(cond))
                    ).scalar_one()
                )
            oldest = (
                await conn.execute(select(func.min(deliveries.c.next_attempt_at)).where(due))
            ).scalar_one_or_none()
            out["oldest_due_seconds"] = 0.0 if oldest is None else max(0.0, now - float(oldest))
            for state, cond in (
                ("disabled", endpoints.c.enabled.is_(False)),
                ("circuit_open", endpoints.c.circuit_open_until > now),
                ("failing", endpoints.c.consecutive_failures > 0),
            ):
                out["endpoints_" + state] = float(
                    (
                        await conn.execute(select(func.count()).select_from(endpoints).where(cond))
                    ).scalar_one()
                )
        return out

    def _project_attempts(self, project_id: str, since: float) -> tuple[Any, Any]:
        """The attempts-join-deliveries FROM clause and the project/time WHERE clause."""
        return attempts.join(deliveries, deliveries.c.id == attempts.c.delivery_id), and_(
            deliveries.c.project_id == project_id, attempts.c.started_at >= since
        )

    async def dashboard_outcomes_per_minute(
        self, project_id: str, since: float
    ) -> dict[int, tuple[int, int]]:
        """``{floor(epoch / 60): (succeeded, failed)}`` attempts since ``since``."""
        minute = _backend.time_bucket(attempts.c.started_at, 60, self.engine)
        ok = func.sum(case((attempts.c.error.is_(None), 1), else_=0))
        joined, where = self._project_attempts(project_id, since)
        stmt = (
            select(minute.label("minute"), func.count().label("total"), ok.label("ok"))
            .select_from(joined)
            .where(where)
            .group_by(minute)
        )
        async with self.reader.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return {int(r.minute): (int(r.ok or 0), int(r.total) - int(r.ok or 0)) for r in rows}

    async def dashboard_endpoint_series(
        self, project_id: str, endpoint_id: str, since: float, bucket_seconds: int
    ) -> dict[int, tuple[int, int, float]]:
        """``{floor(epoch / bucket_seconds): (succeeded, failed, mean ms)}`` of one endpoint."""
        bucket = _backend.time_bucket(attempts.c.started_at, bucket_seconds, self.engine)
        ok = func.sum(case((attempts.c.error.is_(None), 1), else_=0))
        joined, where = self._project_attempts(project_id, since)
        stmt = (
            select(
                bucket.label("bucket"),
                func.count().label("total"),
                ok.label("ok"),
                func.avg(attempts.c.duration_ms).label("mean_ms"),
            )
            .select_from(joined)
            .where(where, deliveries.c.endpoint_id == endpoint_id)
            .group_by(bucket)
        )
        async with self.reader.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return {
            int(r.bucket): (int(r.ok or 0), int(r.total) - int(r.ok or 0), float(r.mean_ms or 0))
            for r in rows
        }

    async def dashboard_endpoint_success(
        self, project_id: str, since: float
    ) -> list[tuple[str, int, int]]:
        """``[(endpoint_id, attempts, succeeded)]`` since ``since``."""
        ok = func.sum(case((attempts.c.error.is_(None), 1), else_=0))
        joined, where = self._project_attempts(project_id, since)
        stmt = (
            select(deliveries.c.endpoint_id, func.count().label("total"), ok.label("ok"))
            .select_from(joined)
            .where(where)
            .group_by(deliveries.c.endpoint_id)
        )
        async with self.reader.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [(str(r.endpoint_id), int(r.total), int(r.ok or 0)) for r in rows]

    async def dashboard_durations(self, project_id: str, since: float, limit: int) -> list[float]:
        """``duration_ms`` of the latest ``limit`` attempts since ``since`` (for percentiles)."""
        joined, where = self._project_attempts(project_id, since)
        stmt = (
            select(attempts.c.duration_ms)
            .select_from(joined)
            .where(where)
            .order_by(attempts.c.started_at.desc())
            .limit(limit)
        )
        async with self.reader.connect() as conn:
            return [float(v) for v in (await conn.execute(stmt)).scalars().all()]

    async def dashboard_recent_attempts(
        self, project_id: str, since: float, limit: int
    ) -> list[dict[str, Any]]:
        """The newest attempts of the project (newest first), with their delivery's ids."""
        joined, where = self._project_attempts(project_id, since)
        stmt = (
            select(
                attempts.c.id,
                attempts.c.number,
                attempts.c.started_at,
                attempts.c.status_code,
                attempts.c.duration_ms,
                attempts.c.error,
                attempts.c.url,
                deliveries.c.id.label("delivery_id"),
                deliveries.c.endpoint_id,
                deliveries.c.event_id,
                deliveries.c.event_type,
            )
            .select_from(joined)
            .where(where)
            .order_by(attempts.c.id.desc())
            .limit(limit)
        )
        async with self.reader.connect() as conn:
            return [dict(r._mapping) for r in (await conn.execute(stmt)).all()]
