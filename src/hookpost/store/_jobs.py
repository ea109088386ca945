"""Background jobs: today the recover job, resending failed deliveries in bulk.

A recover job counts its deliveries when it is created and is then done by
any worker in bounded batches, each its own short transaction, so resending
a million failures never holds a long lock; a job whose worker died is taken
over once its lease expires (``SKIP LOCKED`` keeps two workers off one job on
PostgreSQL).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, insert, select, update

from hookpost.core.ids import new_id
from hookpost.domain import DeliveryStatus, Page
from hookpost.store._audit import audit
from hookpost.store._core import Core
from hookpost.store._deliveries import retry_values
from hookpost.store.models import deliveries, jobs

__all__ = ["JobsMixin"]


class JobsMixin(Core):
    """Jobs: queue a recover job, read and list jobs, claim one, run one batch of it."""

    def _recover_conditions(self, params: dict[str, Any], project_id: str) -> list[Any]:
        conds = [
            deliveries.c.project_id == project_id,
            deliveries.c.status == DeliveryStatus.FAILED,
            deliveries.c.created_at >= params["since"],
        ]
        if params.get("endpoint_id"):
            conds.append(deliveries.c.endpoint_id == params["endpoint_id"])
        if params.get("until") is not None:
            conds.append(deliveries.c.created_at < params["until"])
        return conds

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

    async def create_recover_job(
        self, project_id: str, endpoint_id: str | None, since: float, until: float | None
    ) -> dict[str, Any]:
        """Queue a background job resending failed deliveries created in ``[since, until)``.

        ``total`` is counted now; a worker does the work in bounded batches.
        """
        now = self.clock.now()
        params = {"endpoint_id": endpoint_id, "since": since, "until": until}
        async with self.writer.begin() as conn:
            await self._require_project(conn, project_id)
            if endpoint_id is not None:
                await self._endpoint(conn, project_id, endpoint_id)
            total = (
                await conn.execute(
                    select(func.count())
                    .select_from(deliveries)
                    .where(and_(*self._recover_conditions(params, project_id)))
                )
            ).scalar_one()
            job = {
                "id": new_id("job"),
                "project_id": project_id,
                "kind": "recover",
                "params": params,
                "status": "queued" if total else "succeeded",
                "total": int(total),
                "done": 0,
                "cursor": None,
                "lease_until": None,
                "error": None,
                "created_at": now,
                "updated_at": now,
            }
            await conn.execute(insert(jobs).values(**job))
            if total:
                await self._notify(conn)
            kind, target = ("endpoint", endpoint_id) if endpoint_id else ("project", project_id)
            await audit(
                conn,
                now,
                f"{kind}.recover",
                kind,
                target,
                project_id=project_id,
                after={"job_id": job["id"], "since": since, "until": until, "total": job["total"]},
            )
        return job

    async def get_job(self, project_id: str, job_id: str) -> dict[str, Any]:
        return await self._one(
            select(jobs).where(jobs.c.id == job_id, jobs.c.project_id == project_id),
            "job",
        )

    async def list_jobs(self, project_id: str, *, limit: int, cursor: str | None) -> Page:
        stmt = select(jobs).where(jobs.c.project_id == project_id)
        return await self._page(stmt, jobs.c.id, limit, cursor)

    async def claim_job(self, lease_seconds: float) -> dict[str, Any] | None:
        """Take the oldest queued job (or one whose worker died) for this worker."""
        now = self.clock.now()
        async with self.writer.begin() as conn:
            row = (
                await conn.execute(
                    select(jobs.c.id)
                    .where(
                        (jobs.c.status == "queued")
                        | ((jobs.c.status == "running") & (jobs.c.lease_until < now))
                    )
                    .order_by(jobs.c.created_at)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
            ).first()
            if row is None:
                return None
            await conn.execute(
                update(jobs)
                .where(jobs.c.id == row.id)
                .values(status="running", lease_until=now + lease_seconds, updated_at=now)
            )
            job = (await conn.execute(select(jobs).where(jobs.c.id == row.id))).first()
        return None if job is None else dict(job._mapping)

    async def run_job_batch(
        self, job: dict[str, Any], lease_seconds: float, batch: int = 500
    ) -> dict[str, Any]:
        """Do one bounded step of a recover job in its own short transaction."""
        now = self.clock.now()
        conds = self._recover_conditions(job["params"], job["project_id"])
        if job["cursor"]:
            conds.append(deliveries.c.id > job["cursor"])
        async with self.writer.begin() as conn:
            ids = [
                r.id
                for r in (
                    await conn.execute(
                        select(deliveries.c.id)
                        .where(and_(*conds))
                        .order_by(deliveries.c.id)
                        .limit(batch)
                    )
                ).all()
            ]
            if ids:
                await conn.execute(
                    update(deliveries)
                    .where(deliveries.c.id.in_(ids), deliveries.c.status == DeliveryStatus.FAILED)
                    .values(**retry_values(now))
                )
                await self._notify(conn)
            finished = len(ids) < batch
            values = {
                "done": job["done"] + len(ids),
                "cursor": ids[-1] if ids else job["cursor"],
                "status": "succeeded" if finished else "running",
                "lease_until": None if finished else now + lease_seconds,
                "updated_at": now,
            }
            await conn.execute(update(jobs).where(jobs.c.id == job["id"]).values(**values))
        return {**job, **values}
