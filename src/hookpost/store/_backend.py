"""Where SQLite and PostgreSQL differ: the store asks this module, not the engine.

The rest of the store is portable SQLAlchemy Core: where the two differ --
connection set-up, the write lock, the claim's row locks, row locks in
general, catch-up ordering of event sequences, how a commit wakes the
workers of other processes, how a worker proves it is alive, a minute's
floor -- the aggregate modules call a small function of this module. Two of
its choices pick a class of another module: :func:`workers` a worker lock of
:mod:`~hookpost.store._liveness` (``PgWorkers`` or ``FileWorkers``) and
:class:`Wakeups` SQLite's datagrams of :mod:`~hookpost.store._wake`. Some
places still ask the backend themselves: ``_events``, ``_queue`` and
``_record`` run SQLite's publish, claim and record transactions as one
``sqlite3`` function each on the writer's thread (:meth:`Writer.run_sqlite`;
``_publish.publish_sqlite``, ``_claim.claim_sqlite``, ``_record.record_sqlite``), and
:mod:`~hookpost.store.outage` decodes a failure's own exception chain (an
asyncpg SQLSTATE, a ``sqlite3`` error code), where the error names its
driver. Adding a backend means teaching this module and those.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import sqlite3
import time
import typing
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Integer, cast, event, func, literal_column, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InvalidatePoolError, MissingGreenlet, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

from hookpost.core.dburl import normalize_database_url
from hookpost.core.private_files import private_sqlite_database
from hookpost.store import _checkpoint, _liveness, _wake
from hookpost.store import _statements as statements
from hookpost.store.outage import DatabaseHealth


def create_engine(
    url: str,
    *,
    sqlite_synchronous: str = "FULL",
    pool_size: int = 10,
    sqlite_busy_timeout_ms: int = 30000,
    connect_timeout: float = 10.0,
    command_timeout: float = 30.0,
    sqlite_autocheckpoint: bool = True,
) -> AsyncEngine:
    """The engine. The store's own SQLite writer passes ``sqlite_busy_timeout_ms=0``
    and waits in :class:`Writer`; migrations and tools keep SQLite's busy handler.

    PostgreSQL connections give up after ``connect_timeout`` seconds (asyncpg's
    default is 60) and a statement after ``command_timeout`` (asyncpg's default
    is never): a database host that swallows packets -- even on a connection
    already in the pool, which the pool's ping would otherwise wait on forever --
    then costs a request seconds and a 503, not a hang.

    A pooled PostgreSQL connection the server has closed (a restart, a cut
    connection) is replaced when it is checked out, and the rest of the pool
    with it (:func:`_closed_on_checkout`).

    ``sqlite_autocheckpoint=False``: SQLite's writer connection never checkpoints
    inside a commit (``wal_autocheckpoint=0``); the store's own writer, whose
    :class:`~hookpost.store._checkpoint.Checkpointer` does it beside the commits.
    """
    url = normalize_database_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(
            url,
            sqlite_synchronous,
            busy_timeout_ms=sqlite_busy_timeout_ms,
            autocheckpoint=sqlite_autocheckpoint,
        )
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        connect_args={"timeout": connect_timeout, "command_timeout": command_timeout},
    )
    event.listen(engine.sync_engine, "checkout", _closed_on_checkout)
    return engine


def _closed_on_checkout(_dbapi_connection: Any, _record: Any, proxy: Any) -> None:
    """PostgreSQL: a connection taken from the pool that asyncpg knows is closed is
    replaced, and every connection pooled before it is discarded as it comes out.

    This is what SQLAlchemy's ``pool_pre_ping`` did for asyncpg, without its three
    round trips (``BEGIN``, an empty query, ``ROLLBACK``) on every checkout -- as
    many as the publish's own statements: its ping counts a failure as a
    disconnect only when the connection is closed (``is_disconnect``), which
    asyncpg learns when the server's FIN or reset arrives, with no query; any
    other failure of the ping was raised to the caller, as the statement's own
    failure now is.
    """
    if proxy.driver_connection.is_closed():
        raise InvalidatePoolError("the database closed this pooled connection")


def create_read_engine(url: str, *, readers: int = 4) -> AsyncEngine | None:
    """SQLite: a pool of read-only connections beside the single writer.

    In WAL mode readers never wait for the writer, so API reads (auth, lists,
    schema checks) stop queueing behind claims and attempt-log writes. Each
    aiosqlite connection has its own thread, so SQLite's C code runs in
    parallel. PostgreSQL needs none of this: None means "use the main engine".
    """
    url = normalize_database_url(url)
    if not url.startswith("sqlite"):
        return None
    return _sqlite_engine(url, "NORMAL", pool_size=readers, read_only=True)


def _sqlite_engine(
    url: str,
    synchronous: str,
    *,
    pool_size: int = 1,
    read_only: bool = False,
    busy_timeout_ms: int = 30000,
    autocheckpoint: bool = True,
) -> AsyncEngine:
    """A pool of SQLite connections (one, for the writer) in WAL mode.

    The store's writer has no busy timeout: SQLite's own busy handler sleeps 1, 2, 5,
    10 ... ms between tries and keeps missing a lock that another process
    takes and releases every few milliseconds (waits of 100-230 ms were
    measured with an API process and a worker process sharing a file).
    :class:`Writer` retries instead, with sub-millisecond asynchronous waits.
    """
    if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise ValueError(f"HOOKPOST_SQLITE_SYNCHRONOUS: unknown mode {synchronous!r}")
    # Made 0600 by hookpost before SQLite would make it 0644 (see private_files).
    private_sqlite_database(make_url(url).database)
    # One writing connection: SQLite has a single writer anyway, and funnelling
    # every write through one connection means no "database is locked" errors
    # inside the process; transactions are kept short so nobody waits long.
    engine = create_async_engine(
        url,
        poolclass=AsyncAdaptedQueuePool,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=60,
        connect_args={"timeout": 30},
        # Every use is a ``begin()`` or ``connect()`` block, and closing one
        # already commits or rolls back its transaction: the pool's own
        # rollback on check-in would be one more trip to the driver's thread
        # (~0.14 ms) per transaction for nothing.
        pool_reset_on_return=None,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide where transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        if read_only:
            cur.execute("PRAGMA query_only=ON")
        elif not autocheckpoint:
            cur.execute("PRAGMA wal_autocheckpoint=0")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A write takes the lock up front (IMMEDIATE), so another process (a CLI
        # command, a second server) waits instead of failing halfway; a read
        # begins deferred and never blocks anyone.
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


#: Execution option marking a connection that will write (see Store.writer).
WRITE_OPTION = "hookpost_write"

_T = TypeVar("_T")

#: What :func:`_sqlite_transaction` answers when ``BEGIN IMMEDIATE`` found the lock taken.
_LOCKED = object()


def _sqlite_transaction(
    db: sqlite3.Connection,
    work: Callable[[sqlite3.Connection], _T],
    synced: bool = True,
    checkpointer: _checkpoint.Checkpointer | None = None,
) -> Any:
    """``work`` between ``BEGIN IMMEDIATE`` and ``COMMIT``, on the connection's thread.

    Rolled back if ``work`` raises; :data:`_LOCKED` (nothing done) when another
    process holds the write lock. ``synced=False``: the commit does not wait for
    the disk (see :meth:`Writer.run_sqlite`). A ``checkpointer`` asking to catch
    up gets its checkpoint first, outside the transaction (see ``_checkpoint``).
    """
    if checkpointer is not None and checkpointer.catch_up:
        try:
            done: tuple[int, int, int] | None = _checkpoint.checkpoint(db)
        except sqlite3.Error:
            done = None  # the transaction's own statements will meet what failed
        checkpointer.caught_up(done)
    if synced:
        return _sqlite_transaction_in(db, work)
    (level,) = db.execute("PRAGMA synchronous").fetchone()
    if level <= _NORMAL:
        return _sqlite_transaction_in(db, work)
    db.execute("PRAGMA synchronous=NORMAL")
    try:
        return _sqlite_transaction_in(db, work)
    finally:
        db.execute(f"PRAGMA synchronous={int(level)}")


#: ``PRAGMA synchronous``'s number for NORMAL (OFF 0, NORMAL 1, FULL 2, EXTRA 3).
_NORMAL = 1


def _sqlite_transaction_in(db: sqlite3.Connection, work: Callable[[sqlite3.Connection], _T]) -> Any:
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc):
            return _LOCKED
        raise
    try:
        result = work(db)
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return result


class Writer:
    """Write transactions: ``async with writer.begin() as conn``, like an engine's.

    On SQLite, ``BEGIN IMMEDIATE`` fails at once while another process
    holds the write lock (the writer connection has no busy timeout); it is
    retried after 0.2 ms, doubling to at most 2 ms, for up to ``timeout``
    seconds. Once begun, the transaction holds the lock to its end, so only
    the ``BEGIN`` ever waits. On PostgreSQL this is the engine's ``begin()``.

    Every commit and every failure is reported to ``health``, so readiness
    knows whether writes go through (see :mod:`hookpost.store.outage`).
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        timeout: float = 30.0,
        health: DatabaseHealth | None = None,
        checkpointer: _checkpoint.Checkpointer | None = None,
    ) -> None:
        self._engine = engine.execution_options(**{WRITE_OPTION: True})
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._sqlite = is_sqlite(engine)
        self._timeout = timeout
        self.health = health or DatabaseHealth()
        #: SQLite on a file: told of every commit, checkpoints beside them.
        self.checkpointer = checkpointer

    def _committed(self) -> None:
        self.health.wrote()
        if self.checkpointer is not None:
            self.checkpointer.committed()

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        delay = 0.0002
        deadline = time.monotonic() + self._timeout
        started = False
        while True:
            try:
                async with self._engine.begin() as conn:
                    started = True
                    yield conn
                self._committed()
                return
            except OperationalError as exc:
                # Only a BEGIN that found the lock taken is retried, never
                # an error from the transaction's own statements.
                retry = self._sqlite and not started and "locked" in str(exc)
                if not retry or time.monotonic() > deadline:
                    self.health.note(exc, "a write")
                    raise
            except Exception as exc:
                self.health.note(exc, "a write")
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.002)

    @contextlib.asynccontextmanager
    async def autocommit(self) -> AsyncIterator[AsyncConnection]:
        """PostgreSQL: a connection on which every statement is its own transaction.

        For a write that is one statement (the publish's, ``PUBLISH_WRITE_PG``):
        no ``BEGIN`` and no ``COMMIT`` to wait for, one round trip in all. Reported
        to :attr:`health` as :meth:`begin` reports.
        """
        try:
            async with self._autocommit.connect() as conn:
                yield conn
        except Exception as exc:
            self.health.note(exc, "a write")
            raise
        self.health.wrote()

    async def run_sqlite(
        self, work: Callable[[sqlite3.Connection], _T], *, synced: bool = True
    ) -> _T:
        """SQLite: ``work`` as one write transaction, run whole on the writer's own thread.

        ``work`` gets the ``sqlite3`` connection inside ``BEGIN IMMEDIATE`` and
        its return value is this call's, once ``COMMIT`` has returned (with
        ``synchronous=FULL``: once it is on disk). One hop to the database
        thread and back for the whole transaction, where :meth:`begin` makes one
        per statement plus the ``BEGIN`` and the ``COMMIT`` -- the hot path's
        writes (publish) spend most of their time in those hops. The lock is
        waited for as :meth:`begin` waits; the driver's errors reach the caller
        as SQLAlchemy's (``IntegrityError``, ``OperationalError``), like every
        other write's, and are reported to :attr:`health`.

        ``synced=False`` commits with ``synchronous=NORMAL`` (when the connection's
        own level is higher), for a transaction whose loss in a crash costs
        nothing but a repeat: in WAL mode such a commit is in the log file but not
        yet forced to the disk, and the next ``synchronous=FULL`` commit forces
        the log up to and including it (the log is written in order). So after a
        crash either both are there or neither is.
        """
        delay = 0.0002
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                pooled = await self._checkout()
                try:
                    driver: Any = pooled.driver_connection  # aiosqlite's Connection
                    # aiosqlite runs every call of the connection as a function
                    # on its one thread (``_execute``): this is one more.
                    result = await driver._execute(
                        _sqlite_transaction, driver._conn, work, synced, self.checkpointer
                    )
                finally:
                    pooled.close()  # back to the pool (no reset on return: see _sqlite_engine)
            except sqlite3.Error as exc:
                wrapped = DBAPIError.instance(None, None, exc, sqlite3.Error)
                self.health.note(wrapped, "a write")
                raise wrapped from exc
            except Exception as exc:
                self.health.note(exc, "a write")
                raise
            if result is not _LOCKED:
                self._committed()
                return typing.cast(_T, result)
            if time.monotonic() > deadline:
                locked = sqlite3.OperationalError("database is locked")
                timed_out = OperationalError("BEGIN IMMEDIATE", None, locked)
                self.health.note(timed_out, "a write")
                raise timed_out
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.002)

    async def _checkout(self) -> PoolProxiedConnection:
        """The writer connection, from the engine's pool, without an ``AsyncConnection``.

        The pool is the writer's lock: whoever holds its one connection writes.
        When the connection is in the pool and live it is taken at once, outside
        a greenlet; through ``AsyncEngine.connect()`` the check-out, the raw
        connection and the check-in are each a greenlet hop (~40 µs apiece
        here, with SQLAlchemy's connection object around them), paid by every
        publish. Waiting for the connection, or (re)connecting, needs the
        greenlet: that path is SQLAlchemy's own.
        """
        pool = typing.cast(AsyncAdaptedQueuePool, self._engine.sync_engine.pool)
        if pool.checkedin():
            with contextlib.suppress(MissingGreenlet):
                return pool.connect()
        return await greenlet_spawn(pool.connect)


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


