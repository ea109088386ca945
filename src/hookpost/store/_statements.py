"""Every statement of the delivery hot path, by name: publish, claim, record, heartbeat.

The catalogue a reader checks first when asking "what SQL does a delivery
cost?". Each statement is built once, at import, with bound parameters:
building a Core statement costs more than running it on SQLite (~0.1 ms of
the ~0.2 ms a small SELECT takes), and publish, claim and record run these
hundreds of times a second. The store's methods run a named statement and
map its rows. Each backend's hot path has its own text besides: SQLite's
(``*_SQLITE``, for ``sqlite3`` on the writer's thread, in
:mod:`hookpost.store._sqlite_statements`) and PostgreSQL's, here (``*_PG``: the
publish's write, the claim and the record each one statement, lists as arrays, so
one round trip each and no ``BEGIN`` or ``COMMIT``).

Parameters of UPDATE statements are named ``b_*``: SQLAlchemy reserves a
column's own name for the values it sets.
"""

from __future__ import annotations

import re
from dataclasses import fields
from typing import Any

from sqlalchemy import JSON, bindparam, case, func, insert, select, text, update

from hookpost.domain import ClaimedEvent, DeliveryStatus
from hookpost.store import _liveness
from hookpost.store.models import (
    OPEN_STATUSES,
    attempts,
    deliveries,
    endpoints,
    events,
    profiles,
    rate_buckets,
)

__all__ = [
    "ANY_FIFO",
    "CLAIM",
    "CLAIMED_COLUMNS",
    "CLAIMED_EVENT_COLUMNS",
    "CLAIM_FIFO",
    "CLAIM_FIFO_PG",
    "CLAIM_FIFO_PG_PARAMS",
    "CLAIM_PG",
    "CLAIM_PG_PARAMS",
    "CUSTOM_PROFILES",
    "DELIVERY_COLUMNS",
    "DELIVERY_COUNTS",
    "DISABLE_ENDPOINT",
    "ENDPOINT_COLUMNS",
    "EVENT_COLUMNS",
    "EVENT_ROW",
    "EXISTING_EVENTS",
    "EXTEND_LEASES",
    "FAILING_TOO_LONG",
    "HALF_OPEN",
    "HAND_BACK",
    "HAND_BACK_AT",
    "HEALTH_FAILING",
    "HEALTH_RESET",
    "HOLD_PENDING",
    "INSERT_ATTEMPTS",
    "INSERT_DELIVERIES",
    "INSERT_EVENTS",
    "INSERT_RATE_BUCKET",
    "LEASE_WORKERS",
    "NEXT_DUE",
    "NEXT_DUE_AFTER",
    "NOTIFY_CHANNEL",
    "PUBLISH_READ_PG",
    "PUBLISH_WRITE_PG",
    "RATE_BUCKETS",
    "RECLAIM",
    "RECORD_DELIVERIES",
    "RECORD_PG",
    "RELEASE_LEASES",
    "ROUTING",
    "UPDATE_RATE_BUCKET",
]

_EPOCH = endpoints.c.failing_since.type

# -- publish ---------------------------------------------------------------------

#: PostgreSQL: the channel a commit that made deliveries due notifies (workers LISTEN).
NOTIFY_CHANNEL = "hookpost_due"
_PENDING = DeliveryStatus.PENDING.value

#: The projects' endpoints as routing needs them (subscriptions, filter, enabled).
ROUTING = select(
    endpoints.c.project_id,
    endpoints.c.id,
    endpoints.c.event_types,
    endpoints.c.filter,
    endpoints.c.enabled,
).where(endpoints.c.project_id.in_(bindparam("projects", expanding=True)))

#: Events of one project already stored under these event ids (a repeated publish).
EXISTING_EVENTS = select(events).where(
    events.c.project_id == bindparam("project"),
    events.c.id.in_(bindparam("ids", expanding=True)),
)

