"""Recording attempts so that no row can take its batch down.

:meth:`Store.record` writes a few hundred attempts in one transaction. If
the database refuses one row -- a value its column cannot hold, a constraint,
a trigger -- the whole transaction fails, and retrying the same batch fails
the same way: every delivery in it stays ``delivering`` and is sent again
after each lease expiry, forever. So a refused batch is written again row by
row; a row refused on its own is recorded in its :func:`poisoned` form (no
request or response kept, an error naming the problem) so its delivery still
moves on, and a row refused even then is logged and left to its lease.

What is *not* the row's fault -- the database unreachable, locked, out of
disk (:func:`unavailable`) -- is not split up: the caller retries the rows not
yet written (:class:`RecordIncomplete`), so none is recorded twice.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from hookpost.core.wiretext import storable, storable_headers, with_marker
from hookpost.store.outage import classify

if TYPE_CHECKING:
    from hookpost.domain import Outcome

__all__ = ["RecordIncomplete", "attempt_row", "poisoned", "unavailable"]

#: asyncpg's errors read ``<class 'asyncpg.exceptions.X'>: message``.
_CLASS_PREFIX = re.compile(r"^<class '[\w.]+'>: ")


class RecordIncomplete(Exception):
    """The database could not be written; ``remaining`` were not recorded and may be retried."""

    def __init__(self, remaining: list[Outcome]) -> None:
        super().__init__(f"{len(remaining)} attempts were not recorded")
        self.remaining = remaining


def unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is out of reach rather than that a row was refused.

    An outage (:func:`hookpost.store.outage.classify`), any driver's
    connection-level error, or a transaction the server rolled back on its
    own (SQLSTATE class 40: deadlock, serialization failure) is no row's fault.
    """
    if classify(exc) is not None:
        return True
    if isinstance(exc, OperationalError | InterfaceError | DisconnectionError | PoolTimeout):
        return True
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith("40")


def problem(exc: BaseException) -> str:
    """One short line naming why the database refused a row (no SQL, no parameters)."""
    inner = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = str(inner).strip().splitlines()
    text = _CLASS_PREFIX.sub("", lines[0] if lines else "")
    kind = type(exc.orig if isinstance(exc, DBAPIError) and exc.orig else exc).__name__
    return storable(f"{kind}: {text}"[:300])[0]


def poisoned(outcome: Outcome, why: str) -> Outcome:
    """``outcome`` reduced to what any database stores, its error saying what was lost."""
    note = (
        f"the database refused this attempt's record ({why}); "
        "its request and response were not kept"
    )
    code = outcome.status_code
    return dataclasses.replace(
        outcome,
        url=storable(outcome.url)[0][:2048],
        request_headers={},
        request_body="",
        status_code=code if code is not None and 0 <= code <= 999 else None,
        response_headers=None,
        response_body=None,
        duration_ms=outcome.duration_ms if math.isfinite(outcome.duration_ms) else 0.0,
        error=f"{storable(outcome.error)[0][:1000]}; {note}" if outcome.error else note,
    )


def _marked(text: str, place: str) -> str:
    safe, escaped = storable(text)
    return with_marker(safe, {place: escaped})


def attempt_row(o: Outcome) -> dict[str, Any]:
    """The attempts row of an outcome, every text made storable on both backends."""
    return {
        "delivery_id": o.delivery_id,
        "number": o.number,
        "started_at": o.started_at,
        "url": storable(o.url)[0],
        "request_headers": storable_headers(o.request_headers)[0],
        "request_body": _marked(o.request_body, "request body"),
        "status_code": o.status_code,
        "response_headers": (
            None if o.response_headers is None else storable_headers(o.response_headers)[0]
        ),
        "response_body": (
            None if o.response_body is None else _marked(o.response_body, "response body")
        ),
        "duration_ms": o.duration_ms,
        "error": None if o.error is None else storable(o.error)[0],
    }
