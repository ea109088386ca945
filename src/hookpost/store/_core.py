"""What every part of the store shares: engines, caches, wake-ups and paging.

:class:`hookpost.store.Store` is one object to its callers, but its code is
split by aggregate: each ``_<aggregate>.py`` module holds a mixin class whose
methods are that aggregate's share of the public API (``_projects``,
``_endpoints``, ``_catalog``, ``_events``, ``_deliveries``, ``_queue``,
``_record``, ``_jobs``, ``_retention``, ``_stats``), and ``_facade.py`` puts
them together. Every mixin derives from :class:`Core`, so it sees the same
engines, clock, secret box and caches, and mypy checks each one on its own.

Mixins never call each other's methods. What two aggregates share is either
here (the project and endpoint look-ups, paging, waking the workers) or a
plain function of the module that owns it (``_endpoints.disable``,
``_events.publish_in``), imported by the module that needs it; so the
modules depend on each other in one direction only, and a reader can follow
any call to its definition.
"""

from __future__ import annotations

import asyncio
import base64
import re
import time
import typing
from collections.abc import Awaitable, Callable
from typing import Any, Self, TypeVar

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hookpost.core.clock import Clock, SystemClock
from hookpost.core.crypto import SecretBox
from hookpost.domain import NotFound, Page
from hookpost.store import _backend, _checkpoint, _liveness, _sealing, _wake
from hookpost.store.models import endpoints, projects
from hookpost.store.outage import DatabaseHealth

__all__ = ["MAX_BIGINT", "Core", "TTLCache", "decode_cursor", "encode_cursor"]

_V = TypeVar("_V")


def encode_cursor(value: str | int) -> str:
    return base64.urlsafe_b64encode(str(value).encode()).decode().rstrip("=")


_CURSOR_VALUE = re.compile(r"[A-Za-z0-9_]{1,100}")


#: The largest BIGINT (an event's sequence): larger numbers are refused before a query,
#: where PostgreSQL would fail on them and SQLite compare them as floats.
MAX_BIGINT = 2**63 - 1


def decode_cursor(cursor: str, *, numeric: bool = False) -> str:
    """The key a cursor encodes (an id, or with ``numeric`` a sequence number); ValueError
    for anything else, so a forged cursor never reaches the database (PostgreSQL rejects
    NUL bytes, and numbers past :data:`MAX_BIGINT`, with a 500)."""
    try:
        value = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise ValueError("cursor is not valid") from None
    if not _CURSOR_VALUE.fullmatch(value):
        raise ValueError("cursor is not valid")
    if (numeric or value.isdigit()) and not (value.isdigit() and int(value) <= MAX_BIGINT):
        raise ValueError("cursor is not valid")
    return value


class TTLCache:
    """A tiny time-bounded memo for the hot path's lookups (API keys, schemas).

    Every publish authenticates and checks the catalog; at hundreds of requests
    a second those reads cost more than the publish itself. Entries live
    ``ttl`` seconds; this process clears the cache on every change it makes,
    so only changes made by another process take up to ``ttl`` to be seen.

    :meth:`load` reads through it once for everyone: the requests that miss the
    same key together (every one in flight, each time an entry expires under
    load) wait for one lookup instead of each running its own, and a lookup
    that a :meth:`clear` overtook answers its callers but is not kept.
    """

    def __init__(self, ttl: float = 1.0, size: int = 4096) -> None:
        self.ttl = ttl
        self.size = size
        self._data: dict[Any, tuple[float, Any]] = {}
        self._loading: dict[Any, asyncio.Future[Any]] = {}
        self._generation = 0

    def get(self, key: Any) -> tuple[bool, Any]:
        hit = self._data.get(key)
        if hit is None or hit[0] < time.monotonic():
            return False, None
        return True, hit[1]

    def put(self, key: Any, value: Any) -> None:
        if len(self._data) >= self.size:
            self._data.clear()
        self._data[key] = (time.monotonic() + self.ttl, value)

    def clear(self) -> None:
        self._data.clear()
        self._loading.clear()
        self._generation += 1

    async def load(self, key: Any, lookup: Callable[[], Awaitable[_V]]) -> _V:
        """The cached value of ``key``, else ``lookup()``'s -- one lookup for all the
        callers that miss it at once. A lookup's error reaches each of them."""
        hit, value = self.get(key)
        if hit:
            return typing.cast(_V, value)
        pending = self._loading.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._fill(key, lookup, self._generation))
            # Retrieved even if every caller has gone (cancelled): no "never retrieved".
            pending.add_done_callback(lambda f: f.cancelled() or f.exception())
            self._loading[key] = pending
        return typing.cast(_V, await asyncio.shield(pending))

    async def _fill(self, key: Any, lookup: Callable[[], Awaitable[_V]], generation: int) -> _V:
        try:
            value = await lookup()
            if generation == self._generation:
                self.put(key, value)
            return value
        finally:
            if generation == self._generation:
                self._loading.pop(key, None)