#: How many deliveries each of these events has (the answer to a repeated publish).
DELIVERY_COUNTS = (
    select(deliveries.c.event_seq, func.count())
    .where(deliveries.c.event_seq.in_(bindparam("seqs", expanding=True)))
    .group_by(deliveries.c.event_seq)
)

#: Insert a batch of events; rows are matched back by (project_id, id), unique, so no
#: ordered RETURNING is needed (SQLite can only give that one INSERT per row).
INSERT_EVENTS = insert(events).returning(events.c.seq, events.c.project_id, events.c.id)

#: Insert a batch of deliveries, one per event and routed endpoint.
INSERT_DELIVERIES = insert(deliveries)

#: An event's columns as a stored event is answered (``select(events)``).
EVENT_ROW = tuple(events.c.keys())
#: The columns a publish writes of an event, and of a delivery (the rows' tuple order).
EVENT_COLUMNS = ("project_id", "id", "event_type", "payload", "created_at", "trace_context")
DELIVERY_COLUMNS = (
    "id", "project_id", "event_seq", "event_id", "event_type", "endpoint_id", "status",
    "attempt_count", "next_attempt_at", "created_at", "updated_at",
)  # fmt: skip
assert set(EVENT_COLUMNS) <= set(EVENT_ROW)
assert set(DELIVERY_COLUMNS) <= set(deliveries.c.keys())


# The same on PostgreSQL, as two statements (``_events.publish_pg``): each a round
# trip, where every statement, the BEGIN and the COMMIT were one. Lists are arrays.

#: What a publish reads: the projects' endpoints (``kind`` 0, routing) and the events
#: already stored under the batch's event ids (``kind`` 1, with their delivery counts).
#: $1 project ids; $2, $3 the (project id, event id) pairs.
PUBLISH_READ_PG = """
SELECT 0 AS kind, project_id, id, event_types, filter, enabled,
       NULL::bigint AS seq, NULL::text AS event_type, NULL::text AS payload,
       NULL::text AS trace_context, NULL::float8 AS created_at, NULL::bigint AS deliveries
  FROM endpoints WHERE project_id = ANY($1::text[])
UNION ALL
SELECT 1, e.project_id, e.id, NULL, NULL, NULL,
       e.seq, e.event_type, e.payload, e.trace_context, e.created_at,
       (SELECT count(*) FROM deliveries d WHERE d.event_seq = e.seq)
  FROM events e JOIN unnest($2::text[], $3::text[]) AS k(project_id, id)
    ON e.project_id = k.project_id AND e.id = k.id
"""
assert EVENT_ROW == ("seq", "project_id", "id", "event_type", "payload", "trace_context",
                     "created_at")  # fmt: skip

#: The publish's write, one statement and so one transaction: first the projects'
#: sequence locks in shared mode ($2 the lock space, $3 the keys; see
#: ``_backend.order_sequences``) -- the events' sort waits for them, so no sequence
#: is taken before -- then the events ($4-$8, in this order: their sequences), then
#: their deliveries ($9-$14, matched to their event by (project id, event id)), and
#: a NOTIFY when one is due, delivered at the commit. $1: now. Returns each event's
#: sequence.
PUBLISH_WRITE_PG = f"""
WITH locks AS MATERIALIZED (
    SELECT count(pg_advisory_xact_lock_shared($2::int4, k)) AS n FROM unnest($3::int4[]) AS k
), ev AS (
    INSERT INTO events (project_id, id, event_type, payload, created_at, trace_context)
    SELECT u.project_id, u.id, u.event_type, u.payload, $1::float8, u.trace_context
      FROM locks, unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
           WITH ORDINALITY AS u(project_id, id, event_type, payload, trace_context, n)
     ORDER BY locks.n, u.n
    RETURNING seq, project_id, id, event_type
), dl AS (
    INSERT INTO deliveries (id, project_id, event_seq, event_id, event_type, endpoint_id,
                            status, attempt_count, next_attempt_at, created_at, updated_at)
    SELECT d.id, ev.project_id, ev.seq, ev.id, ev.event_type, d.endpoint_id,
           d.status, 0, d.next_attempt_at, $1::float8, $1::float8
      FROM unnest($9::text[], $10::text[], $11::text[], $12::text[], $13::text[],
                  $14::float8[]) AS d(id, project_id, event_id, endpoint_id, status,
                                      next_attempt_at)
      JOIN ev ON ev.project_id = d.project_id AND ev.id = d.event_id
    RETURNING status
)
SELECT seq, project_id, id,
       (SELECT count(pg_notify('{NOTIFY_CHANNEL}', '')) FROM dl WHERE status = '{_PENDING}')
  FROM ev
"""

