"""The queue: claiming due deliveries, and the leases that keep them claimed.

:meth:`QueueMixin.claim` is the worker's one read-and-write per batch: one
statement leases up to ``limit`` due deliveries (``statements.CLAIM``, and
``CLAIM_FIFO`` for ordered endpoints when there are any), then the admission
policy runs inside the same transaction -- each endpoint's concurrency cap
and window, its rate limit (a token bucket shared by every worker), a
half-open circuit's single probe -- and what it refuses is handed straight
back. Only the rows kept have their events loaded. The result is typed
(:class:`hookpost.domain.Claim` of :class:`~hookpost.domain.ClaimedDelivery` s):
each endpoint row becomes one :class:`~hookpost.domain.ClaimedEndpoint` and each
event row one :class:`~hookpost.domain.ClaimedEvent`, shared by every delivery of
the claim that carries them, so nothing is converted again per attempt.

Leases are the queue's safety net: a live worker extends its own
(:meth:`extend_leases`, the heartbeat), gives back what it will not send
(:meth:`release_leases`), and the leases of a dead worker are reclaimed at
once (:meth:`reclaim_dead_leases`, see :mod:`hookpost.store._liveness`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from hookpost.core.ids import new_id
from hookpost.domain import Claim, ClaimedEndpoint, ClaimedEvent, HealthPolicy
from hookpost.store import _statements as statements
from hookpost.store._claim import (
    Admitted,
    ClaimRow,
    ClaimSpec,
    admit,
    claim_sqlite,
    claimed_deliveries,
    custom_projects,
    endpoints_for_delivery,
)
from hookpost.store._core import Core

__all__ = ["QueueMixin"]


class QueueMixin(Core):
    """The dispatcher's side of the queue: claim, heartbeat, reclaim, release, next due time."""

    async def claim(
        self,
        limit: int,
        lease_seconds: float,
        *,
        inflight: Mapping[str, int] | None = None,
        busy: Sequence[str] = (),
        policy: HealthPolicy | None = None,
        allowance: Callable[[str, int], int] | None = None,
        worker: str | None = None,
    ) -> Claim:
        """Lease up to ``limit`` due deliveries and load what sending them needs.

        ``inflight`` counts this worker's requests per endpoint and ``busy``
        lists the endpoints at their concurrency cap: those are not claimed, so
        one slow endpoint can never fill every slot. ``allowance(endpoint_id,
        cap)`` narrows an endpoint's cap to what the worker grants it now (its
        concurrency window). Within the same transaction (on PostgreSQL, right
        after it: see :meth:`_claim_leasing`), claimed rows beyond that, beyond
        the endpoint's rate limit (a token bucket shared by all workers) or
        beyond its half-open circuit's single probe are handed straight back.
        ``worker``: the id of the claiming worker's lock (see
        :meth:`reclaim_dead_leases`), written into the lease token.
        """
        policy = policy or HealthPolicy()
        now = self.clock.now()
        lease = new_id("ls")[3:] if worker is None else f"{worker}.{new_id('ls')[-12:]}"
        hit, any_fifo = self._fifo.get(None)
        spec = ClaimSpec(
            limit=limit,
            lease=lease,
            lease_until=now + lease_seconds,
            now=now,
            busy=busy,
            inflight=inflight or {},
            allowance=allowance,
            policy=policy,
            any_fifo=bool(any_fifo) if hit else None,
        )
        if self.is_sqlite:
            box = self.box
            # Not synced: a lost lease only repeats a delivery (see ``_claim``).
            claimed = await self.writer.run_sqlite(
                lambda db: claim_sqlite(db, spec, box), synced=False
            )
            if not hit:
                self._fifo.put(None, claimed.any_fifo)
            return Claim(
                claimed.jobs, more=claimed.more, capped=claimed.capped, next_due=claimed.next_due
            )
        return await self._claim_leasing(spec)

    async def _claim_leasing(self, spec: ClaimSpec) -> Claim:
        """The claim on PostgreSQL: lease a batch (``SKIP LOCKED``), admit, hand back the rest.

        The lease, the rows' endpoints and their events are one statement
        (``CLAIM_PG``), so its own transaction: one round trip where a ``BEGIN``,
        three statements and a ``COMMIT`` were five. What admission refuses is
        handed back right after that commit -- the rows were this worker's
        meanwhile, as they were locked by it before, so no other worker took them
        -- in a transaction of its own when a rate-limited endpoint's bucket is
        read and written (its row locked), else statement by statement.
        """
        limit = spec.limit
        params = {
            "now": spec.now,
            "lease_until": spec.lease_until,
            "lease": spec.lease,
            "true": True,
            "false": False,
            "busy": list(spec.busy),
        }
        leased = _Leased()
        async with self.writer.autocommit() as conn:
            await leased.add(conn, statements.CLAIM_PG_PARAMS, statements.CLAIM_PG,
                             {**params, "limit": limit})  # fmt: skip
            if len(leased.claimed) < limit and await self._any_fifo(conn):
                rest = {**params, "limit": limit - len(leased.claimed)}
                await leased.add(conn, statements.CLAIM_FIFO_PG_PARAMS, statements.CLAIM_FIFO_PG,
                                 rest)  # fmt: skip
            claimed = leased.claimed
            if not claimed:
                return Claim([], more=False, capped=set())
            eps = await self._endpoints_for_delivery(conn, list(leased.endpoints.values()))
            limited = [ep_id for ep_id, ep in eps.items() if ep.rate_limit]
            if not limited:
                decided = await self._admit(conn, spec, claimed, eps, limited)
        if limited:
            async with self.writer.begin() as tx:
                decided = await self._admit(tx, spec, claimed, eps, limited)
        jobs = claimed_deliveries(decided.keep, spec.lease, eps, leased.events)
        return Claim(jobs, more=len(claimed) >= limit, capped=decided.capped)

    async def _admit(
        self,
        conn: AsyncConnection,
        spec: ClaimSpec,
        claimed: list[ClaimRow],
        eps: dict[str, ClaimedEndpoint],
        limited: list[str],
    ) -> Admitted:
        """Admission over leased rows, and its writes: the half-open probes, the
        rate-limited endpoints' buckets (``limited``: read locked), the rows handed back."""
        now = spec.now
        buckets: dict[str, tuple[float, float]] = {}
        if limited:
            rows = await conn.execute(statements.RATE_BUCKETS, {"ids": limited})
            buckets = {r.endpoint_id: (r.tokens, r.updated_at) for r in rows}
        decided = admit(
            claimed, eps, spec.policy, inflight=spec.inflight, allowance=spec.allowance,
            buckets=buckets, now=now,
        )  # fmt: skip
        for ep_id in decided.probes:
            probe = {"b_id": ep_id, "b_until": spec.lease_until}
            await conn.execute(statements.HALF_OPEN, probe)
        for ep_id, (left, existed) in decided.buckets.items():
            if existed:
                values = {"b_id": ep_id, "b_tokens": left, "b_now": now}
                await conn.execute(statements.UPDATE_RATE_BUCKET, values)
            else:
                values = {"endpoint_id": ep_id, "tokens": left, "updated_at": now}
                await conn.execute(statements.INSERT_RATE_BUCKET, values)
        await self._hand_back(conn, spec.lease, decided.back, now)
        return decided

    async def _hand_back(
        self, conn: AsyncConnection, lease: str, back: dict[str, float | None], now: float
    ) -> None:
        """Return claimed rows to the queue: due now (``None``) or at the time given."""
        now_ids = [k for k, v in back.items() if v is None]
        if now_ids:  # one statement for the usual case, however many rows
            params = {"b_ids": now_ids, "b_lease": lease, "b_now": now}
            await conn.execute(statements.HAND_BACK, params)
        later = [
            {"b_id": k, "b_lease": lease, "b_next": v} for k, v in back.items() if v is not None
        ]
        if later:  # over a rate limit: each at its own time
            await conn.execute(statements.HAND_BACK_AT, later)

    async def _any_fifo(self, conn: AsyncConnection) -> bool:
        hit, cached = self._fifo.get(None)
        if hit:
            return bool(cached)
        found = (await conn.execute(statements.ANY_FIFO)).first() is not None
        self._fifo.put(None, found)
        return found

    async def _endpoints_for_delivery(
        self, conn: AsyncConnection, rows: list[dict[str, Any]]
    ) -> dict[str, ClaimedEndpoint]:
        """Endpoint rows by id: secrets opened, custom profiles attached (read only when
        an endpoint uses one)."""
        projects = custom_projects(rows)
        custom: dict[tuple[str, str], Any] = {}
        if projects:
            params = {"projects": projects}
            custom = {
                (r.project_id, r.name): r.definition
                for r in (await conn.execute(statements.CUSTOM_PROFILES, params)).all()
            }
        return endpoints_for_delivery(self.box, rows, custom)

    async def extend_leases(self, leases: Sequence[str], lease_seconds: float) -> int:
        """Heartbeat: keep a live worker's long deliveries from being claimed again."""
        if not leases:
            return 0
        async with self.writer.begin() as conn:
            params = {"b_leases": list(leases), "b_until": self.clock.now() + lease_seconds}
            res = await conn.execute(statements.EXTEND_LEASES, params)
        return int(res.rowcount)

    async def reclaim_dead_leases(self) -> int:
        """Make the deliveries leased by dead workers due now, instead of at lease expiry.

        A worker names itself in its leases and holds a lock while it lives
        (:mod:`hookpost.store._liveness`); only the leases of a worker whose
        lock is free are taken. Run when a worker starts and on its heartbeat.
        """
        # Dead before the leases are listed: any lease of theirs is in the list.
        gone = self._workers.gone()
        async with self.reader.connect() as conn:
            workers = [
                str(w) for w in (await conn.execute(statements.LEASE_WORKERS)).scalars().all() if w
            ]
        now = self.clock.now()
        reclaimed = 0
        dead: list[str] = []
        if workers:
            async with self.writer.begin() as conn:
                dead = await self._workers.dead(conn, workers)
                for worker in dead:
                    params = {"b_leases": worker + ".%", "b_now": now}
                    reclaimed += int((await conn.execute(statements.RECLAIM, params)).rowcount)
                if reclaimed:
                    await self._notify(conn)
        self._workers.forget({*gone, *dead})
        return reclaimed

    async def release_leases(self, leases: Sequence[str]) -> int:
        """Give back deliveries claimed but not attempted (graceful shutdown)."""
        if not leases:
            return 0
        now = self.clock.now()
        async with self.writer.begin() as conn:
            params = {"b_leases": list(leases), "b_now": now}
            res = await conn.execute(statements.RELEASE_LEASES, params)
            if res.rowcount:
                await self._notify(conn)
        return int(res.rowcount)

    async def next_due_at(self, after: float | None = None) -> float | None:
        """The earliest time a pending delivery (or a lease) falls due, optionally after ``after``.

        The dispatcher passes the time of its last claim: rows due before that
        which it left behind are held back by something a result will free,
        and waiting for them would spin. Served by the ``ix_deliveries_due``
        partial index.
        """
        async with self.reader.connect() as conn:
            if after is None:
                result = await conn.execute(statements.NEXT_DUE)
            else:
                result = await conn.execute(statements.NEXT_DUE_AFTER, {"after": after})
            value = result.scalar_one_or_none()
        return None if value is None else float(value)