class Core:
    """The state every aggregate works on, and the look-ups they share."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock | None = None,
        *,
        box: SecretBox | None = None,
        reader: AsyncEngine | None = None,
    ) -> None:
        self.engine = engine
        #: Where reads go: SQLite's pool of read-only connections, else the engine.
        self.reader = reader or engine
        #: What this process has seen of the database lately (readiness, log throttle).
        self.health = DatabaseHealth()
        database = _backend.sqlite_file(engine)
        #: SQLite on a file: the WAL checkpoints, beside the commits (see _checkpoint).
        self.checkpointer = (
            _checkpoint.Checkpointer(database) if database and database != ":memory:" else None
        )
        #: The same engine, for transactions that write (SQLite: BEGIN IMMEDIATE).
        self.writer = _backend.Writer(engine, health=self.health, checkpointer=self.checkpointer)
        self._keys = TTLCache()
        self._schemas = TTLCache()
        #: Whether any endpoint is ordered (fifo): most installations have none,
        #: and then a claim skips the ordered-queue statement.
        self._fifo = TTLCache()
        self.clock: Clock = clock or SystemClock()
        #: Encrypts endpoint secrets at rest; without one, creating endpoints fails.
        self.box = box
        #: How a commit wakes the workers of every process (NOTIFY, or datagrams).
        self._wakeups = _backend.Wakeups(engine)
        #: SQLite shared by several processes: the datagram board (see _wake).
        self._board = self._wakeups.board
        #: Who holds leases and whether they are alive (see _liveness).
        self._workers = _backend.workers(engine, shared=self._board is not None)
        self._setup()

    def _setup(self) -> None:
        """What an aggregate adds to the shared state once it is built (the group
        commit, see ``_events``). Cooperative: an override calls ``super()._setup()``."""

    @property
    def is_sqlite(self) -> bool:
        return _backend.is_sqlite(self.engine)

    @classmethod
    def from_url(
        cls, url: str, clock: Clock | None = None, *, box: SecretBox | None = None, **kwargs: Any
    ) -> Self:
        return cls(
            _backend.create_engine(
                url, sqlite_busy_timeout_ms=0, sqlite_autocheckpoint=False, **kwargs
            ),
            clock,
            box=box,
            reader=_backend.create_read_engine(url),
        )

    async def close(self) -> None:
        self._wakeups.close()
        if self.checkpointer is not None:
            self.checkpointer.close()
        if self.reader is not self.engine:
            await self.reader.dispose()
        await self.engine.dispose()

    def listener(
        self, url: str, on_notify: Callable[[], None]
    ) -> _backend.Listener | _wake.WakeListener | None:
        """Cross-process wake-ups: LISTEN/NOTIFY on PostgreSQL, datagrams on SQLite."""
        return self._wakeups.listener(url, on_notify)

    def presence(self, url: str) -> _liveness.Presence | None:
        """A worker's proof of life, to hold while it claims (see ``reclaim_dead_leases``)."""
        return self._workers.presence(_backend.asyncpg_dsn(url))

    def database_file(self) -> str | None:
        """The SQLite database's path (None on PostgreSQL)."""
        return _backend.sqlite_file(self.engine)

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

    async def _notify(self, conn: AsyncConnection) -> None:
        """Wake every worker: deliveries become due when this transaction commits.

        On SQLite the datagrams go out before the commit, but the transaction
        holds the write lock, so a woken worker's claim waits for the commit.
        """
        await self._wakeups.announce(conn)

    async def _require_project(
        self, conn: AsyncConnection, project_id: str, *, for_update: bool = False
    ) -> None:
        stmt = select(projects.c.id).where(projects.c.id == project_id)
        if for_update:
            stmt = _backend.lock_rows(stmt, self.engine)
        found = (await conn.execute(stmt)).first()
        if found is None:
            raise NotFound("project")

    async def _endpoint(
        self, conn: AsyncConnection, project_id: str, endpoint_id: str
    ) -> dict[str, Any]:
        """The project's endpoint, secrets decrypted; NotFound if the project has none such."""
        row = (
            await conn.execute(
                select(endpoints).where(
                    endpoints.c.id == endpoint_id, endpoints.c.project_id == project_id
                )
            )
        ).first()
        if row is None:
            raise NotFound("endpoint")
        return _sealing.unseal(self.box, dict(row._mapping))

    async def _one(self, stmt: Any, what: str) -> dict[str, Any]:
        """The single row ``stmt`` selects, or :class:`NotFound` naming ``what``."""
        async with self.reader.connect() as conn:
            row = (await conn.execute(stmt)).first()
        if row is None:
            raise NotFound(what)
        return dict(row._mapping)

    async def _page(
        self,
        stmt: Any,
        key: Any,
        limit: int,
        cursor: str | None,
        *,
        desc: bool = True,
        numeric: bool = False,
        settle: str | None = None,
    ) -> Page:
        """Keyset pagination: ``WHERE key < cursor ORDER BY key DESC LIMIT n+1``.

        ``settle``: a project whose event sequences must be settled first (a
        catch-up read of events; see ``_backend.settled_read``).
        """
        if cursor:
            raw = decode_cursor(cursor, numeric=numeric)
            value: Any = int(raw) if numeric else raw
            stmt = stmt.where(key < value if desc else key > value)
        stmt = stmt.order_by(key.desc() if desc else key.asc()).limit(limit + 1)
        async with _backend.settled_read(self.engine, self.reader, settle) as conn:
            rows = [dict(r._mapping) for r in (await conn.execute(stmt)).all()]
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1][key.name]) if more and rows else None
        return Page(rows, next_cursor)