# -- claim -----------------------------------------------------------------------

# SQL text spells a state by its value; these come from DeliveryStatus, never typed out.
_DELIVERING = DeliveryStatus.DELIVERING.value
_OPEN = f"('{DeliveryStatus.PENDING.value}', '{DeliveryStatus.DELIVERING.value}')"

#: Lease due deliveries of unordered endpoints: pending and due, or delivering with an
#: expired lease (its worker died); skips disabled endpoints, open circuits and the
#: endpoints the worker keeps busy. ``{lock}``: PostgreSQL's row lock (see ``CLAIM_PG``).
CLAIM = f"""
UPDATE deliveries
   SET status = '{_DELIVERING}', next_attempt_at = :lease_until, lease = :lease, updated_at = :now
 WHERE id IN (
        SELECT id FROM deliveries
         WHERE status IN {_OPEN} AND next_attempt_at <= :now
           AND endpoint_id NOT IN (
                SELECT id FROM endpoints
                 WHERE enabled = :false OR ordering = 'fifo' OR circuit_open_until > :now
               )
           AND endpoint_id NOT IN :busy
         ORDER BY next_attempt_at
         LIMIT :limit {{lock}}
       )
RETURNING id, event_seq, endpoint_id, attempt_count, attempt_limit
"""

#: Lease the head of each ordered (fifo) endpoint's queue -- the lowest event sequence
#: not yet final -- when it is due; the only claim of an ordered endpoint's rows.
CLAIM_FIFO = f"""
UPDATE deliveries
   SET status = '{_DELIVERING}', next_attempt_at = :lease_until, lease = :lease, updated_at = :now
 WHERE id IN (
        SELECT d.id FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id
         WHERE e.ordering = 'fifo' AND e.enabled = :true
           AND (e.circuit_open_until IS NULL OR e.circuit_open_until <= :now)
           AND d.status IN {_OPEN} AND d.next_attempt_at <= :now
           AND d.event_seq = (
                SELECT MIN(d2.event_seq) FROM deliveries d2
                 WHERE d2.endpoint_id = d.endpoint_id AND d2.status IN {_OPEN}
               )
         LIMIT :limit {{lock}}
       )
RETURNING id, event_seq, endpoint_id, attempt_count, attempt_limit
"""

# PostgreSQL: a claim and what sending its rows needs, in one statement (``_queue``):
# the leased rows (``kind`` 0), their endpoints (1) and their events (2), one result.

#: The columns of each kind, in the result's order after ``kind``.
CLAIMED_COLUMNS = ("id", "event_seq", "endpoint_id", "attempt_count", "attempt_limit")
ENDPOINT_COLUMNS = tuple(endpoints.c.keys())
CLAIMED_EVENT_COLUMNS = tuple(f.name for f in fields(ClaimedEvent))

_PG_TYPES = {str: "text", int: "int8", float: "float8", bool: "bool"}


def _pg_type(column: Any) -> str:
    return "json" if isinstance(column.type, JSON) else _PG_TYPES[column.type.python_type]


