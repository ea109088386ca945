"""Recording attempts: a batch of outcomes, their deliveries' new state and endpoint health.

:meth:`RecordMixin.record` (``Store.record``) is the worker's one write per
batch of finished attempts: the attempts inserted, each delivery moved on
(``pending`` again, ``succeeded``, ``failed``, ``held``) -- only while its
lease is still the worker's -- and the endpoints' health folded in
(``hookpost.domain.fold_health``: failure counts, the breaker, disabling an
endpoint that asked to stop or has failed for too long), with operational
events for the operator's project, all in one transaction.

It is written so that no row can take its batch down. If the database
refuses one row -- a value its column cannot hold, a constraint, a trigger
-- the whole transaction fails, and retrying the same batch fails
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
import json
import logging
import math
import re
import sqlite3
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection

from hookpost.core import jsonenc
from hookpost.core.wiretext import storable, storable_headers, with_marker
from hookpost.domain import DeliveryStatus, HealthPolicy, Outcome, fold_health
from hookpost.store import _sealing
from hookpost.store import _sqlite_statements as sqlite_sql
from hookpost.store import _statements as statements
from hookpost.store._core import Core
from hookpost.store._endpoints import disable
from hookpost.store._events import ops_event
from hookpost.store.models import endpoints
from hookpost.store.outage import classify

log = logging.getLogger("hookpost.store")

__all__ = ["RecordIncomplete", "RecordMixin", "attempt_row", "poisoned", "unavailable"]

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
    return with_marker(safe, {place: escaped}) if escaped else safe


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


class _FullRecord(Exception):
    """The batch needs the full form of the record (an endpoint to disable): roll back."""


def _needs_full_record(batch: list[Outcome], policy: HealthPolicy) -> bool:
    """Whether the batch does more than the common case: disables an endpoint that
    asked to stop, or publishes an operational event (a delivery exhausted)."""
    ops = policy.operations_project
    for o in batch:
        if o.disable_reason:
            return True
        if ops and o.status == DeliveryStatus.FAILED and o.project_id != ops:
            return True
    return False


def attempt_tuples(batch: Iterable[Outcome]) -> list[tuple[Any, ...]]:
    """The attempts rows of a batch as tuples in ``ATTEMPT_COLUMNS`` order, their JSON
    columns as text (as SQLAlchemy's JSON type writes them: ``json.dumps``)."""
    rows = []
    for o in batch:
        row = attempt_row(o)
        row["request_headers"] = jsonenc.default_text(row["request_headers"])
        row["response_headers"] = jsonenc.default_text(row["response_headers"])
        rows.append(tuple(row[c] for c in sqlite_sql.ATTEMPT_COLUMNS))
    return rows


def record_sqlite(
    db: sqlite3.Connection, batch: list[Outcome], policy: HealthPolicy, now: float
) -> None:
    """The record's common case over ``sqlite3``, inside the caller's ``BEGIN IMMEDIATE``
    (``_backend.Writer.run_sqlite``): the attempts, the deliveries' new state and the
    endpoints' health, the statements :meth:`RecordMixin._record_rows` runs through
    SQLAlchemy, in one hop to the database thread instead of one per statement.

    Raises :class:`_FullRecord` (rolling back) when an endpoint has failed for too long:
    disabling it, and what follows, is the full form's (rare) work.
    """
    db.executemany(sqlite_sql.INSERT_ATTEMPTS_SQLITE, attempt_tuples(batch))
    db.executemany(
        sqlite_sql.RECORD_DELIVERIES_SQLITE,
        [
            (o.status.value, o.number, o.next_attempt_at, o.status_code,
             None if o.error is None else storable(o.error)[0], now, o.delivery_id, o.lease)
            for o in batch
        ],
    )  # fmt: skip
    change = fold_health(batch)
    if change.resets:
        db.execute(sqlite_sql.HEALTH_RESET_SQLITE, (json.dumps(list(change.resets)),))
    if change.failing:
        common = {
            "now": now,
            "threshold": policy.breaker_threshold,
            "open_until": now + policy.breaker_cooldown_seconds,
        }
        db.executemany(
            sqlite_sql.HEALTH_FAILING_SQLITE,
            [{"id": ep, "reset": int(r), "n": n, **common} for ep, r, n in change.failing],
        )
        long_failing = [ep for ep, _r, n in change.failing if n > 0]
        cutoff = now - policy.disable_after_seconds
        found = db.execute(
            sqlite_sql.FAILING_TOO_LONG_SQLITE, (json.dumps(long_failing), cutoff)
        ).fetchone()
        if found is not None:
            raise _FullRecord


class RecordMixin(Core):
    """The recorder: write a batch of outcomes, row by row if the batch is refused."""

    async def record(self, outcomes: Iterable[Outcome], policy: HealthPolicy | None = None) -> None:
        """Write a batch of attempts, their deliveries' new state and endpoint health.

        One transaction. A delivery whose lease is no longer ours (it expired
        and another worker took it) keeps its attempt in the log but its state
        is left alone. A batch the database refuses is written row by row, a
        refused row in its poisoned form (see :mod:`hookpost.store._record`);
        :class:`RecordIncomplete` carries the rows not written when the
        database is out of reach, for the caller to retry.
        """
        batch = list(outcomes)
        if not batch:
            return
        policy = policy or HealthPolicy()
        try:
            await self._record_rows(batch, policy)
            return
        except Exception as exc:
            if unavailable(exc):
                raise RecordIncomplete(batch) from exc
        for i, outcome in enumerate(batch):
            await self._record_alone(outcome, policy, batch[i:])

    async def _record_alone(
        self, outcome: Outcome, policy: HealthPolicy, remaining: list[Outcome]
    ) -> None:
        """One outcome in its own transaction; refused, its poisoned form; refused again, logged."""
        try:
            await self._record_rows([outcome], policy)
            return
        except Exception as exc:
            if unavailable(exc):
                raise RecordIncomplete(remaining) from exc
            why = problem(exc)
        try:
            await self._record_rows([poisoned(outcome, why)], policy)
        except Exception as exc:
            if unavailable(exc):
                raise RecordIncomplete(remaining) from exc
            log.error(
                "the database refused attempt %d of delivery %s (%s), even without its "
                "request and response; the delivery will be retried when its lease expires",
                outcome.number,
                outcome.delivery_id,
                problem(exc),
            )
            return
        log.warning(
            "the database refused attempt %d of delivery %s (%s); recorded without its "
            "request and response",
            outcome.number,
            outcome.delivery_id,
            why,
        )

    async def _record_rows(self, batch: list[Outcome], policy: HealthPolicy) -> None:
        now = self.clock.now()
        if not self.is_sqlite:
            await self._record_pg(batch, policy, now)
            return
        if not _needs_full_record(batch, policy):
            try:
                await self.writer.run_sqlite(lambda db: record_sqlite(db, batch, policy, now))
                return
            except _FullRecord:
                pass  # rolled back: an endpoint failed too long, the full form disables it
        async with self.writer.begin() as conn:
            await conn.execute(statements.INSERT_ATTEMPTS, [attempt_row(o) for o in batch])
            await conn.execute(
                statements.RECORD_DELIVERIES,
                [
                    {
                        "b_id": o.delivery_id,
                        "b_lease": o.lease,
                        "b_status": o.status,
                        "b_number": o.number,
                        "b_next": o.next_attempt_at,
                        "b_code": o.status_code,
                        "b_error": None if o.error is None else storable(o.error)[0],
                        "b_now": now,
                    }
                    for o in batch
                ],
            )
            await self._update_health(conn, batch, policy, now)

    async def _record_pg(self, batch: list[Outcome], policy: HealthPolicy, now: float) -> None:
        """PostgreSQL: the attempts and the deliveries' new states in one statement
        (``RECORD_PG``); when the batch changes no endpoint's health -- every attempt
        a success to an endpoint that was not failing, the usual case -- that statement
        is the whole transaction (one round trip, no ``BEGIN`` and ``COMMIT``).
        Otherwise the health's statements follow it in one transaction, as on SQLite.
        """
        rows = attempt_tuples(batch)
        params = (
            now,
            *([list(column) for column in zip(*rows, strict=True)]),
            [o.delivery_id for o in batch],
            [o.lease for o in batch],
            [o.status.value for o in batch],
            [o.number for o in batch],
            [o.next_attempt_at for o in batch],
            [o.status_code for o in batch],
            [None if o.error is None else storable(o.error)[0] for o in batch],
        )
        change = fold_health(batch)
        if not change.resets and not change.failing and not any(o.disable_reason for o in batch):
            async with self.writer.autocommit() as conn:
                await conn.exec_driver_sql(statements.RECORD_PG, params)
            return
        async with self.writer.begin() as conn:
            await conn.exec_driver_sql(statements.RECORD_PG, params)
            await self._update_health(conn, batch, policy, now)

    async def _update_health(
        self, conn: AsyncConnection, batch: list[Outcome], policy: HealthPolicy, now: float
    ) -> None:
        change = fold_health(batch)
        resets, failing = change.resets, change.failing
        if resets:
            await conn.execute(statements.HEALTH_RESET, {"b_ids": list(resets)})
        if failing:
            common = {
                "b_now": now,
                "b_threshold": policy.breaker_threshold,
                "b_open_until": now + policy.breaker_cooldown_seconds,
            }
            await conn.execute(
                statements.HEALTH_FAILING,
                [{"b_id": ep, "b_reset": int(r), "b_n": n, **common} for ep, r, n in failing],
            )
        gone = {o.endpoint_id: o.disable_reason for o in batch if o.disable_reason}
        long_failing = [ep for ep, _r, n in failing if n > 0]
        disabled: list[tuple[str, str, str]] = []
        if long_failing:
            cutoff = now - policy.disable_after_seconds
            params = {"ids": long_failing, "cutoff": cutoff}
            rows = (await conn.execute(statements.FAILING_TOO_LONG, params)).all()
            for r in rows:
                days = (now - float(r.failing_since)) / 86400
                gone.setdefault(r.id, f"failing continuously for {days:.1f} days")
        for ep_id, reason in gone.items():
            if await disable(conn, ep_id, reason, now):
                disabled.append((ep_id, reason, ""))
        if policy.operations_project:
            await self._operational_events(conn, batch, disabled, policy.operations_project)

    async def _operational_events(
        self,
        conn: AsyncConnection,
        batch: list[Outcome],
        disabled: list[tuple[str, str, str]],
        ops_project: str,
    ) -> None:
        """Publish state changes into the operator's project, as ordinary events."""
        for ep_id, reason, _ in disabled:
            ep = (await conn.execute(select(endpoints).where(endpoints.c.id == ep_id))).first()
            if ep is None or ep.project_id == ops_project:
                continue
            await ops_event(
                self,
                conn,
                ops_project,
                "endpoint.disabled",
                {
                    "endpoint_id": ep_id,
                    "project_id": ep.project_id,
                    # masked, for a broker URL with a password (sealed in the row)
                    "url": _sealing.unseal_for_delivery(self.box, dict(ep._mapping))["url"],
                    "reason": reason,
                },
            )
        for o in batch:
            if o.status == DeliveryStatus.FAILED and o.project_id != ops_project:
                await ops_event(
                    self,
                    conn,
                    ops_project,
                    "delivery.exhausted",
                    {
                        "delivery_id": o.delivery_id,
                        "event_id": o.event_id,
                        "endpoint_id": o.endpoint_id,
                        "project_id": o.project_id,
                        "attempts": o.number,
                        "last_status_code": o.status_code,
                        "last_error": o.error,
                    },
                )
