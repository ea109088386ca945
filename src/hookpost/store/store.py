"""All SQL in one place.

The API calls these methods, the dispatcher calls :meth:`Store.claim` and
:meth:`Store.record`. Every write that must be atomic (an event and its
deliveries; a batch of attempts and their deliveries' new state) is one
transaction here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    and_,
    bindparam,
    case,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from hookpost.core.wiretext import storable
from hookpost.domain import (
    DeliveryStatus,
    HealthPolicy,
    Outcome,
    fold_health,
)
from hookpost.store import _backend, _record
from hookpost.store import _statements as statements
from hookpost.store._catalog import CatalogMixin
from hookpost.store._core import MAX_BIGINT, Core, decode_cursor, encode_cursor
from hookpost.store._deliveries import DeliveriesMixin
from hookpost.store._endpoints import EndpointsMixin, disable
from hookpost.store._events import EventsMixin, ops_event
from hookpost.store._jobs import JobsMixin
from hookpost.store._projects import KEY_SCOPES, ProjectsMixin
from hookpost.store._queue import QueueMixin
from hookpost.store._record import RecordIncomplete
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
    Core,
):
    """The one object the rest of hookpost persists through (see :mod:`hookpost.store._core`)."""

    # -- the dispatcher's side -------------------------------------------------

    async def record(self, outcomes: Iterable[Outcome], policy: HealthPolicy | None = None) -> None:
        """Write a batch of attempts, their deliveries' new state and endpoint health.

        One transaction. A delivery whose lease is no longer ours (it expired
        and another worker took it) keeps its attempt in the log but its state
        is left alone. A batch the database refuses is written row by row, a
        refused row in its poisoned form (see :mod:`hookpost.store._record`);
        :class:`RecordIncomplete` carries the rows not written when the
        database is out of reach, for the caller to retry.
        """
        batch = list(outcomes)
        if not batch:
            return
        policy = policy or HealthPolicy()
        try:
            await self._record_rows(batch, policy)
            return
        except Exception as exc:
            if _record.unavailable(exc):
                raise RecordIncomplete(batch) from exc
        for i, outcome in enumerate(batch):
            await self._record_alone(outcome, policy, batch[i:])

    async def _record_alone(
        self, outcome: Outcome, policy: HealthPolicy, remaining: list[Outcome]
    ) -> None:
        """One outcome in its own transaction; refused, its poisoned form; refused again, logged."""
        try:
            await self._record_rows([outcome], policy)
            return
        except Exception as exc:
            if _record.unavailable(exc):
                raise RecordIncomplete(remaining) from exc
            why = _record.problem(exc)
        try:
            await self._record_rows([_record.poisoned(outcome, why)], policy)
        except Exception as exc:
            if _record.unavailable(exc):
                raise RecordIncomplete(remaining) from exc
            log.error(
                "the database refused attempt %d of delivery %s (%s), even without its "
                "request and response; the delivery will be retried when its lease expires",
                outcome.number,
                outcome.delivery_id,
                _record.problem(exc),
            )
            return
        log.warning(
            "the database refused attempt %d of delivery %s (%s); recorded without its "
            "request and response",
            outcome.number,
            outcome.delivery_id,
            why,
        )

    async def _record_rows(self, batch: list[Outcome], policy: HealthPolicy) -> None:
        now = self.clock.now()
        async with self.writer.begin() as conn:
            await conn.execute(statements.INSERT_ATTEMPTS, [_record.attempt_row(o) for o in batch])
            await conn.execute(
                statements.RECORD_DELIVERIES,
                [
                    {
                        "b_id": o.delivery_id,
                        "b_lease": o.lease,
                        "b_status": o.status,
                        "b_number": o.number,
                        "b_next": o.next_attempt_at,
                        "b_code": o.status_code,
                        "b_error": None if o.error is None else storable(o.error)[0],
                        "b_now": now,
                    }
                    for o in batch
                ],
            )
            await self._update_health(conn, batch, policy, now)

    async def _update_health(
        self, conn: AsyncConnection, batch: list[Outcome], policy: HealthPolicy, now: float
    ) -> None:
        change = fold_health(batch)
        resets, failing = change.resets, change.failing
        if resets:
            await conn.execute(
                update(endpoints)
                .where(endpoints.c.id.in_(resets))
                .values(consecutive_failures=0, failing_since=None, circuit_open_until=None)
            )
        if failing:
            base = endpoints.c.consecutive_failures
            await conn.execute(
                update(endpoints)
                .where(endpoints.c.id == bindparam("b_id"))
                .values(
                    consecutive_failures=base * (1 - bindparam("b_reset")) + bindparam("b_n"),
                    failing_since=case(
                        (bindparam("b_reset") == 1, now),
                        else_=func.coalesce(endpoints.c.failing_since, now),
                    ),
                    circuit_open_until=case(
                        (
                            base * (1 - bindparam("b_reset")) + bindparam("b_n")
                            >= policy.breaker_threshold,
                            now + policy.breaker_cooldown_seconds,
                        ),
                        else_=None,
                    ),
                ),
                [{"b_id": ep, "b_reset": int(r), "b_n": n} for ep, r, n in failing],
            )
        gone = {o.endpoint_id: o.disable_reason for o in batch if o.disable_reason}
        long_failing = [ep for ep, _r, n in failing if n > 0]
        disabled: list[tuple[str, str, str]] = []
        if long_failing:
            cutoff = now - policy.disable_after_seconds
            rows = (
                await conn.execute(
                    select(endpoints.c.id, endpoints.c.project_id, endpoints.c.failing_since).where(
                        endpoints.c.id.in_(long_failing),
                        endpoints.c.enabled.is_(True),
                        endpoints.c.failing_since <= cutoff,
                    )
                )
            ).all()
            for r in rows:
                days = (now - float(r.failing_since)) / 86400
                gone.setdefault(r.id, f"failing continuously for {days:.1f} days")
        for ep_id, reason in gone.items():
            if await disable(conn, ep_id, reason, now):
                disabled.append((ep_id, reason, ""))
        if policy.operations_project:
            await self._operational_events(conn, batch, disabled, policy.operations_project)

    async def _operational_events(
        self,
        conn: AsyncConnection,
        batch: list[Outcome],
        disabled: list[tuple[str, str, str]],
        ops_project: str,
    ) -> None:
        """Publish state changes into the operator's project, as ordinary events."""
        for ep_id, reason, _ in disabled:
            ep = (await conn.execute(select(endpoints).where(endpoints.c.id == ep_id))).first()
            if ep is None or ep.project_id == ops_project:
                continue
            await ops_event(
                self,
                conn,
                ops_project,
                "endpoint.disabled",
                {
                    "endpoint_id": ep_id,
                    "project_id": ep.project_id,
                    # masked, for a broker URL with a password (sealed in the row)
                    "url": _sealing.unseal_for_delivery(self.box, dict(ep._mapping))["url"],
                    "reason": reason,
                },
            )
        for o in batch:
            if o.status == DeliveryStatus.FAILED and o.project_id != ops_project:
                await ops_event(
                    self,
                    conn,
                    ops_project,
                    "delivery.exhausted",
                    {
                        "delivery_id": o.delivery_id,
                        "event_id": o.event_id,
                        "endpoint_id": o.endpoint_id,
                        "project_id": o.project_id,
                        "attempts": o.number,
                        "last_status_code": o.status_code,
                        "last_error": o.error,
                    },
                )

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
