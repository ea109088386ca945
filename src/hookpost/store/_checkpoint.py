"""SQLite's WAL checkpoints, moved off the commit path.

In WAL mode every commit appends pages to the ``-wal`` file; a checkpoint
copies them back into the database file and fsyncs it, so the log can start
over. SQLite's default (``wal_autocheckpoint=1000``) runs that checkpoint
inside whichever commit takes the log past 1,000 pages: a publish, a claim or
an attempt record waits for the copy of megabytes and an fsync of the
database file, and every write queued behind it on the writer's thread waits
too. At 500 events a second that was several times a second, on the hot path.

So the store's writer connection has ``wal_autocheckpoint=0`` and a
:class:`Checkpointer` does the copying beside it: after a commit, when a pass
is due, a thread of its own runs a PASSIVE checkpoint on a connection of its
own. A PASSIVE checkpoint never takes the write lock and never waits:
publishes go on committing while it copies and fsyncs. Passes are paced by
what the last one found, a half to one ``restart_frames`` of new pages each
(between ``interval`` and ``longest`` seconds apart): a pass is two fsyncs
beside the commits' own, on the same disk, so a quiet database is not
checkpointed five times a second.

That alone does not bound the log. SQLite starts the log over only when a
write transaction begins while every frame has been copied back, and under
steady writes a checkpoint that runs beside them is always a few commits
behind (a test showed the ``-wal`` file reach 280 MB in 8 s). So when a pass
finds the log past ``restart_frames``, it asks the writer to catch up
(:attr:`catch_up`): the writer's next transaction first runs a PASSIVE
checkpoint on the writer's own thread (``_backend._sqlite_transaction``),
which copies only what came in since the background pass -- a few pages, not
megabytes -- and the transaction itself then starts the log over. A reader
in the middle of a long read can still hold that off, as it holds off
SQLite's own checkpoints; the next pass asks again.

A pass that fails (the checkpointer's connection cannot be opened, the
file is gone) asks the writer to catch up too, so the writer checkpoints on
its own connection -- about once per pass interval, as SQLite's own
autocheckpoint would -- and the log stays bounded whatever happens to the
background thread; the first failure of a run is logged as a warning. The
connection opens the file read-write without creating it (``mode=rw``): a
database removed under a running server is not recreated empty, with the
default file mode, behind :func:`~hookpost.core.private_files.private_sqlite_database`.

Durability is unchanged: a checkpoint copies only committed frames, and with
``synchronous=FULL`` it fsyncs the log before copying and the database file
before the log may be overwritten (SQLite's own order, on whichever
connection runs it).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.request import pathname2url

log = logging.getLogger("hookpost.store")

__all__ = [
    "CHECKPOINT_INTERVAL",
    "LONGEST_INTERVAL",
    "RESTART_FRAMES",
    "Checkpointer",
    "checkpoint",
]

#: Seconds between background checkpoints at the least (while the log grows fast)...
CHECKPOINT_INTERVAL = 0.1
#: ... and at the most, while commits go on.
LONGEST_INTERVAL = 1.0
#: Log length (pages) past which the writer catches up so the log starts over:
#: SQLite's own ``wal_autocheckpoint`` default, so the ``-wal`` file stays as small as before.
RESTART_FRAMES = 1000


def checkpoint(db: sqlite3.Connection) -> tuple[int, int, int]:
    """One PASSIVE checkpoint on ``db``: (busy, pages in the log, pages copied back).

    Outside a transaction only. ``busy`` is 1 when another connection was
    checkpointing (nothing done); the log counts are -1 when the database is
    not in WAL mode.
    """
    busy, frames, copied = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(busy), int(frames), int(copied)


def _rw_uri(database: str) -> str:
    """A URI that opens ``database`` read-write and never creates it (an operator's own
    ``file:`` URI is kept as written)."""
    if database.startswith("file:"):
        return database
    return f"file:{pathname2url(os.path.abspath(database))}?mode=rw"


class Checkpointer:
    """Background PASSIVE checkpoints of one SQLite database file.

    :meth:`committed` is called on the event loop after each write; it costs a
    clock read unless a pass is due, and then hands one to the checkpointer's
    own thread (started with the first pass; it sleeps while nothing is written).
    Handing over is a queue put: starting a thread per pass made the event loop
    wait until the new thread first ran, a few milliseconds when the writer's
    thread held the GIL. ``catch_up`` is set by
    a pass that found the log past ``restart_frames``; the writer clears it
    when it has checkpointed on its own thread (:meth:`caught_up`).
    """

    def __init__(
        self,
        database: str,
        *,
        interval: float = CHECKPOINT_INTERVAL,
        longest: float = LONGEST_INTERVAL,
        restart_frames: int = RESTART_FRAMES,
    ) -> None:
        self._database = _rw_uri(database)
        self._shortest = self._interval = interval
        self._longest = longest
        self._restart_frames = restart_frames
        #: Pages in the log at the last pass (to pace the next one).
        self._frames = 0
        self._next = time.monotonic() + interval
        self._running = False
        self._closed = False
        #: Serialises a pass and :meth:`close` (the connection is used by one thread at a time).
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._thread: ThreadPoolExecutor | None = None
        #: The writer should checkpoint before its next transaction (see the module).
        self.catch_up = False
        #: The last pass's (busy, pages in the log, pages copied back), for tests and tools.
        self.last: tuple[int, int, int] | None = None
        self.passes = 0
        #: Passes failed in a row (the writer checkpoints meanwhile; see the module).
        self.failures = 0

    def committed(self) -> None:
        """A write transaction committed: start a pass if one is due and none runs."""
        if self._running or self._closed:
            return
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self._interval
        self._running = True
        try:
            if self._thread is None:
                self._thread = ThreadPoolExecutor(1, thread_name_prefix="hookpost-checkpoint")
            self._thread.submit(self.run_pass)
        except RuntimeError:  # no thread to be had (interpreter shutting down)
            self._running = False

    def caught_up(self, result: tuple[int, int, int] | None) -> None:
        """The writer ran its catch-up checkpoint (``result``, None if it failed)."""
        self.catch_up = False
        if result is not None:
            self.last = result
            self._frames = 0  # the writer's transaction starts the log over

    def run_pass(self) -> None:
        """One pass, on the calling thread: what the background thread runs."""
        try:
            with self._lock:
                if self._closed:
                    return
                if self._conn is None:
                    self._conn = self._connect()
                self.last = result = checkpoint(self._conn)
                self.passes += 1
            self.failures = 0
            if result[0] == 0:
                self._pace(result[1])
                self.catch_up = result[1] >= self._restart_frames
        except sqlite3.Error as exc:
            # The database is away or locked for long: the writer checkpoints on its own
            # connection until a pass works again (the next commit's pass tries).
            self.failures += 1
            self.catch_up = True
            level = logging.WARNING if self.failures == 1 else logging.DEBUG
            log.log(level, "background WAL checkpoint failed (%s); the writer checkpoints", exc)
            self._drop()
        finally:
            self._running = False

    def _pace(self, frames: int) -> None:
        """The next pass sooner when this one found more than ``restart_frames`` new
        pages, later when it found under half that (the log started over if it shrank).

        About one pass per ``restart_frames``: a page written again between two
        passes is copied by each, so passes every few hundred pages copied the hot
        pages (the last leaf of each table, its indexes) several times over."""
        new = frames - self._frames if frames >= self._frames else frames
        self._frames = frames
        if new > self._restart_frames:
            self._interval = max(self._interval / 2, self._shortest)
        elif new < self._restart_frames // 2:
            self._interval = min(self._interval * 2, self._longest)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self._database, isolation_level=None, check_same_thread=False, timeout=0, uri=True
        )
        # The checkpoint's own fsyncs (log before copying, database after) follow
        # this level: FULL, as the writer's commits.
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def _drop(self) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.close()
                self._conn = None

    def close(self) -> None:
        """No more passes; waits for one in progress to end, closes the connection."""
        if self._thread is not None:
            self._thread.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            self._closed = True
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.close()
                self._conn = None
