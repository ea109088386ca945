"""Events: publishing them (with their deliveries, in one transaction) and reading them.

:func:`publish_in` is the write at the heart of hookpost: routing
(``hookpost.domain.targets``: subscriptions and payload filters) picks each
event's endpoints, and the events and one delivery per endpoint (``pending``,
or ``held`` for a disabled endpoint) are inserted set-based, a handful of
statements per batch whatever its size. It is a function, not a method,
because other aggregates publish too: the operator's operational events
(:func:`ops_event`) are written inside the transaction of the change they
report. The publishes of concurrent requests share one
transaction (:mod:`hookpost.store._group_commit`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hookpost.domain import NotFound, Page
from hookpost.store import _backend
from hookpost.store import _statements as statements
from hookpost.store._core import Core
from hookpost.store._group_commit import GroupCommit, Published, PublishRequest
from hookpost.store._publish import DELIVERY_COLUMNS, EVENT_COLUMNS, Plan, publish_sqlite
from hookpost.store.models import events, projects

__all__ = ["EventsMixin", "existing_events", "ops_event", "publish_in", "publish_pg"]


async def publish_in(
    core: Core, conn: AsyncConnection, requests: Sequence[PublishRequest]
) -> list[Published]:
    """Write events and their deliveries, set-based: a handful of statements per batch.

    One lookup of the ``event_id`` s seen before, one read of each
    project's endpoints, one multi-row insert of the events and one of
    all their deliveries -- however many requests the batch holds. A
    repeated ``event_id`` (earlier, or earlier in the same batch) answers
    with the first event and ``created=False``. On PostgreSQL that is two
    statements (:func:`publish_pg`); the SQLite store's own publishes take
    :func:`hookpost.store._publish.publish_sqlite` instead, the same
    statements in one hop to the database thread, and this function serves
    the operational events written inside another change's transaction.
    """
    if conn.dialect.name != "sqlite":
        return await publish_pg(core, conn, requests)
    existing = await existing_events(
        conn, [(r.project_id, r.event_id) for r in requests if r.event_id is not None]
    )
    routes: dict[str, list[Any]] = {}
    projects = list({r.project_id for r in requests})
    for row in (await conn.execute(statements.ROUTING, {"projects": projects})).all():
        routes.setdefault(row.project_id, []).append(row)
    plan = Plan(requests, existing, routes, core.clock.now())
    if plan.fresh:
        # (SQLite: the write lock, taken at BEGIN IMMEDIATE, orders the sequences.)
        params = [dict(zip(EVENT_COLUMNS, row, strict=True)) for row in plan.event_rows()]
        inserted = (await conn.execute(statements.INSERT_EVENTS, params)).all()
        rows = plan.delivery_rows({(row.project_id, row.id): row.seq for row in inserted})
        if rows:
            params = [dict(zip(DELIVERY_COLUMNS, row, strict=True)) for row in rows]
            await conn.execute(statements.INSERT_DELIVERIES, params)
            if Plan.any_pending(rows):
                await core._notify(conn)
    return plan.results()


async def publish_pg(
    core: Core, conn: AsyncConnection, requests: Sequence[PublishRequest]
) -> list[Published]:
    """:func:`publish_in` on PostgreSQL: one read, then one write, each a single statement.

    Every statement through the async driver is a round trip to the server
    and back, and through SQLAlchemy some of the API's CPU; one per read,
    per insert, for the sequence locks, the NOTIFY, the ``BEGIN`` and the
    ``COMMIT`` made a publish a dozen of them. Here the read takes the
    endpoints and the repeated events at once (``PUBLISH_READ_PG``), and the
    write (``PUBLISH_WRITE_PG``) is one statement -- so, on a connection
    outside a transaction (the group commit's), its own transaction, committed
    with it: the sequence locks, the events, their deliveries and the NOTIFY
    together or not at all. Inside a caller's transaction (an operational
    event) the same two statements join it. Lists travel as arrays, so each
    statement is prepared once per connection whatever the batch's size.
    """
    keys = [(r.project_id, r.event_id) for r in requests if r.event_id is not None]
    projects = sorted({r.project_id for r in requests})
    found = await conn.exec_driver_sql(
        statements.PUBLISH_READ_PG, (projects, [p for p, _ in keys], [e for _, e in keys])
    )
    routes: dict[str, list[Any]] = {}
    existing: dict[tuple[str, str], Published] = {}
    for row in found.all():
        if row.kind == 0:
            routes.setdefault(row.project_id, []).append(row)
        else:
            event = {name: row._mapping[name] for name in statements.EVENT_ROW}
            existing[(row.project_id, row.id)] = (event, int(row.deliveries), False)
    plan = Plan(requests, existing, routes, core.clock.now())
    if plan.fresh:
        at = EVENT_COLUMNS.index("created_at")  # the statement's $1, the same for all
        events = [row[:at] + row[at + 1 :] for row in plan.event_rows()]
        params = (
            plan.now,
            _backend.SEQUENCE_LOCK_SPACE,
            _backend.sequence_locks(plan.projects()),
            *_columns(events, len(EVENT_COLUMNS) - 1),
            *_columns(plan.routed(), 6),
        )
        written = await conn.exec_driver_sql(statements.PUBLISH_WRITE_PG, params)
        plan.stored({(row.project_id, row.id): row.seq for row in written.all()})
    return plan.results()


def _columns(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """Rows of ``width`` columns as one list per column (a PostgreSQL statement's arrays)."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * width


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


#: PostgreSQL: group-commit batches written at once (SQLite has one writer: one). Two,
#: not more: a publish is two statements now, so with eight slots nearly every request
#: found one free and went alone; with two, what arrives meanwhile goes together (the
#: same run, load ~6: 518/524 -> 738/587 ev/s), and one stalled batch holds back none.
PG_COMMITS_AT_ONCE = 2
#: SQLite: the most events one group-commit transaction takes (PostgreSQL: the group
#: commit's own 256). Every SQLite commit waits for the disk (``synchronous=FULL``),
#: a few milliseconds here: batch publishes sent at the same time -- four of the
#: largest, 500 events each -- share one commit rather than wait for one each.
SQLITE_EVENTS_AT_ONCE = 2000


class EventsMixin(Core):
    """Publish and read events; owns the group commit (started with the store)."""

    def _setup(self) -> None:
        super()._setup()
        # The writes are looked up on each call, as methods are (a test may wrap one).
        self._group_commit = GroupCommit(
            lambda requests: self._publish_batch(requests),
            lambda request: self._publish_one(request),
            self.health,
            concurrency=1 if self.is_sqlite else PG_COMMITS_AT_ONCE,
            max_events=SQLITE_EVENTS_AT_ONCE if self.is_sqlite else GroupCommit.MAX_BATCH,
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

        Concurrent publishes are committed together (group commit):
        one transaction and one fsync for all the requests waiting at that
        moment, each answered only after that commit.
        """
        request = PublishRequest(
            project_id, event_type, payload, event_id, only_endpoint, trace_context
        )
        return await self._group_commit.submit(request)

    async def _publish_one(self, request: PublishRequest) -> Published:
        """Publish one event in its own transaction."""
        try:
            (result,) = await self._write([request])
        except IntegrityError:
            # Lost a race with a concurrent publish of the same event_id -- or with
            # the project's deletion (its events' foreign key): a 404, not a 500.
            key = (request.project_id, request.event_id or "")
            async with self.reader.connect() as conn:
                found = await existing_events(conn, [key]) if request.event_id else {}
                gone = (
                    not found
                    and (
                        await conn.execute(select(projects.c.id).where(projects.c.id == key[0]))
                    ).first()
                    is None
                )
            if gone:
                raise NotFound("project") from None
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

        One transaction for all of them (one entry of the group commit,
        never split): one lookup of the ``event_id`` s seen before and
        one multi-row insert of the events and one of their deliveries. The
        answers are in order; an ``event_id`` repeated within ``events`` is
        created once and answers the repeat with ``created=False``.
        """
        if not events:
            return []
        requests = [
            PublishRequest(project_id, t, p, eid, None, trace_context) for t, p, eid in events
        ]
        # If a concurrent publish (another process) took one of these event_ids
        # first, the group commit writes them one by one: each repeat answered
        # with the event that won (``_publish_one``).
        return await self._group_commit.submit_many(requests)

    async def _publish_batch(self, requests: list[PublishRequest]) -> list[Published]:
        """Publish many events in one transaction (see :mod:`hookpost.store._group_commit`)."""
        return await self._write(requests)

    async def _write(self, requests: list[PublishRequest]) -> list[Published]:
        """The publish transaction: on SQLite one synchronous function on the writer's
        thread (:func:`~hookpost.store._publish.publish_sqlite`), else
        :func:`publish_pg`'s statement that writes, its own transaction."""
        if not self.is_sqlite:
            async with self.writer.autocommit() as conn:
                return await publish_pg(self, conn, requests)
        now = self.clock.now()
        results, due = await self.writer.run_sqlite(lambda db: publish_sqlite(db, requests, now))
        if due:
            self._wakeups.committed()
        return results

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
