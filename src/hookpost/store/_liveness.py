"""Which workers are alive, so that the leases of a dead one are reclaimed at once.

A claimed delivery is leased: nobody else sends it until the lease expires
(``HOOKPOST_LEASE_SECONDS``, 90 s), and a live worker's heartbeat keeps
extending it. When a worker is killed (``kill -9``, OOM, a crashed host
process) its deliveries would wait out the whole lease. Yet the process that
starts next can tell that the worker is gone, if every worker holds a lock
that the operating system or the database releases when the process dies:

- PostgreSQL: a session advisory lock keyed by the worker's id, held by one
  dedicated connection. The killed process's socket closes, the server ends
  its session and the lock is free.
- SQLite (every process on one machine): an exclusive ``flock`` on the file
  ``<database>-workers/<worker id>``; the kernel drops it with the process.
  Unlike a pid, a worker id is never reused, and a lock is never held by a
  stranger (a container restarted as pid 1 again is still a new worker).

A worker's lease tokens start with its id (``<16 hex digits>.<random>``).
Whoever can take a worker's lock knows it is dead and hands its deliveries
back as due. A worker that could not take a lock (no writable directory
beside the database, no ``fcntl``) claims with plain tokens, which only
expire. A lock can only be taken when its holder is gone, so a live worker's
leases are never reclaimed -- except after its PostgreSQL session was cut
(a network failure): the fencing token then keeps its late result from being
recorded over the new attempt's.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from hookpost.core.private_files import PRIVATE_FILE, private_dir

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Linux/macOS: leases only expire
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("hookpost.liveness")

#: ``lease LIKE`` this: the leases that name their worker (16 hex digits, a dot).
WORKER_LEASE = "_" * 16 + ".%"

_TRY_HOLD = "SELECT pg_try_advisory_lock($1)"
_HOLD = "SELECT pg_advisory_lock($1)"
_IS_GONE = text("SELECT pg_try_advisory_xact_lock(:key)")


def new_worker_id() -> str:
    """63 random bits as 16 hex digits: also a positive PostgreSQL ``bigint`` lock key."""
    return f"{secrets.randbits(63):016x}"


class PgPresence:
    """A worker's proof of life on PostgreSQL: a session lock on its own connection."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._conn: Any = None
        self.worker: str | None = None

    async def acquire(self) -> str | None:
        """Become a worker with a fresh id, or None if the database cannot be reached."""
        import asyncpg

        try:
            self._conn = await asyncpg.connect(self._dsn, timeout=10)
            for _ in range(3):  # another holder of a random 63-bit key: draw again
                worker = new_worker_id()
                if await self._conn.fetchval(_TRY_HOLD, int(worker, 16)):
                    self.worker = worker
                    return worker
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            log.warning("cannot hold a worker lock: leases of this worker only expire")
        await self.close()
        return None

    async def ensure(self) -> None:
        """Take the lock again on a new connection if the old one was lost (heartbeat)."""
        import asyncpg

        if self.worker is None or (self._conn is not None and not self._conn.is_closed()):
            return
        failures = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)
        try:
            conn = await asyncpg.connect(self._dsn, timeout=10)
        except failures:
            return  # the next heartbeat tries again
        try:
            await conn.fetchval(_HOLD, int(self.worker, 16), timeout=10)
        except failures:
            with contextlib.suppress(Exception):
                await conn.close()
            return
        self._conn = conn

    async def close(self) -> None:
        if self._conn is not None and not self._conn.is_closed():
            with contextlib.suppress(Exception):
                await self._conn.close()
        self._conn = None


class FilePresence:
    """A worker's proof of life on SQLite: an exclusive ``flock`` on its file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._fd: int | None = None
        self._path: Path | None = None
        self.worker: str | None = None

    async def acquire(self) -> str | None:
        if fcntl is None:
            return None
        worker = new_worker_id()
        try:
            private_dir(self.directory)
            # Locked under a name no sweeper looks at, then renamed: a file
            # under a worker's name is always locked while that worker lives.
            hidden = self.directory / f".{worker}"
            fd = os.open(hidden, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.rename(hidden, self.directory / worker)
        except OSError:
            log.warning("cannot hold a worker lock: leases of this worker only expire")
            return None
        self._fd, self._path, self.worker = fd, self.directory / worker, worker
        return worker

    async def ensure(self) -> None:
        return None

    async def close(self) -> None:
        if self._path is not None:
            with contextlib.suppress(OSError):
                self._path.unlink()
            self._path = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


Presence = PgPresence | FilePresence


def _gone(path: Path) -> bool:
    """Is the worker whose file this is dead (its lock free)? False if unknown."""
    assert fcntl is not None
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False  # no file: nothing proves it is dead
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # held: alive
    finally:
        os.close(fd)
    return True


class PgWorkers:
    """PostgreSQL's registry of live workers: a session advisory lock each."""

    def presence(self, dsn: str) -> Presence | None:
        """A new worker's lock."""
        return PgPresence(dsn)

    def gone(self) -> list[str]:
        """Dead workers known without the leases' names: none (locks have no list)."""
        return []

    async def dead(self, conn: AsyncConnection, workers: Sequence[str]) -> list[str]:
        """The workers among these whose lock is free, i.e. whose process is gone.

        Each lock found free is then held by ``conn``'s transaction until it
        ends, so the reclaim that follows in it is the only one.
        """
        out = []
        for w in workers:
            if (await conn.execute(_IS_GONE, {"key": int(w, 16)})).scalar():
                out.append(w)
        return out

    def forget(self, workers: Iterable[str]) -> None:
        """Nothing to tidy: a dead worker's session lock went with its session."""


class FileWorkers:
    """SQLite's registry of live workers: one ``flock`` ed file each in ``directory``
    (None for a database that no other process shares: no worker needs a lock)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    def presence(self, dsn: str) -> Presence | None:
        """A new worker's lock (None without a directory)."""
        return None if self.directory is None else FilePresence(self.directory)

    def gone(self) -> list[str]:
        """Every worker with a file whose lock is free (dead, leases or not)."""
        if self.directory is None or fcntl is None:
            return []
        try:
            paths = list(self.directory.iterdir())
        except OSError:
            return []
        return [p.name for p in paths if not p.name.startswith(".") and _gone(p)]

    async def dead(self, conn: AsyncConnection, workers: Sequence[str]) -> list[str]:
        """The workers among these whose lock is free, i.e. whose process is gone."""
        if self.directory is None or fcntl is None:
            return []
        directory = self.directory
        return [w for w in workers if _gone(directory / w)]

    def forget(self, workers: Iterable[str]) -> None:
        """Their leases are reclaimed: remove their files."""
        if self.directory is None:
            return
        for w in workers:
            with contextlib.suppress(OSError):
                (self.directory / w).unlink()


#: Tell which of the workers named by leases are dead (``_backend.workers`` picks one).
Workers = PgWorkers | FileWorkers
