"""Endpoints: where deliveries go, with their secrets sealed at rest.

Secrets (signing secrets, old secrets in their grace period, secret custom
headers) are encrypted on the way in and decrypted on the way out
(:mod:`hookpost.store._sealing`). Disabling an endpoint holds its pending
deliveries (:func:`disable`, also called by the recorder when a receiver
answers 410 or an endpoint has failed for too long); enabling it clears its
failure history, and its held deliveries wait for :meth:`release_held`.
Every change forgets the claim's "any fifo endpoint?" memo.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hookpost.core.ids import new_id
from hookpost.domain import Conflict, DeliveryStatus, LimitReached, Page
from hookpost.store import _sealing
from hookpost.store import _statements as statements
from hookpost.store._audit import audit
from hookpost.store._core import Core
from hookpost.store._events import ops_event
from hookpost.store.models import HELD_STATUS, attempts, deliveries, endpoints, rate_buckets

__all__ = ["EndpointsMixin", "disable"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _forgets_fifo(
    method: Callable[Concatenate[EndpointsMixin, _P], Awaitable[_R]],
) -> Callable[Concatenate[EndpointsMixin, _P], Awaitable[_R]]:
    """Forget the "any fifo endpoint?" memo once the change is committed (or failed)."""

    @functools.wraps(method)
    async def wrapper(store: EndpointsMixin, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return await method(store, *args, **kwargs)
        finally:
            store._fifo.clear()

    return wrapper


async def disable(conn: AsyncConnection, endpoint_id: str, reason: str, now: float) -> bool:
    """Disable an endpoint and hold its pending deliveries. False if already disabled."""
    params = {"b_id": endpoint_id, "b_reason": reason, "b_now": now}
    if not (await conn.execute(statements.DISABLE_ENDPOINT, params)).rowcount:
        return False
    await conn.execute(statements.HOLD_PENDING, {"b_id": endpoint_id, "b_now": now})
    return True


class EndpointsMixin(Core):
    """Endpoints: create (within the project's limit), read, change, enable/disable,
    rotate and reseal secrets, release held deliveries, delete."""

    @_forgets_fifo
    async def create_endpoint(
        self, project_id: str, values: dict[str, Any], *, max_endpoints: int = 0
    ) -> dict[str, Any]:
        """Insert an endpoint (its secrets encrypted); LimitReached past ``max_endpoints``."""
        now = self.clock.now()
        row = {
            "id": new_id("ep"),
            "project_id": project_id,
            "old_secrets": [],
            "created_at": now,
            "updated_at": now,
            **values,
        }
        async with self.writer.begin() as conn:
            # Locking the project row serialises concurrent creates on PostgreSQL
            # (SQLite's BEGIN IMMEDIATE already does), so the count is exact.
            await self._require_project(conn, project_id, for_update=True)
            if max_endpoints > 0:
                have = (
                    await conn.execute(
                        select(func.count())
                        .select_from(endpoints)
                        .where(endpoints.c.project_id == project_id)
                    )
                ).scalar_one()
                if have >= max_endpoints:
                    raise LimitReached(
                        f"the project has reached its limit of {max_endpoints} endpoints "
                        "(HOOKPOST_MAX_ENDPOINTS_PER_PROJECT)"
                    )
            await conn.execute(insert(endpoints).values(**_sealing.seal(self.box, row["id"], row)))
            created = await self._endpoint(conn, project_id, row["id"])
            await audit(
                conn,
                now,
                "endpoint.create",
                "endpoint",
                row["id"],
                project_id=project_id,
                after=created,
            )
            return created

    async def list_endpoints(self, project_id: str, *, limit: int, cursor: str | None) -> Page:
        stmt = select(endpoints).where(endpoints.c.project_id == project_id)
        page = await self._page(stmt, endpoints.c.id, limit, cursor)
        page.data = [_sealing.unseal(self.box, r) for r in page.data]
        return page

    async def get_endpoint(self, project_id: str, endpoint_id: str) -> dict[str, Any]:
        async with self.reader.connect() as conn:
            return await self._endpoint(conn, project_id, endpoint_id)

    @_forgets_fifo
    async def update_endpoint(
        self,
        project_id: str,
        endpoint_id: str,
        values: dict[str, Any],
        *,
        operations_project: str | None = None,
    ) -> dict[str, Any]:
        """Change an endpoint. Disabling holds its pending deliveries; re-enabling
        clears its failure history (held deliveries wait for ``release_held``)."""
        now = self.clock.now()
        async with self.writer.begin() as conn:
            before = await self._endpoint(conn, project_id, endpoint_id)
            values = _sealing.seal(self.box, endpoint_id, values)
            enabled = values.pop("enabled", None)
            if values:
                await conn.execute(
                    update(endpoints)
                    .where(endpoints.c.id == endpoint_id)
                    .values(**values, updated_at=now)
                )
            change: str | None = None
            if enabled is False and before["enabled"]:
                await disable(conn, endpoint_id, "disabled through the API", now)
                change = "endpoint.disabled"
            elif enabled is True and not before["enabled"]:
                await conn.execute(
                    update(endpoints)
                    .where(endpoints.c.id == endpoint_id)
                    .values(
                        enabled=True,
                        disabled_reason=None,
                        disabled_at=None,
                        consecutive_failures=0,
                        failing_since=None,
                        circuit_open_until=None,
                        updated_at=now,
                    )
                )
                change = "endpoint.enabled"
            after = await self._endpoint(conn, project_id, endpoint_id)
            await audit(
                conn,
                now,
                "endpoint.update",
                "endpoint",
                endpoint_id,
                project_id=project_id,
                before=before,
                after=after,
            )
            if change and operations_project and operations_project != project_id:
                await ops_event(
                    self,
                    conn,
                    operations_project,
                    change,
                    {
                        "endpoint_id": endpoint_id,
                        "project_id": project_id,
                        "url": after["url"],
                        "reason": after["disabled_reason"],
                    },
                )
            return after

    async def release_held(self, project_id: str, endpoint_id: str) -> int:
        now = self.clock.now()
        async with self.writer.begin() as conn:
            ep = await self._endpoint(conn, project_id, endpoint_id)
            if not ep["enabled"]:
                raise Conflict("the endpoint is disabled: enable it before releasing")
            res = await conn.execute(
                update(deliveries)
                # The condition in the index's own words: ix_deliveries_endpoint_held.
                .where(deliveries.c.endpoint_id == endpoint_id, text(HELD_STATUS))
                .values(status=DeliveryStatus.PENDING, next_attempt_at=now, updated_at=now)
            )
            if res.rowcount:
                await self._notify(conn)
            await audit(
                conn,
                now,
                "endpoint.release_held",
                "endpoint",
                endpoint_id,
                project_id=project_id,
                after={"released": int(res.rowcount)},
            )
        return int(res.rowcount)

    async def delete_endpoint(self, project_id: str, endpoint_id: str) -> None:
        async with self.writer.begin() as conn:
            before = await self._endpoint(conn, project_id, endpoint_id)
            dsub = select(deliveries.c.id).where(deliveries.c.endpoint_id == endpoint_id)
            await conn.execute(delete(attempts).where(attempts.c.delivery_id.in_(dsub)))
            await conn.execute(delete(deliveries).where(deliveries.c.endpoint_id == endpoint_id))
            await conn.execute(
                delete(rate_buckets).where(rate_buckets.c.endpoint_id == endpoint_id)
            )
            await conn.execute(delete(endpoints).where(endpoints.c.id == endpoint_id))
            await audit(
                conn,
                self.clock.now(),
                "endpoint.delete",
                "endpoint",
                endpoint_id,
                project_id=project_id,
                before=before,
            )

    async def rotate_secret(
        self, project_id: str, endpoint_id: str, new_secret: str, grace_seconds: float
    ) -> dict[str, Any]:
        now = self.clock.now()
        async with self.writer.begin() as conn:
            ep = await self._endpoint(conn, project_id, endpoint_id)
            old = [s for s in ep["old_secrets"] if s["expires_at"] > now]
            if grace_seconds > 0:
                old.append({"secret": ep["secret"], "expires_at": now + grace_seconds})
            sealed = _sealing.seal(
                self.box, endpoint_id, {"secret": new_secret, "old_secrets": old}
            )
            await conn.execute(
                update(endpoints)
                .where(endpoints.c.id == endpoint_id)
                .values(**sealed, updated_at=now)
            )
            after = await self._endpoint(conn, project_id, endpoint_id)
            await audit(
                conn,
                now,
                "endpoint.secret.rotate",
                "endpoint",
                endpoint_id,
                project_id=project_id,
                before=ep,
                after=after,
            )
            return after

    async def reseal_secrets(self, *, batch: int = 200) -> dict[str, int]:
        """Re-encrypt every endpoint secret under the box's current key (``rotate-key``).

        Secret custom headers are included, and those written in clear by a
        hookpost from before they were sealed are sealed now.

        Values already under the current key are left alone, so a run that was
        interrupted can simply be repeated. Each batch is its own transaction;
        a finished run writes one audit entry naming the key (its id, never it).
        """
        box = _sealing.require_box(self.box)
        done = {"endpoints": 0, "resealed": 0}
        after = ""
        while True:
            async with self.writer.begin() as conn:
                rows = [
                    dict(r._mapping)
                    for r in (
                        await conn.execute(
                            select(
                                endpoints.c.id,
                                endpoints.c.secret,
                                endpoints.c.old_secrets,
                                endpoints.c.headers,
                                endpoints.c.url,
                            )
                            .where(endpoints.c.id > after)
                            .order_by(endpoints.c.id)
                            .limit(batch)
                        )
                    ).all()
                ]
                for raw in rows:
                    done["endpoints"] += 1
                    if not _sealing.needs_reseal(box, raw):
                        continue
                    plain = _sealing.unseal(box, dict(raw))
                    sealed = _sealing.seal(
                        box,
                        raw["id"],
                        {
                            "secret": plain["secret"],
                            "old_secrets": plain["old_secrets"] or [],
                            "headers": plain["headers"],
                            "secret_headers": plain["secret_headers"],
                            # A sealed broker URL (the plain one is left as it is).
                            **({"url": plain["wire_url"]} if "wire_url" in plain else {}),
                        },
                    )
                    await conn.execute(
                        update(endpoints).where(endpoints.c.id == raw["id"]).values(**sealed)
                    )
                    done["resealed"] += 1
            if len(rows) < batch:
                break
            after = rows[-1]["id"]
        async with self.writer.begin() as conn:  # the batches are committed: one entry for all
            now = self.clock.now()
            await audit(conn, now, "secret_key.rotate", "secret_key", box.key_id, after=done)
        return done