def _claim_pg(claim: str) -> tuple[tuple[str, ...], str]:
    """``claim`` (CLAIM or CLAIM_FIFO) on PostgreSQL, returning its rows' endpoints and
    events too, and the names of its parameters in order ($1, $2, ...: ``busy`` an
    array). Every kind's columns but its own are typed NULLs.
    """
    names = tuple(dict.fromkeys(re.findall(r"(?<!:):([a-z_]+)\b", claim)))
    for n, name in enumerate(names, 1):
        claim = re.sub(rf"(?<!:):{name}\b", f"${n}", claim)
    if "busy" in names:
        busy = f"${names.index('busy') + 1}"
        claim = claim.replace(f"NOT IN {busy}", f"<> ALL({busy}::text[])")

    def nulls(table: Any, names: tuple[str, ...]) -> str:
        return ", ".join(f"NULL::{_pg_type(table.c[n])}" for n in names)

    def named(alias: str, names: tuple[str, ...]) -> str:
        return ", ".join(f"{alias}.{n}" for n in names)

    d, e = (deliveries, CLAIMED_COLUMNS), (endpoints, ENDPOINT_COLUMNS)
    v = (events, CLAIMED_EVENT_COLUMNS)
    return (
        names,
        f"""
WITH c AS ({claim.strip()})
SELECT 0 AS kind, {named("c", d[1])}, {nulls(*e)}, {nulls(*v)} FROM c
UNION ALL
SELECT 1, {nulls(*d)}, {named("e", e[1])}, {nulls(*v)}
  FROM endpoints e WHERE e.id IN (SELECT endpoint_id FROM c)
UNION ALL
SELECT 2, {nulls(*d)}, {nulls(*e)}, {named("v", v[1])}
  FROM events v WHERE v.seq IN (SELECT event_seq FROM c)
""",
    )


CLAIM_PG_PARAMS, CLAIM_PG = _claim_pg(CLAIM.format(lock="FOR UPDATE SKIP LOCKED"))
CLAIM_FIFO_PG_PARAMS, CLAIM_FIFO_PG = _claim_pg(
    CLAIM_FIFO.format(lock="FOR UPDATE OF d SKIP LOCKED")
)

#: Whether any endpoint is ordered (fifo); without one the fifo claim is skipped.
ANY_FIFO = select(endpoints.c.id).where(endpoints.c.ordering == "fifo").limit(1)

#: The custom profile definitions of these projects (endpoints with a non-built-in profile).
CUSTOM_PROFILES = select(profiles.c.project_id, profiles.c.name, profiles.c.definition).where(
    profiles.c.project_id.in_(bindparam("projects", expanding=True))
)

#: A half-open circuit lets one probe through: keep others out until it is answered.
HALF_OPEN = (
    update(endpoints)
    .where(endpoints.c.id == bindparam("b_id"))
    .values(circuit_open_until=bindparam("b_until"))
)

#: The token buckets of the claimed rows' rate-limited endpoints, locked for the claim.
RATE_BUCKETS = (
    select(rate_buckets.c.endpoint_id, rate_buckets.c.tokens, rate_buckets.c.updated_at)
    .where(rate_buckets.c.endpoint_id.in_(bindparam("ids", expanding=True)))
    .with_for_update()
)

#: An endpoint's first token bucket.
INSERT_RATE_BUCKET = insert(rate_buckets)

#: What is left in an endpoint's token bucket after a claim took from it.
UPDATE_RATE_BUCKET = (
    update(rate_buckets)
    .where(rate_buckets.c.endpoint_id == bindparam("b_id"))
    .values(tokens=bindparam("b_tokens"), updated_at=bindparam("b_now"))
)

#: Hand claimed rows back as due now (over an endpoint's cap or window).
HAND_BACK = (
    update(deliveries)
    .where(
        deliveries.c.lease == bindparam("b_lease"),
        deliveries.c.id.in_(bindparam("b_ids", expanding=True)),
    )
    .values(status=DeliveryStatus.PENDING, lease=None, next_attempt_at=bindparam("b_now"))
)

