"""Events: publishing them (with their deliveries, in one transaction) and reading them.

:func:`publish_in` is the write at the heart of hookpost: routing
(``hookpost.domain.targets``: subscriptions and payload filters) picks each
event's endpoints, and the events and one delivery per endpoint (``pending``,
or ``held`` for a disabled endpoint) are inserted set-based, a handful of
statements per batch whatever its size. It is a function, not a method,
because other aggregates publish too: the operator's operational events
(:func:`ops_event`) are written inside the transaction of the change they
report. On SQLite the publishes of concurrent requests share one
transaction (:mod:`hookpost.store._group_commit`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hookpost.core.clock import Clock
from hookpost.core.crypto import SecretBox
from hookpost.core.ids import new_id
from hookpost.domain import DeliveryStatus, Page
from hookpost.domain import targets as event_targets
from hookpost.store import _backend
from hookpost.store import _statements as statements
from hookpost.store._core import Core
from hookpost.store._group_commit import GroupCommit, Published, PublishRequest
from hookpost.store.models import events, projects

__all__ = ["EventsMixin", "existing_events", "ops_event", "publish_in"]


async def publish_in(
    core: Core, conn: AsyncConnection, requests: Sequence[PublishRequest]
) -> list[Published]:
    """Write events and their deliveries, set-based: a handful of statements per batch.

    One lookup of the ``event_id`` s seen before, one read of each
    project's endpoints, one multi-row insert of the events and one of
    all their deliveries -- however many requests the batch holds. A
    repeated ``event_id`` (earlier, or earlier in the same batch) answers
    with the first event and ``created=False``.
    """
    now = core.clock.now()
    existing = await existing_events(
        conn, [(r.project_id, r.event_id) for r in requests if r.event_id is not None]
    )
    project_ids = {r.project_id for r in requests}
    endpoint_rows: dict[str, list[Any]] = {pid: [] for pid in project_ids}
    for row in (await conn.execute(statements.ROUTING, {"projects": list(project_ids)})).all():
        endpoint_rows[row.project_id].append(row)
    out: list[Published | None] = []
    repeat_of: dict[int, tuple[str, str]] = {}  # index -> the new event it repeats
    fresh: dict[tuple[str, str], tuple[PublishRequest, list[tuple[str, bool]]]] = {}
    for i, r in enumerate(requests):
        if r.event_id is not None:
            key = (r.project_id, r.event_id)
            if key in existing:
                out.append(existing[key])
                continue
            if key in fresh:
                repeat_of[i] = key
                out.append(None)
                continue
        eid = r.event_id or new_id("msg")
        fresh[(r.project_id, eid)] = (
            r,
            event_targets(endpoint_rows[r.project_id], r.event_type, r.payload, r.only_endpoint),
        )
        out.append(None)
    made: dict[tuple[str, str], tuple[dict[str, Any], int]] = {}
    if fresh:
        # From here to the commit, the project's sequences are ours alone
        # (PostgreSQL), so catch-up readers never see them out of order.
        await _backend.order_sequences(conn, (pid for pid, _ in fresh))
        inserted = (
            await conn.execute(
                statements.INSERT_EVENTS,
                [
                    {
                        "project_id": pid,
                        "id": eid,
                        "event_type": r.event_type,
                        "payload": r.payload,
                        "created_at": now,
                        "trace_context": r.trace_context,
                    }
                    for (pid, eid), (r, _) in fresh.items()
                ],
            )
        ).all()
        seq_of = {(row.project_id, row.id): row.seq for row in inserted}
        rows: list[dict[str, Any]] = []
        for (pid, eid), (r, targets) in fresh.items():
            seq = seq_of[(pid, eid)]
            made[(pid, eid)] = (
                {
                    "seq": seq,
                    "project_id": pid,
                    "id": eid,
                    "event_type": r.event_type,
                    "payload": r.payload,
                    "created_at": now,
                },
                len(targets),
            )
            rows += (
                {
                    "id": new_id("dlv"),
                    "project_id": pid,
                    "event_seq": seq,
                    "event_id": eid,
                    "event_type": r.event_type,
                    "endpoint_id": ep_id,
                    "status": DeliveryStatus.PENDING if enabled else DeliveryStatus.HELD,
                    "attempt_count": 0,
                    "next_attempt_at": now if enabled else None,
                    "created_at": now,
                    "updated_at": now,
                }
                for ep_id, enabled in targets
            )
        if rows:
            await conn.execute(statements.INSERT_DELIVERIES, rows)
            if any(d["status"] == DeliveryStatus.PENDING for d in rows):
                await core._notify(conn)
    new_iter = iter(made.values())
    result: list[Published] = []
    for i, known in enumerate(out):
        if known is not None:
            result.append(known)
        elif i in repeat_of:
            event, count = made[repeat_of[i]]
            result.append((event, count, False))
        else:
            event, count = next(new_iter)
            result.append((event, count, True))
    return result


async def existing_events(
    conn: AsyncConnection, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], Published]:
    """Events already stored under these ``(project_id, event_id)`` s, with delivery counts."""
    if not keys:
        return {}
    by_project: dict[str, set[str]] = {}
    for pid, eid in keys:
        by_project.setdefault(pid, set()).add(eid)
    rows: list[Any] = []
    for pid, ids in by_project.items():
        params = {"project": pid, "ids": list(ids)}
        rows += (await conn.execute(statements.EXISTING_EVENTS, params)).all()
    if not rows:
        return {}
    counts: dict[int, int] = dict(
        (await conn.execute(statements.DELIVERY_COUNTS, {"seqs": [r.seq for r in rows]})).all()
    )
    return {
        (r.project_id, r.id): (dict(r._mapping), int(counts.get(r.seq, 0)), False) for r in rows
    }


async def ops_event(
    core: Core, conn: AsyncConnection, ops_project: str, event_type: str, payload: dict[str, Any]
) -> None:
    """Publish an operational event (``endpoint.disabled``, ``delivery.exhausted``) into
    the operator's project, inside the caller's transaction; nothing if it does not exist."""
    exists = (await conn.execute(select(projects.c.id).where(projects.c.id == ops_project))).first()
    if exists is not None:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        request = PublishRequest(ops_project, event_type, body, None, None)
        await publish_in(core, conn, [request])


class EventsMixin(Core):
    """Publish and read events; owns the group commit (started with the store)."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock | None = None,
        *,
        box: SecretBox | None = None,
        reader: AsyncEngine | None = None,
    ) -> None:
        super().__init__(engine, clock, box=box, reader=reader)
        # The writes are looked up on each call, as methods are (a test may wrap one).
        self._group_commit = GroupCommit(
            lambda requests: self._publish_batch(requests),
            lambda request: self._publish_one(request),
            self.health,
        )

    async def close(self) -> None:
        await self._group_commit.close()
        await super().close()

    async def publish(
        self,
        project_id: str,
        event_type: str,
        payload: str,
        event_id: str | None = None,
        *,
        only_endpoint: str | None = None,
        trace_context: str | None = None,
    ) -> Published:
        """Store an event and one delivery per matching endpoint, atomically.

        Enabled endpoints get a ``pending`` delivery; disabled ones a ``held``
        one, kept until the endpoint is re-enabled and its held deliveries are
        released. Returns ``(event, deliveries, created)``; a repeated
        ``event_id`` returns the first event with ``created=False`` and makes
        no deliveries.

        On SQLite, concurrent publishes are committed together (group commit):
        one transaction and one fsync for all the requests waiting at that
        moment, each answered only after that commit.
        """
        request = PublishRequest(
            project_id, event_type, payload, event_id, only_endpoint, trace_context
        )
        if _backend.batches_publishes(self.engine):
            return await self._group_commit.submit(request)
        return await self._publish_one(request)

    async def _publish_one(self, request: PublishRequest) -> Published:
        """Publish one event in its own transaction."""
        try:
            async with self.writer.begin() as conn:
                (result,) = await publish_in(self, conn, [request])
        except IntegrityError:
            # Lost a race with a concurrent publish of the same event_id.
            if request.event_id is None:
                raise
            key = (request.project_id, request.event_id)
            async with self.reader.connect() as conn:
                found = await existing_events(conn, [key])
            if not found:
                raise
            return found[key]
        return result

    async def publish_many(
        self,
        project_id: str,
        events: Sequence[tuple[str, str, str | None]],
        *,
        trace_context: str | None = None,
    ) -> list[Published]:
        """Publish ``(event_type, payload, event_id)`` s together, as :meth:`publish` does each.

        One transaction for all of them (on SQLite, one entry of the group
        commit, never split): one lookup of the ``event_id`` s seen before and
        one multi-row insert of the events and one of their deliveries. The
        answers are in order; an ``event_id`` repeated within ``events`` is
        created once and answers the repeat with ``created=False``.
        """
        if not events:
            return []
        requests = [
            PublishRequest(project_id, t, p, eid, None, trace_context) for t, p, eid in events
        ]
        if _backend.batches_publishes(self.engine):
            return await self._group_commit.submit_many(requests)
        try:
            return await self._publish_batch(requests)
        except IntegrityError:
            # A concurrent publish took one of these event_ids first: one by one,
            # each repeat answered with the event that won.
            return [await self._publish_one(r) for r in requests]

    async def _publish_batch(self, requests: list[PublishRequest]) -> list[Published]:
        """Publish many events in one transaction (see :mod:`hookpost.store._group_commit`)."""
        async with self.writer.begin() as conn:
            return await publish_in(self, conn, requests)

    async def list_events(
        self,
        project_id: str,
        *,
        limit: int,
        cursor: str | None,
        event_type: str | None = None,
        after: int | None = None,
        order: str = "desc",
        since: float | None = None,
        until: float | None = None,
        search: str | None = None,
    ) -> Page:
        """Keyset-paged events; ``search`` is a substring of the payload's JSON text.

        Read oldest first (``order="asc"``, how a receiver catches up with
        ``after`` or the next cursor), the page never leaves out an event
        whose sequence is below the last one it shows: on PostgreSQL the read
        first waits for publishes into the project that have taken a
        sequence but not yet committed (see ``_backend.order_sequences``).
        """
        stmt = select(events).where(events.c.project_id == project_id)
        if event_type:
            stmt = stmt.where(events.c.event_type == event_type)
        if since is not None:
            stmt = stmt.where(events.c.created_at >= since)
        if until is not None:
            stmt = stmt.where(events.c.created_at < until)
        if search:
            stmt = stmt.where(events.c.payload.contains(search, autoescape=True))
        if after is not None:
            stmt = stmt.where(events.c.seq > after)
        settle = None if order == "desc" and after is None else project_id
        return await self._page(
            stmt, events.c.seq, limit, cursor, desc=order == "desc", numeric=True, settle=settle
        )

    async def get_event(self, project_id: str, event_id: str) -> dict[str, Any]:
        return await self._one(
            select(events).where(events.c.project_id == project_id, events.c.id == event_id),
            "event",
        )
