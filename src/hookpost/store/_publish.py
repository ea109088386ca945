"""What a batch of publishes writes, and the SQLite transaction that writes it in one hop.

:class:`Plan` is the publish's decisions, made in memory between the reads
and the inserts: which requests repeat an ``event_id`` seen before (or
earlier in the batch), which endpoints each new event goes to (routing,
``hookpost.domain.targets``), the event rows, then -- once the inserts have
given the events their sequences -- one delivery row per routed endpoint
(``pending``, or ``held`` for a disabled endpoint), and each request's
answer. Both writers use it: :func:`hookpost.store._events.publish_in`
through SQLAlchemy (PostgreSQL, and the operational events written inside
another change's transaction), and :func:`publish_sqlite` here.

:func:`publish_sqlite` is the whole publish transaction as one synchronous
function over ``sqlite3``, run on the writer connection's own thread
(``_backend.Writer.run_sqlite``): one lookup of the repeated ``event_id`` s,
one read of the projects' endpoints, one ``executemany`` of the events and
one of their deliveries -- prebuilt statements, tuples in column order, no
statement compiled and no hop back to the event loop between them. Through
SQLAlchemy's async engine each of those statements (and the ``BEGIN`` and
the ``COMMIT``) was a round trip between the event loop and the driver's
thread, which cost the API's one CPU more than the writes themselves.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from hookpost.core.ids import new_ids
from hookpost.domain import DeliveryStatus, Subscriber
from hookpost.domain import targets as event_targets
from hookpost.store import _sqlite_statements as sqlite_sql
from hookpost.store import _statements as statements
from hookpost.store._group_commit import Published, PublishRequest

__all__ = ["DELIVERY_COLUMNS", "EVENT_COLUMNS", "Plan", "publish_sqlite"]

#: An event row as :meth:`Plan.event_rows` builds it (the order of ``INSERT_EVENTS_SQLITE``).
EVENT_COLUMNS = statements.EVENT_COLUMNS
#: A delivery row as :meth:`Plan.delivery_rows` builds it.
DELIVERY_COLUMNS = statements.DELIVERY_COLUMNS

_PENDING = DeliveryStatus.PENDING.value
_HELD = DeliveryStatus.HELD.value


class Plan:
    """One batch's publishes, decided: repeats answered, new events routed.

    ``existing``: the requests' ``(project_id, event_id)`` s already stored,
    with their answers (:func:`~hookpost.store._events.existing_events`);
    ``routes``: each project's endpoints as routing reads them; ``now``: epoch
    seconds, the events' and deliveries' ``created_at``.
    """

    def __init__(
        self,
        requests: Sequence[PublishRequest],
        existing: Mapping[tuple[str, str], Published],
        routes: Mapping[str, Sequence[Subscriber]],
        now: float,
    ) -> None:
        self.now = now
        #: Each request's answer: known already (a stored event), or the key of a new one.
        self._answers: list[tuple[Published | None, tuple[str, str]]] = []
        #: New events by (project_id, event id): the request and its targets.
        self.fresh: dict[tuple[str, str], tuple[PublishRequest, list[tuple[str, bool]]]] = {}
        self._made: dict[tuple[str, str], tuple[dict[str, Any], int]] = {}
        answers, fresh = self._answers, self.fresh
        anonymous = sum(1 for r in requests if r.event_id is None)
        made_ids = iter(new_ids("msg", anonymous) if anonymous else ())
        # Routing reads the payload only for an endpoint's filter: in a project
        # whose endpoints have none, the events of one type share their targets.
        filtered = {pid for pid, subs in routes.items() if any(s.filter for s in subs)}
        by_type: dict[tuple[str, str, str | None], list[tuple[str, bool]]] = {}
        for r in requests:
            pid = r.project_id
            if r.event_id is not None:
                key = (pid, r.event_id)
                known = existing.get(key)
                if known is not None:
                    answers.append((known, key))
                    continue
                if key in fresh:
                    answers.append((None, key))  # repeats an event of this batch
                    continue
            else:
                key = (pid, next(made_ids))
            shared = None if pid in filtered else (pid, r.event_type, r.only_endpoint)
            targets = by_type.get(shared) if shared else None
            if targets is None:
                targets = event_targets(routes.get(pid, ()), r.event_type, r.payload,
                                        r.only_endpoint)  # fmt: skip
                if shared:
                    by_type[shared] = targets
            fresh[key] = (r, targets)
            answers.append((None, key))

    def projects(self) -> set[str]:
        """The projects that get new events (whose sequences this batch takes)."""
        return {pid for pid, _ in self.fresh}

    def event_rows(self) -> list[tuple[Any, ...]]:
        """The new events, in :data:`EVENT_COLUMNS` order."""
        now = self.now
        return [
            (pid, eid, r.event_type, r.payload, now, r.trace_context)
            for (pid, eid), (r, _) in self.fresh.items()
        ]

    def stored(self, seq_of: Mapping[tuple[str, str], int]) -> None:
        """The new events were stored under these sequences: they make the answers."""
        now = self.now
        for (pid, eid), (r, targets) in self.fresh.items():
            self._made[(pid, eid)] = (
                {"seq": seq_of[(pid, eid)], "project_id": pid, "id": eid,
                 "event_type": r.event_type, "payload": r.payload, "created_at": now},
                len(targets),
            )  # fmt: skip

    def routed(self) -> list[tuple[str, str, str, str, str, float | None]]:
        """One delivery per new event and routed endpoint, before the events have their
        sequences: ``(id, project_id, event_id, endpoint_id, status, next_attempt_at)``."""
        now = self.now
        ids = iter(new_ids("dlv", sum(len(targets) for _, targets in self.fresh.values())))
        return [
            (next(ids), pid, eid, endpoint_id, _PENDING if enabled else _HELD,
             now if enabled else None)
            for (pid, eid), (_r, targets) in self.fresh.items()
            for endpoint_id, enabled in targets
        ]  # fmt: skip

    def delivery_rows(self, seq_of: Mapping[tuple[str, str], int]) -> list[tuple[Any, ...]]:
        """One row per new event and routed endpoint (:data:`DELIVERY_COLUMNS` order),
        given the sequences the events were stored under."""
        now = self.now
        made = self._made
        ids = iter(new_ids("dlv", sum(len(targets) for _, targets in self.fresh.values())))
        rows: list[tuple[Any, ...]] = []
        add = rows.append
        for key, (r, targets) in self.fresh.items():
            pid, eid = key
            seq = seq_of[key]
            event_type = r.event_type
            made[key] = (
                {"seq": seq, "project_id": pid, "id": eid, "event_type": event_type,
                 "payload": r.payload, "created_at": now},
                len(targets),
            )  # fmt: skip
            for endpoint_id, enabled in targets:
                add(
                    (next(ids), pid, seq, eid, event_type, endpoint_id,
                     _PENDING if enabled else _HELD, 0, now if enabled else None, now, now)
                )  # fmt: skip
        return rows

    @staticmethod
    def any_pending(rows: Iterable[tuple[Any, ...]]) -> bool:
        """Whether any of these delivery rows is due now (the workers need waking)."""
        return any(row[6] == _PENDING for row in rows)

    def results(self) -> list[Published]:
        """Each request's answer, in order: a new event ``created``, a repeat the first."""
        out: list[Published] = []
        seen: set[tuple[str, str]] = set()
        for known, key in self._answers:
            if known is not None:
                out.append(known)
                continue
            event, count = self._made[key]
            out.append((event, count, key not in seen))  # the first is the one created
            seen.add(key)
        return out