#: Hand one claimed row back, due at its own time (over the endpoint's rate limit).
HAND_BACK_AT = (
    update(deliveries)
    .where(deliveries.c.id == bindparam("b_id"), deliveries.c.lease == bindparam("b_lease"))
    .values(status=DeliveryStatus.PENDING, lease=None, next_attempt_at=bindparam("b_next"))
)

# -- record ----------------------------------------------------------------------

#: Insert a batch of attempts (see _record.attempt_row).
INSERT_ATTEMPTS = insert(attempts)

#: A delivery's state after an attempt -- only while the lease is still ours.
RECORD_DELIVERIES = (
    update(deliveries)
    .where(deliveries.c.id == bindparam("b_id"), deliveries.c.lease == bindparam("b_lease"))
    .values(
        status=bindparam("b_status"),
        attempt_count=bindparam("b_number"),
        next_attempt_at=bindparam("b_next"),
        lease=None,
        last_status_code=bindparam("b_code"),
        last_error=bindparam("b_error"),
        updated_at=bindparam("b_now"),
    )
)

#: PostgreSQL: INSERT_ATTEMPTS and RECORD_DELIVERIES as one statement, one round trip
#: (``_record._record_rows``; on a connection outside a transaction, its own). $1: now;
#: $2-$12 the attempts' columns (JSON as text, as SQLAlchemy's JSON type writes it), in
#: order (their ids); $13-$19 each delivery's new state, only while its lease is ours.
RECORD_PG = """
WITH a AS (
    INSERT INTO attempts (delivery_id, number, started_at, url, request_headers, request_body,
                          status_code, response_headers, response_body, duration_ms, error)
    SELECT u.delivery_id, u.number, u.started_at, u.url, u.request_headers::json,
           u.request_body, u.status_code, u.response_headers::json, u.response_body,
           u.duration_ms, u.error
      FROM unnest($2::text[], $3::int4[], $4::float8[], $5::text[], $6::text[], $7::text[],
                  $8::int4[], $9::text[], $10::text[], $11::float8[], $12::text[])
           WITH ORDINALITY AS u(delivery_id, number, started_at, url, request_headers,
                                request_body, status_code, response_headers, response_body,
                                duration_ms, error, n)
     ORDER BY u.n
)
UPDATE deliveries
   SET status = u.status, attempt_count = u.number, next_attempt_at = u.next_attempt_at,
       lease = NULL, last_status_code = u.status_code, last_error = u.error, updated_at = $1
  FROM unnest($13::text[], $14::text[], $15::text[], $16::int4[], $17::float8[], $18::int4[],
              $19::text[]) AS u(id, lease, status, number, next_attempt_at, status_code, error)
 WHERE deliveries.id = u.id AND deliveries.lease = u.lease
"""

#: Endpoints whose last attempt of the batch succeeded: healthy, circuit closed.
HEALTH_RESET = (
    update(endpoints)
    .where(endpoints.c.id.in_(bindparam("b_ids", expanding=True)))
    .values(consecutive_failures=0, failing_since=None, circuit_open_until=None)
)

_FAILURES = endpoints.c.consecutive_failures * (1 - bindparam("b_reset")) + bindparam("b_n")

#: An endpoint whose batch ended in ``b_n`` failures (after a success if ``b_reset``):
#: count them, note since when it fails, open its circuit at the threshold.
HEALTH_FAILING = (
    update(endpoints)
    .where(endpoints.c.id == bindparam("b_id"))
    .values(
        consecutive_failures=_FAILURES,
        failing_since=case(
            (bindparam("b_reset") == 1, bindparam("b_now", type_=_EPOCH)),
            else_=func.coalesce(endpoints.c.failing_since, bindparam("b_now", type_=_EPOCH)),
        ),
        circuit_open_until=case(
            (_FAILURES >= bindparam("b_threshold"), bindparam("b_open_until", type_=_EPOCH)),
            else_=None,
        ),
    )
)

