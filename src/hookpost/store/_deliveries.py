"""Deliveries: one event on its way to one endpoint, read and resent by operators.

The delivery rows are written by publish (:mod:`hookpost.store._events`),
leased by the claim (:mod:`hookpost.store._queue`) and moved on by the
recorder (:mod:`hookpost.store._record`); this module is the operator's side:
list and read them with their attempts, and resend one.
:func:`retry_values` -- due again with one more attempt, or held while its
endpoint is disabled -- is shared with the recover job (``_jobs``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, select, update

from hookpost.domain import Conflict, DeliveryStatus, NotFound, Page
from hookpost.store._audit import audit
from hookpost.store._core import Core
from hookpost.store.models import attempts, deliveries, endpoints

__all__ = ["DeliveriesMixin", "retry_values"]


def retry_values(now: float) -> dict[str, Any]:
    """A delivery made due again with one more attempt (resend, recover).

    If its endpoint is disabled it is ``held`` instead, like new events for
    that endpoint, and goes out when the endpoint is enabled and its held
    deliveries released.
    """
    enabled = (
        select(endpoints.c.enabled)
        .where(endpoints.c.id == deliveries.c.endpoint_id)
        .scalar_subquery()
    )
    return {
        "status": case((enabled, DeliveryStatus.PENDING), else_=DeliveryStatus.HELD),
        "next_attempt_at": case((enabled, now), else_=None),
        "attempt_limit": deliveries.c.attempt_count + 1,
        "updated_at": now,
    }


class DeliveriesMixin(Core):
    """Deliveries: list, read with their attempts, resend."""

    async def list_deliveries(
        self,
        project_id: str,
        *,
        limit: int,
        cursor: str | None,
        status: str | None = None,
        endpoint_id: str | None = None,
        event_type: str | None = None,
        event_id: str | None = None,
    ) -> Page:
        stmt = select(deliveries).where(deliveries.c.project_id == project_id)
        if status:
            stmt = stmt.where(deliveries.c.status == status)
        if endpoint_id:
            stmt = stmt.where(deliveries.c.endpoint_id == endpoint_id)
        if event_type:
            stmt = stmt.where(deliveries.c.event_type == event_type)
        if event_id:
            stmt = stmt.where(deliveries.c.event_id == event_id)
        return await self._page(stmt, deliveries.c.id, limit, cursor)

    async def get_delivery(self, project_id: str, delivery_id: str) -> dict[str, Any]:
        async with self.reader.connect() as conn:
            row = (
                await conn.execute(
                    select(deliveries).where(
                        deliveries.c.id == delivery_id, deliveries.c.project_id == project_id
                    )
                )
            ).first()
            if row is None:
                raise NotFound("delivery")
            tries = (
                await conn.execute(
                    select(attempts)
                    .where(attempts.c.delivery_id == delivery_id)
                    .order_by(attempts.c.number, attempts.c.id)
                )
            ).all()
        out = dict(row._mapping)
        out["attempts"] = [dict(t._mapping) for t in tries]
        return out

    async def resend(self, project_id: str, delivery_id: str) -> dict[str, Any]:
        """Make a delivery due now with one more attempt on top of those made."""
        now = self.clock.now()
        where = (deliveries.c.id == delivery_id, deliveries.c.project_id == project_id)
        state = select(deliveries.c.status, deliveries.c.attempt_limit).where(*where)
        async with self.writer.begin() as conn:
            before = (await conn.execute(state)).first()
            res = await conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.id == delivery_id,
                    deliveries.c.project_id == project_id,
                    deliveries.c.status != DeliveryStatus.DELIVERING,
                )
                .values(**retry_values(now))
            )
            if res.rowcount == 0:
                exists = (
                    await conn.execute(
                        select(deliveries.c.status).where(
                            deliveries.c.id == delivery_id, deliveries.c.project_id == project_id
                        )
                    )
                ).first()
                if exists is None:
                    raise NotFound("delivery")
                raise Conflict("the delivery is being attempted right now")
            await self._notify(conn)
            after = (await conn.execute(state)).first()
            await audit(
                conn,
                now,
                "delivery.resend",
                "delivery",
                delivery_id,
                project_id=project_id,
                before=dict(before._mapping) if before else None,
                after=dict(after._mapping) if after else None,
            )
        return await self.get_delivery(project_id, delivery_id)