class _Leased:
    """What ``CLAIM_PG`` (and ``CLAIM_FIFO_PG``) answered: the leased rows, their
    endpoints' rows and their events (each row's ``kind``: 0, 1, 2)."""

    def __init__(self) -> None:
        self.claimed: list[ClaimRow] = []
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.events: dict[int, ClaimedEvent] = {}

    async def add(
        self, conn: AsyncConnection, names: tuple[str, ...], sql: str, values: dict[str, Any]
    ) -> None:
        for row in await conn.exec_driver_sql(sql, tuple(values[k] for k in names)):
            if row[0] == 0:
                self.claimed.append(ClaimRow(*row[1:_ENDPOINT_AT]))
            elif row[0] == 1:
                columns = row[_ENDPOINT_AT:_EVENT_AT]
                self.endpoints[columns[0]] = dict(
                    zip(statements.ENDPOINT_COLUMNS, columns, strict=True)
                )
            else:
                self.events[row[_EVENT_AT + 1]] = ClaimedEvent(*row[_EVENT_AT:])


#: Where each kind's columns start in a ``CLAIM_PG`` row (after ``kind``).
_ENDPOINT_AT = 1 + len(statements.CLAIMED_COLUMNS)
_EVENT_AT = _ENDPOINT_AT + len(statements.ENDPOINT_COLUMNS)
assert ClaimRow._fields == statements.CLAIMED_COLUMNS
assert statements.CLAIMED_EVENT_COLUMNS[:2] == ("id", "seq")