#: Of these failing endpoints, the enabled ones failing since before the cutoff.
FAILING_TOO_LONG = select(endpoints.c.id, endpoints.c.project_id, endpoints.c.failing_since).where(
    endpoints.c.id.in_(bindparam("ids", expanding=True)),
    endpoints.c.enabled.is_(True),
    endpoints.c.failing_since <= bindparam("cutoff"),
)

#: Disable an enabled endpoint (the receiver asked to stop, or it failed for too long).
DISABLE_ENDPOINT = (
    update(endpoints)
    .where(endpoints.c.id == bindparam("b_id"), endpoints.c.enabled.is_(True))
    .values(
        enabled=False,
        disabled_reason=bindparam("b_reason"),
        disabled_at=bindparam("b_now"),
        updated_at=bindparam("b_now"),
    )
)

#: Hold a disabled endpoint's pending deliveries until it is enabled and released.
#: Through ``ix_deliveries_endpoint_open``: SQLite uses a partial index only for a
#: query that states its condition in the same words (``OPEN_STATUSES``).
HOLD_PENDING = (
    update(deliveries)
    .where(
        deliveries.c.endpoint_id == bindparam("b_id"),
        text(OPEN_STATUSES),
        deliveries.c.status == DeliveryStatus.PENDING,
    )
    .values(status=DeliveryStatus.HELD, next_attempt_at=None, updated_at=bindparam("b_now"))
)

# -- heartbeat, leases and the dispatcher's sleep --------------------------------

#: Extend a live worker's leases, so its long deliveries are not claimed again.
EXTEND_LEASES = (
    update(deliveries)
    .where(
        deliveries.c.status == DeliveryStatus.DELIVERING,
        deliveries.c.lease.in_(bindparam("b_leases", expanding=True)),
    )
    .values(next_attempt_at=bindparam("b_until"))
)

#: The worker ids named in live leases (see _liveness), to check which are dead.
LEASE_WORKERS = (
    select(func.substr(deliveries.c.lease, 1, 16))
    .where(
        deliveries.c.status == DeliveryStatus.DELIVERING,
        deliveries.c.lease.like(_liveness.WORKER_LEASE),
    )
    .distinct()
)

#: Make a dead worker's deliveries (``b_leases``: its id, then ``.%``) due now.
RECLAIM = (
    update(deliveries)
    .where(
        deliveries.c.status == DeliveryStatus.DELIVERING,
        deliveries.c.lease.like(bindparam("b_leases")),
    )
    .values(
        status=DeliveryStatus.PENDING,
        lease=None,
        next_attempt_at=bindparam("b_now"),
        updated_at=bindparam("b_now"),
    )
)

#: Give back deliveries claimed but not attempted (graceful shutdown), due now.
RELEASE_LEASES = (
    update(deliveries)
    .where(
        deliveries.c.status == DeliveryStatus.DELIVERING,
        deliveries.c.lease.in_(bindparam("b_leases", expanding=True)),
    )
    .values(
        status=DeliveryStatus.PENDING,
        next_attempt_at=bindparam("b_now"),
        lease=None,
        updated_at=bindparam("b_now"),
    )
)

_DUE = deliveries.c.status.in_((DeliveryStatus.PENDING, DeliveryStatus.DELIVERING))

#: When the next pending delivery or lease falls due (the ``ix_deliveries_due`` index).
NEXT_DUE = select(func.min(deliveries.c.next_attempt_at)).where(_DUE)

#: The same, after ``after`` (rows due before it wait on something a result frees).
NEXT_DUE_AFTER = select(func.min(deliveries.c.next_attempt_at)).where(
    _DUE, deliveries.c.next_attempt_at > bindparam("after")
)