#: First key of the per-project sequence lock, ``pg_advisory_xact_lock(int, int)``
#: (the two-key form: it never collides with a single-key lock such as a worker's).
SEQUENCE_LOCK_SPACE = 0x68707371  # "hpsq"
_SETTLED = text("SELECT pg_advisory_xact_lock(:space, :key)")


def _lock_key(project_id: str) -> int:
    digest = hashlib.blake2b(project_id.encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


def sequence_locks(project_ids: Iterable[str]) -> list[int]:
    """Publish side of catch-up order: the locks a publish into these projects takes,
    in shared mode, before it takes sequences (PostgreSQL; ``PUBLISH_WRITE_PG``).

    A catch-up reader follows ``?after=<largest sequence seen>``, so an event
    must never become visible after one with a larger sequence. PostgreSQL
    hands out sequence values when a row is inserted, not when its
    transaction commits: two concurrent publishes can take 5 and 6, and 6
    commit first. So a publish takes its project's lock in *shared* mode
    just before it takes its sequences, and keeps it until its commit is
    visible (transaction-level advisory locks are released after that).
    Publishes never wait for each other; a reader (:func:`settle_sequences`)
    takes the lock exclusively, so it reads only once every publish that
    took a sequence before it has become visible. The keys (second halves of
    the two-key locks in :data:`SEQUENCE_LOCK_SPACE`) are sorted and taken in
    that order, so batches spanning several projects never deadlock.

    SQLite needs nothing: a write transaction holds the database's only write
    lock (``BEGIN IMMEDIATE``) from its first statement to its commit, in
    every process, so sequences are taken in commit order.
    """
    return sorted({_lock_key(project_id) for project_id in project_ids})


async def settle_sequences(conn: AsyncConnection, project_id: str) -> None:
    """Read side: wait until no publish into the project is between its sequence and
    its commit, and hold new ones off until this transaction ends (PostgreSQL).

    The statements that follow in the same transaction see every event with a
    sequence below the largest they see. Publishes queue behind the reader
    for the length of one read.
    """
    if conn.dialect.name != "sqlite":
        await conn.execute(_SETTLED, {"space": SEQUENCE_LOCK_SPACE, "key": _lock_key(project_id)})


NOTIFY_CHANNEL = statements.NOTIFY_CHANNEL


def notify_statement(engine: AsyncEngine) -> Any | None:
    """A statement that wakes every listening worker when its transaction commits.

    PostgreSQL only; on SQLite all workers live in the API's process and are
    woken in memory.
    """
    if is_sqlite(engine):
        return None
    return text(f"SELECT pg_notify('{NOTIFY_CHANNEL}', '')")


def asyncpg_dsn(url: str) -> str:
    return normalize_database_url(url).replace("postgresql+asyncpg://", "postgresql://", 1)


class Listener:
    """LISTEN on the wake-up channel with a dedicated asyncpg connection.

    If the connection drops, :meth:`ensure` reconnects; polling covers the gap.
    """

    def __init__(self, url: str, on_notify: Callable[[], None]) -> None:
        self._dsn = asyncpg_dsn(url)
        self._on_notify = on_notify
        self._conn: Any = None

    async def ensure(self) -> bool:
        import asyncpg

        if self._conn is not None and not self._conn.is_closed():
            return True
        try:
            self._conn = await asyncpg.connect(self._dsn, timeout=10)
            await self._conn.add_listener(NOTIFY_CHANNEL, self._callback)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            self._conn = None
            return False
        return True

    def _callback(self, *_args: Any) -> None:
        self._on_notify()

    async def close(self) -> None:
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()
        self._conn = None


def sqlite_file(engine: AsyncEngine) -> str | None:
    """The SQLite database's path (None on PostgreSQL, or for an in-memory database's ``""``)."""
    return engine.url.database if is_sqlite(engine) else None


def lock_rows(stmt: Any, engine: AsyncEngine) -> Any:
    """``stmt`` with ``FOR UPDATE`` where that serialises writers (PostgreSQL).

    SQLite needs none: a write transaction holds the database's only write
    lock from its ``BEGIN IMMEDIATE``.
    """
    return stmt if is_sqlite(engine) else stmt.with_for_update()


@contextlib.asynccontextmanager
async def settled_read(
    engine: AsyncEngine, reader: AsyncEngine, project_id: str | None
) -> AsyncIterator[AsyncConnection]:
    """A connection for a read; with ``project_id``, one whose reads see the project's
    events in sequence order (a catch-up read, see :func:`settle_sequences`).

    PostgreSQL settles inside a transaction on the main engine; SQLite needs no
    settling and reads from its read-only pool.
    """
    if project_id is not None and not is_sqlite(engine):
        async with engine.begin() as conn:
            await settle_sequences(conn, project_id)
            yield conn
    else:
        async with reader.connect() as conn:
            yield conn


def time_bucket(epoch: Any, seconds: int, engine: AsyncEngine) -> Any:
    """``floor(epoch / seconds)`` as an SQL expression (the dashboard's time buckets).

    SQLite's CAST truncates (= floor for positive epochs) and may lack
    ``floor()``; PostgreSQL's CAST rounds, so there ``floor()`` it is.
    """
    per = epoch / literal_column(f"{float(seconds)!r}")
    return cast(per, Integer) if is_sqlite(engine) else func.floor(per)


class Wakeups:
    """How a commit that makes deliveries due wakes the workers of every process.

    PostgreSQL: ``pg_notify`` in the committing transaction, heard by a
    :class:`Listener`. SQLite shared by several processes: a datagram to each
    registered process (:mod:`hookpost.store._wake`); an in-memory database has
    no other process to wake.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._statement = notify_statement(engine)
        database = sqlite_file(engine)
        #: The datagram board (SQLite on a file), else None.
        self.board = _wake.WakeBoard(database) if database and database != ":memory:" else None

    async def announce(self, conn: AsyncConnection) -> None:
        if self._statement is not None:
            await conn.execute(self._statement)
        elif self.board is not None:
            self.board.announce()

    def committed(self) -> None:
        """SQLite: a transaction that made deliveries due has committed (no NOTIFY to
        ride on it): tell the other processes now."""
        if self.board is not None:
            self.board.announce()

    def listener(
        self, url: str, on_notify: Callable[[], None]
    ) -> Listener | _wake.WakeListener | None:
        if self._statement is not None:
            return Listener(url, on_notify)
        return None if self.board is None else _wake.WakeListener(self.board, on_notify)

    def close(self) -> None:
        if self.board is not None:
            self.board.close()


def workers(engine: AsyncEngine, *, shared: bool) -> _liveness.Workers:
    """The registry of live workers: advisory locks on PostgreSQL, ``flock`` ed files
    beside a SQLite database that several processes share (``shared``)."""
    if not is_sqlite(engine):
        return _liveness.PgWorkers()
    database = sqlite_file(engine)
    return _liveness.FileWorkers(Path(database + "-workers") if shared and database else None)
