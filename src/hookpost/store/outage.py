"""When the database cannot do its part: which kind of failure, and what to answer.

With PostgreSQL stopped for 10 s under 50 publishes/s, every publish used to
end in Starlette's ``500 text/plain``, the server then dropped the keep-alive
connection (so a client could not even tell whether its event was stored),
each failure logged a multi-line traceback, and on a full SQLite disk
``/readyz`` kept answering 200. Nothing was lost -- but nobody could act on it.

:func:`classify` sorts the failures that are about the database's
*availability* -- not a bug in a statement -- into an :class:`Outage`:
unreachable, timed out, busy, read-only, a storage error (503), or a full disk
(507). It reads the whole exception chain, because the same outage arrives as
a raw ``ConnectionRefusedError`` (asyncpg connecting), a SQLAlchemy
``DBAPIError`` with ``connection_invalidated`` (a connection cut mid-query),
a ``TimeoutError``, an asyncpg error with a SQLSTATE (``08xxx``, ``53100``
disk full, ``57P01`` shutdown ...) or a ``sqlite3.OperationalError`` with an
error code (``SQLITE_FULL``, ``SQLITE_IOERR``, ``SQLITE_CANTOPEN`` ...).
Everything else (an IntegrityError, a syntax error) is left alone: that is a
bug and stays a 500.

:class:`DatabaseHealth` -- one per store -- remembers the last failure and the
last successful write, so ``/readyz`` can say "not ready" while writes fail,
and logs one warning line per interval (with the number of failures held back)
instead of a traceback per request.
"""

from __future__ import annotations

import errno
import logging
import shutil
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import exc as sa_exc

from hookpost.logs import Throttle

log = logging.getLogger("hookpost.database")

#: kind -> (HTTP status, Retry-After seconds, what is wrong, in words a client can act on)
KINDS: dict[str, tuple[int, int, str]] = {
    "unreachable": (503, 5, "the database is unreachable"),
    "timeout": (503, 5, "the database did not answer in time"),
    "busy": (503, 2, "the database is overloaded (no connection or lock became free in time)"),
    "read_only": (503, 30, "the database accepts no writes (it is read-only)"),
    "storage": (503, 30, "the database's storage reported an I/O error"),
    "full": (507, 60, "the database's disk is full"),
}


@dataclass(frozen=True, slots=True)
class Outage:
    """One database failure, as a client should hear it (and the log should say it)."""

    kind: str
    #: The exception, one bounded line, for the log only (it may name hosts).
    cause: str

    @property
    def status(self) -> int:
        return KINDS[self.kind][0]

    @property
    def retry_after(self) -> int:
        return KINDS[self.kind][1]

    @property
    def what(self) -> str:
        return KINDS[self.kind][2]

    @property
    def code(self) -> str:
        return "database_full" if self.kind == "full" else "database_unavailable"

    @property
    def message(self) -> str:
        return f"{self.what}; the request could not be completed, retry in {self.retry_after} s"


# -- classification -------------------------------------------------------------