class _Route(NamedTuple):
    """An endpoint as routing reads it (see ``hookpost.domain.Subscriber``)."""

    project_id: str
    id: str
    event_types: list[str]
    filter: Any
    enabled: int


def _json(value: str | None) -> Any:
    return None if value is None else json.loads(value)


def _existing_sqlite(
    db: sqlite3.Connection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Published]:
    """:func:`~hookpost.store._events.existing_events` over ``sqlite3``."""
    by_project: dict[str, list[str]] = {}
    for pid, eid in keys:
        by_project.setdefault(pid, []).append(eid)
    if not by_project:
        return {}
    names = statements.EVENT_ROW
    rows = [
        dict(zip(names, row, strict=True))
        for pid, ids in by_project.items()
        for row in db.execute(sqlite_sql.EXISTING_EVENTS_SQLITE, (pid, json.dumps(ids)))
    ]
    if not rows:
        return {}
    seqs = json.dumps([r["seq"] for r in rows])
    counts = dict(db.execute(sqlite_sql.DELIVERY_COUNTS_SQLITE, (seqs,)).fetchall())
    return {(r["project_id"], r["id"]): (r, int(counts.get(r["seq"], 0)), False) for r in rows}


def publish_sqlite(
    db: sqlite3.Connection, requests: Sequence[PublishRequest], now: float
) -> tuple[list[Published], bool]:
    """The publish transaction's statements, inside the caller's ``BEGIN IMMEDIATE``.

    Returns each request's answer and whether a due delivery was made (wake
    the workers after the commit). Runs on the database thread: no awaiting.
    """
    keys = [(r.project_id, r.event_id) for r in requests if r.event_id is not None]
    existing = _existing_sqlite(db, keys)
    projects = json.dumps(sorted({r.project_id for r in requests}))
    routes: dict[str, list[Subscriber]] = {}
    for pid, eid, types, filter_, enabled in db.execute(sqlite_sql.ROUTING_SQLITE, (projects,)):
        routes.setdefault(pid, []).append(_Route(pid, eid, _json(types), _json(filter_), enabled))
    plan = Plan(requests, existing, routes, now)
    if not plan.fresh:
        return plan.results(), False
    # The write lock is ours from BEGIN IMMEDIATE: every row with a larger
    # sequence than the largest before the insert is one of these events.
    (before,) = db.execute(sqlite_sql.LAST_SEQ_SQLITE).fetchone()
    db.executemany(sqlite_sql.INSERT_EVENTS_SQLITE, plan.event_rows())
    # Sequences rise with each insert: the new ones, in order, are the events' in order.
    seqs = [seq for (seq,) in db.execute(sqlite_sql.NEW_SEQS_SQLITE, (before,))]
    seq_of = dict(zip(plan.fresh, seqs, strict=True))
    rows = plan.delivery_rows(seq_of)
    if rows:
        db.executemany(sqlite_sql.INSERT_DELIVERIES_SQLITE, rows)
    return plan.results(), Plan.any_pending(rows)
