"""All SQL in one place.

The API calls these methods, the dispatcher calls :meth:`Store.claim` and
:meth:`Store.record`. Every write that must be atomic (an event and its
deliveries; a batch of attempts and their deliveries' new state) is one
transaction here.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import (
    and_,
    case,
    delete,
    func,
    select,
    text,
)

from hookpost.domain import (
    DeliveryStatus,
)
from hookpost.store import _backend
from hookpost.store._catalog import CatalogMixin
from hookpost.store._core import MAX_BIGINT, Core, decode_cursor, encode_cursor
from hookpost.store._deliveries import DeliveriesMixin
from hookpost.store._endpoints import EndpointsMixin
from hookpost.store._events import EventsMixin
from hookpost.store._jobs import JobsMixin
from hookpost.store._projects import KEY_SCOPES, ProjectsMixin
from hookpost.store._queue import QueueMixin
from hookpost.store._record import RecordMixin
from hookpost.store.models import (
    attempts,
    deliveries,
    endpoints,
    events,
)

log = logging.getLogger("hookpost.store")


class Store(
    ProjectsMixin,
    EndpointsMixin,
    CatalogMixin,
    EventsMixin,
    DeliveriesMixin,
    JobsMixin,
    QueueMixin,
    RecordMixin,
    Core,
):
    """The one object the rest of hookpost persists through (see :mod:`hookpost.store._core`)."""

    # -- the dispatcher's side -------------------------------------------------

    async def purge(
        self, older_than_seconds: float, *, batch: int = 1000, max_batches: int = 10_000
    ) -> dict[str, int]:
        """Delete attempts, and finished events with their deliveries, older than the cutoff.

        Works in bounded batches, each its own short transaction, so a purge of
        millions of rows never holds a long lock. Events with a delivery still
        pending, in flight or held are kept whatever their age, and so is the
        newest event: SQLite numbers a new row one past the largest left, so
        deleting it would hand its sequence out again, below the cursor of a
        catch-up reader that has already seen it.
        """
        cutoff = self.clock.now() - older_than_seconds
        removed = {"attempts": 0, "events": 0}
        for _ in range(max_batches):
            async with self.writer.begin() as conn:
                ids = select(attempts.c.id).where(attempts.c.started_at < cutoff).limit(batch)
                res = await conn.execute(delete(attempts).where(attempts.c.id.in_(ids)))
            removed["attempts"] += res.rowcount
            if res.rowcount < batch:
                break
        active = select(deliveries.c.event_seq).where(
            deliveries.c.event_seq == events.c.seq,
            deliveries.c.status.in_(
                (DeliveryStatus.PENDING, DeliveryStatus.DELIVERING, DeliveryStatus.HELD)
            ),
        )
        newest = select(func.max(events.c.seq)).scalar_subquery()
        for _ in range(max_batches):
            async with self.writer.begin() as conn:
                seqs = [
                    r.seq
                    for r in (
                        await conn.execute(
                            select(events.c.seq)
                            .where(
                                events.c.created_at < cutoff,
                                ~active.exists(),
                                events.c.seq < newest,
                            )
                            .limit(batch)
                        )
                    ).all()
                ]
                if seqs:
                    dsub = select(deliveries.c.id).where(deliveries.c.event_seq.in_(seqs))
                    await conn.execute(delete(attempts).where(attempts.c.delivery_id.in_(dsub)))
                    await conn.execute(delete(deliveries).where(deliveries.c.event_seq.in_(seqs)))
                    await conn.execute(delete(events).where(events.c.seq.in_(seqs)))
            removed["events"] += len(seqs)
            if len(seqs) < batch:
                break
        return removed

    async def probe_write(self) -> None:
        """A write that changes nothing anyone reads: does the database take writes?

        Rewrites the one row of ``alembic_version`` with its own value. Both
        backends really write it (SQLite appends a WAL frame, so it fails on a
        full disk; PostgreSQL writes a new row version), and the writer reports
        the outcome to :attr:`health`. Only ``/readyz`` calls it, and only while
        writes are failing.
        """
        async with self.writer.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = version_num"))

    async def queue_stats(self) -> dict[str, float]:
        """Queue depth and age for metrics: bounded, index-driven queries."""
        now = self.clock.now()
        out: dict[str, float] = {}
        async with self.reader.connect() as conn:
            for state, cond in (
                (
                    "due",
                    (deliveries.c.status == DeliveryStatus.PENDING)
                    & (deliveries.c.next_attempt_at <= now),
                ),
                (
                    "scheduled",
                    (deliveries.c.status == DeliveryStatus.PENDING)
                    & (deliveries.c.next_attempt_at > now),
                ),
                ("delivering", deliveries.c.status == DeliveryStatus.DELIVERING),
                ("held", deliveries.c.status == DeliveryStatus.HELD),
            ):
                out[state] = float(
                    (
                        await conn.execute(select(func.count()).select_from(deliveries).where(cond))
                    ).scalar_one()
                )
            oldest = (
                await conn.execute(
                    select(func.min(deliveries.c.next_attempt_at)).where(
                        deliveries.c.status == DeliveryStatus.PENDING,
                        deliveries.c.next_attempt_at <= now,
                    )
                )
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

    # -- dashboard -------------------------------------------------------------
    # Read-only aggregates for hookpost.dashboard's charts and live feed. Each is
    # bounded by a time window on the indexed attempts.started_at (the dashboard
    # asks for the last hour) and, where rows come back, by a row cap.

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

    async def count_recoverable(
        self, project_id: str, endpoint_id: str | None, since: float, until: float | None
    ) -> int:
        """How many failed deliveries a recover job with these bounds would resend now."""
        params = {"endpoint_id": endpoint_id, "since": since, "until": until}
        stmt = (
            select(func.count())
            .select_from(deliveries)
            .where(and_(*self._recover_conditions(params, project_id)))
        )
        async with self.reader.connect() as conn:
            return int((await conn.execute(stmt)).scalar_one())

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


__all__ = ["KEY_SCOPES", "MAX_BIGINT", "Store", "decode_cursor", "encode_cursor"]