#: SQLite primary result codes (``sqlite_errorcode & 0xff``).
_SQLITE_CODES = {5: "busy", 6: "busy", 8: "read_only", 10: "storage", 13: "full", 14: "unreachable"}
#: The same, by message, for a driver that does not pass the code on.
_SQLITE_TEXTS = (
    ("database or disk is full", "full"),
    ("disk i/o error", "storage"),
    ("unable to open database file", "unreachable"),
    ("database is locked", "busy"),
    ("readonly database", "read_only"),
)
#: PostgreSQL SQLSTATEs, exact or by class (the first two characters).
_SQLSTATES = {
    "53100": "full",  # disk_full
    "53200": "busy",  # out_of_memory
    "53300": "busy",  # too_many_connections
    "53400": "busy",  # configuration_limit_exceeded
    "55P03": "busy",  # lock_not_available
    "57014": "timeout",  # query_canceled (statement_timeout)
    "57P01": "unreachable",  # admin_shutdown
    "57P02": "unreachable",  # crash_shutdown
    "57P03": "unreachable",  # cannot_connect_now (starting up, recovering)
    "58030": "storage",  # io_error
    "25006": "read_only",  # read_only_sql_transaction (a standby after failover)
    "3D000": "unreachable",  # invalid_catalog_name: the database is gone
    "08": "unreachable",  # connection_exception
    "28": "unreachable",  # invalid_authorization_specification
}
_ERRNOS = {
    errno.ENOSPC: "full",
    errno.EDQUOT: "full",
    errno.EIO: "storage",
    errno.EROFS: "read_only",
    errno.ECONNREFUSED: "unreachable",
    errno.ECONNRESET: "unreachable",
    errno.ECONNABORTED: "unreachable",
    errno.EHOSTUNREACH: "unreachable",
    errno.ENETUNREACH: "unreachable",
    errno.EPIPE: "unreachable",
    errno.ETIMEDOUT: "timeout",
}


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, the driver error SQLAlchemy wraps, and their causes (bounded)."""
    todo: list[BaseException] = [exc]
    seen: set[int] = set()
    while todo and len(seen) < 12:
        link = todo.pop(0)
        if id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        orig = getattr(link, "orig", None)
        for nxt in (orig, link.__cause__, link.__context__):
            if isinstance(nxt, BaseException):
                todo.append(nxt)


def _sqlite_kind(link: sqlite3.Error) -> str | None:
    code = getattr(link, "sqlite_errorcode", None)
    if isinstance(code, int) and (code & 0xFF) in _SQLITE_CODES:
        return _SQLITE_CODES[code & 0xFF]
    text = str(link).lower()
    return next((kind for needle, kind in _SQLITE_TEXTS if needle in text), None)


def _link_kind(link: BaseException) -> str | None:
    if isinstance(link, sqlite3.Error):
        return _sqlite_kind(link)
    sqlstate = getattr(link, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate:
        return _SQLSTATES.get(sqlstate) or _SQLSTATES.get(sqlstate[:2])
    if isinstance(link, sa_exc.TimeoutError):
        return "busy"  # the pool: no connection became free in time
    if isinstance(link, TimeoutError):
        return "timeout"
    if isinstance(link, OSError):
        if isinstance(link, socket.gaierror):
            return "unreachable"  # the database's host name does not resolve
        found = _ERRNOS.get(link.errno or 0)
        return found or ("unreachable" if isinstance(link, ConnectionError) else None)
    if isinstance(link, sa_exc.DBAPIError) and link.connection_invalidated:
        return "unreachable"
    if type(link).__module__.startswith("asyncpg") and "closed" in str(link):
        return "unreachable"  # asyncpg's InterfaceError("connection is closed")
    return None


def classify(exc: BaseException) -> Outage | None:
    """The outage this exception means, or None when it is not about availability."""
    links = list(_chain(exc))
    for link in links:
        kind = _link_kind(link)
        if kind is not None:
            return Outage(kind, _describe(link))
    # A driver-level connection error from a driver other than SQLite's (whose
    # OperationalError also covers "no such table" and syntax errors).
    if not any(isinstance(link, sqlite3.Error) for link in links):
        for link in links:
            if isinstance(link, (sa_exc.OperationalError, sa_exc.InterfaceError)):
                return Outage("unreachable", _describe(link))
    return None


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first}"[:300]


def sqlite_disk_full(database: str | None, *, minimum: int = 64 * 1024) -> Outage | None:
    """A full disk under a SQLite file, seen before a write fails on it."""
    if not database or database == ":memory:":
        return None
    try:
        free = shutil.disk_usage(Path(database).resolve().parent).free
    except OSError:
        return None
    if free >= minimum:
        return None
    return Outage("full", f"{free} bytes free beside {Path(database).name}")


# -- health -----------------------------------------------------------------------


class DatabaseHealth:
    """What this process has seen of the database lately.

    The store's writer reports every committed write (:meth:`wrote`) and every
    failure (:meth:`note`); the API and the dispatcher note theirs too. Writes
    are *failing* while the latest failure is newer than the latest successful
    write. Log lines: one warning when failures start, then at most one per
    ``log_every`` seconds with the count held back, and one line when a write
    succeeds again.
    """

    def __init__(self, *, log_every: float = 10.0, now: Callable[[], float] = time.monotonic):
        self._now = now
        self._failures = Throttle(log_every, now)
        self._recoveries = Throttle(log_every, now)
        self._last_probe: float | None = None
        self.last_failure: tuple[float, Outage] | None = None
        self.last_write = 0.0

    def note(self, exc: BaseException, where: str) -> Outage | None:
        """Classify ``exc``; if it is an outage, remember it and log (throttled)."""
        noted = getattr(exc, "_hookpost_outage", None)
        if isinstance(noted, Outage):
            return noted  # the writer saw it first: counted and logged once
        outage = classify(exc)
        if outage is None:
            return None
        try:
            exc._hookpost_outage = outage  # type: ignore[attr-defined]
        except AttributeError:  # pragma: no cover - exceptions with __slots__
            pass
        self.last_failure = (self._now(), outage)
        report, held = self._failures.allow()
        if report:
            more = f"; {held} more failures since the last report" if held else ""
            log.warning(
                "database %s (%s) during %s%s",
                outage.kind,
                outage.cause,
                where,
                more,
                extra={"problem": outage.kind, "status_code": outage.status, "held_back": held},
            )
        return outage

    def wrote(self) -> None:
        self.last_write = self._now()
        if self.last_failure is not None and self._failures.active:
            total = self._failures.clear()
            if self._recoveries.allow()[0]:
                log.warning("database writes succeed again after %d failures", total)

    def failing(self) -> Outage | None:
        """The last failure, while no write has succeeded since it."""
        if self.last_failure is None:
            return None
        at, outage = self.last_failure
        return outage if at > self.last_write else None

    def may_probe(self, every: float = 1.0) -> bool:
        """At most one probe write per ``every`` seconds (``/readyz`` may be polled hard)."""
        at = self._now()
        if self._last_probe is not None and at - self._last_probe < every:
            return False
        self._last_probe = at
        return True


__all__ = ["KINDS", "DatabaseHealth", "Outage", "classify", "sqlite_disk_full"]
