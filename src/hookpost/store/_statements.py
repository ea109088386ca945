"""Every statement of the delivery hot path, by name: publish, claim, record, heartbeat.

The catalogue a reader checks first when asking "what SQL does a delivery
cost?". Each statement is built once, at import, with bound parameters:
building a Core statement costs more than running it on SQLite (~0.1 ms of
the ~0.2 ms a small SELECT takes), and publish, claim and record run these
hundreds of times a second. The store's methods run a named statement and
map its rows; the statements that differ between SQLite and PostgreSQL (the
claim's row locks, NOTIFY) are finished in :mod:`hookpost.store._backend`.

Parameters of UPDATE statements are named ``b_*``: SQLAlchemy reserves a
column's own name for the values it sets.
"""

from __future__ import annotations

from dataclasses import fields

from sqlalchemy import bindparam, case, func, insert, select, update

from hookpost.domain import ClaimedEvent, DeliveryStatus
from hookpost.store import _liveness
from hookpost.store.models import attempts, deliveries, endpoints, events, profiles, rate_buckets

__all__ = [
    "ANY_FIFO",
    "ANY_FIFO_SQLITE",
    "ATTEMPT_COLUMNS",
    "CLAIM",
    "CLAIM_DUE_SQLITE",
    "CLAIM_FIFO",
    "CLAIM_FIFO_DUE_SQLITE",
    "CUSTOM_PROFILES",
    "CUSTOM_PROFILES_SQLITE",
    "DELIVERY_COLUMNS",
    "DELIVERY_COUNTS",
    "DELIVERY_COUNTS_SQLITE",
    "DISABLE_ENDPOINT",
    "DUE_AT_SQLITE",
    "ENDPOINTS_BY_ID",
    "ENDPOINTS_BY_ID_SQLITE",
    "EVENTS_BY_SEQ",
    "EVENTS_BY_SEQ_SQLITE",
    "EVENT_COLUMNS",
    "EVENT_ROW",
    "EXISTING_EVENTS",
    "EXISTING_EVENTS_SQLITE",
    "EXTEND_LEASES",
    "FAILING_TOO_LONG",
    "FAILING_TOO_LONG_SQLITE",
    "HALF_OPEN",
    "HALF_OPEN_SQLITE",
    "HAND_BACK",
    "HAND_BACK_AT",
    "HEALTH_FAILING",
    "HEALTH_FAILING_SQLITE",
    "HEALTH_RESET",
    "HEALTH_RESET_SQLITE",
    "HOLD_PENDING",
    "INSERT_ATTEMPTS",
    "INSERT_ATTEMPTS_SQLITE",
    "INSERT_DELIVERIES",
    "INSERT_DELIVERIES_SQLITE",
    "INSERT_EVENTS",
    "INSERT_EVENTS_SQLITE",
    "INSERT_RATE_BUCKET",
    "INSERT_RATE_BUCKET_SQLITE",
    "LAST_SEQ_SQLITE",
    "LEASE_SQLITE",
    "LEASE_WORKERS",
    "NEW_SEQS_SQLITE",
    "NEXT_DUE",
    "NEXT_DUE_AFTER",
    "RATE_BUCKETS",
    "RATE_BUCKETS_SQLITE",
    "RECLAIM",
    "RECORD_DELIVERIES",
    "RECORD_DELIVERIES_SQLITE",
    "RELEASE_LEASES",
    "ROUTING",
    "ROUTING_SQLITE",
    "UPDATE_RATE_BUCKET",
    "UPDATE_RATE_BUCKET_SQLITE",
]

_EPOCH = endpoints.c.failing_since.type

# -- publish ---------------------------------------------------------------------

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

# The same, as SQLite text for ``sqlite3`` (``_publish.publish_sqlite``: the publish
# transaction in one synchronous function on the writer's thread). A list of values
# is one parameter, a JSON array, so each statement is prepared once whatever its length.

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


def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


ROUTING_SQLITE = (
    "SELECT project_id, id, event_types, filter, enabled FROM endpoints"
    " WHERE project_id IN (SELECT value FROM json_each(?))"
)
EXISTING_EVENTS_SQLITE = (
    f"SELECT {', '.join(EVENT_ROW)} FROM events"
    " WHERE project_id = ? AND id IN (SELECT value FROM json_each(?))"
)
DELIVERY_COUNTS_SQLITE = (
    "SELECT event_seq, count(*) FROM deliveries"
    " WHERE event_seq IN (SELECT value FROM json_each(?)) GROUP BY event_seq"
)
#: The largest sequence before an insert, and the events inserted after it (the
#: writer holds SQLite's only write lock in between, so they are this batch's).
LAST_SEQ_SQLITE = "SELECT coalesce(max(seq), 0) FROM events"
NEW_SEQS_SQLITE = "SELECT seq FROM events WHERE seq > ? ORDER BY seq"
INSERT_EVENTS_SQLITE = _insert_sql("events", EVENT_COLUMNS)
INSERT_DELIVERIES_SQLITE = _insert_sql("deliveries", DELIVERY_COLUMNS)

# -- claim -----------------------------------------------------------------------

# SQL text spells a state by its value; these come from DeliveryStatus, never typed out.
_DELIVERING = DeliveryStatus.DELIVERING.value
_OPEN = f"('{DeliveryStatus.PENDING.value}', '{DeliveryStatus.DELIVERING.value}')"

#: Lease due deliveries of unordered endpoints: pending and due, or delivering with an
#: expired lease (its worker died); skips disabled endpoints, open circuits and the
#: endpoints the worker keeps busy. ``{lock}``: the backend's row lock (see _backend).
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

# The same claim on SQLite, as text for ``sqlite3`` (``_claim.claim_sqlite``: one
# synchronous function on the writer's thread, which holds the only write lock from
# its BEGIN IMMEDIATE). It reads the due rows and leases only those it keeps.

_CLAIM_COLUMNS = "id, event_seq, endpoint_id, attempt_count, attempt_limit"

#: Due rows of unordered endpoints (``CLAIM``'s choice, read): now, now, busy ids
#: (a JSON array), limit.
CLAIM_DUE_SQLITE = f"""
SELECT {_CLAIM_COLUMNS} FROM deliveries
 WHERE status IN {_OPEN} AND next_attempt_at <= ?
   AND endpoint_id NOT IN (
        SELECT id FROM endpoints WHERE enabled = 0 OR ordering = 'fifo' OR circuit_open_until > ?
       )
   AND endpoint_id NOT IN (SELECT value FROM json_each(?))
 ORDER BY next_attempt_at
 LIMIT ?
"""

#: The due head of each ordered endpoint's queue (``CLAIM_FIFO``'s choice, read): now, now, limit.
CLAIM_FIFO_DUE_SQLITE = f"""
SELECT d.id, d.event_seq, d.endpoint_id, d.attempt_count, d.attempt_limit
  FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id
 WHERE e.ordering = 'fifo' AND e.enabled = 1
   AND (e.circuit_open_until IS NULL OR e.circuit_open_until <= ?)
   AND d.status IN {_OPEN} AND d.next_attempt_at <= ?
   AND d.event_seq = (
        SELECT MIN(d2.event_seq) FROM deliveries d2
         WHERE d2.endpoint_id = d.endpoint_id AND d2.status IN {_OPEN}
       )
 LIMIT ?
"""

#: Lease the kept rows: lease_until, lease, now, ids (a JSON array).
LEASE_SQLITE = f"""
UPDATE deliveries SET status = '{_DELIVERING}', next_attempt_at = ?, lease = ?, updated_at = ?
 WHERE id IN (SELECT value FROM json_each(?))
"""

#: A row over its endpoint's rate limit, due at its own time (unleased): at, id.
DUE_AT_SQLITE = (
    f"UPDATE deliveries SET status = '{DeliveryStatus.PENDING.value}', lease = NULL,"
    " next_attempt_at = ? WHERE id = ?"
)

ANY_FIFO_SQLITE = "SELECT 1 FROM endpoints WHERE ordering = 'fifo' LIMIT 1"
ENDPOINTS_BY_ID_SQLITE = (
    f"SELECT {', '.join(endpoints.c.keys())} FROM endpoints"
    " WHERE id IN (SELECT value FROM json_each(?))"
)
CUSTOM_PROFILES_SQLITE = (
    "SELECT project_id, name, definition FROM profiles"
    " WHERE project_id IN (SELECT value FROM json_each(?))"
)
HALF_OPEN_SQLITE = "UPDATE endpoints SET circuit_open_until = ? WHERE id = ?"
RATE_BUCKETS_SQLITE = (
    "SELECT endpoint_id, tokens, updated_at FROM rate_buckets"
    " WHERE endpoint_id IN (SELECT value FROM json_each(?))"
)
UPDATE_RATE_BUCKET_SQLITE = (
    "UPDATE rate_buckets SET tokens = ?, updated_at = ? WHERE endpoint_id = ?"
)
INSERT_RATE_BUCKET_SQLITE = (
    "INSERT INTO rate_buckets (tokens, updated_at, endpoint_id) VALUES (?, ?, ?)"
)
EVENTS_BY_SEQ_SQLITE = (
    f"SELECT {', '.join(f.name for f in fields(ClaimedEvent))} FROM events"
    " WHERE seq IN (SELECT value FROM json_each(?))"
)

#: Whether any endpoint is ordered (fifo); without one the fifo claim is skipped.
ANY_FIFO = select(endpoints.c.id).where(endpoints.c.ordering == "fifo").limit(1)

#: The claimed rows' endpoints, whole (secrets still sealed; see _claim.claimed_endpoint).
ENDPOINTS_BY_ID = select(endpoints).where(endpoints.c.id.in_(bindparam("ids", expanding=True)))

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

#: The events of the rows a claim keeps (loaded last: handed-back rows need none).
EVENTS_BY_SEQ = select(
    # In the order of ClaimedEvent's fields: the claim builds each with ClaimedEvent(*row).
    *(events.c[f.name] for f in fields(ClaimedEvent))
).where(events.c.seq.in_(bindparam("seqs", expanding=True)))

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
HOLD_PENDING = (
    update(deliveries)
    .where(
        deliveries.c.endpoint_id == bindparam("b_id"),
        deliveries.c.status == DeliveryStatus.PENDING,
    )
    .values(status=DeliveryStatus.HELD, next_attempt_at=None, updated_at=bindparam("b_now"))
)

# The record's common case on SQLite, as text for ``sqlite3`` (``_record.record_sqlite``:
# one synchronous function on the writer's thread). Positional parameters, in the order
# each comment gives.

#: An attempts row's columns, in the order ``INSERT_ATTEMPTS_SQLITE`` takes them.
ATTEMPT_COLUMNS = (
    "delivery_id", "number", "started_at", "url", "request_headers", "request_body",
    "status_code", "response_headers", "response_body", "duration_ms", "error",
)  # fmt: skip
assert set(ATTEMPT_COLUMNS) == set(attempts.c.keys()) - {"id"}
INSERT_ATTEMPTS_SQLITE = _insert_sql("attempts", ATTEMPT_COLUMNS)
#: ``RECORD_DELIVERIES``: status, number, next, code, error, now, id, lease.
RECORD_DELIVERIES_SQLITE = (
    "UPDATE deliveries SET status = ?, attempt_count = ?, next_attempt_at = ?, lease = NULL,"
    " last_status_code = ?, last_error = ?, updated_at = ? WHERE id = ? AND lease = ?"
)
#: ``HEALTH_RESET``: ids (a JSON array).
HEALTH_RESET_SQLITE = (
    "UPDATE endpoints SET consecutive_failures = 0, failing_since = NULL,"
    " circuit_open_until = NULL WHERE id IN (SELECT value FROM json_each(?))"
)
#: ``HEALTH_FAILING``, by name: id, reset, n, now, threshold, open_until.
HEALTH_FAILING_SQLITE = """
UPDATE endpoints
   SET consecutive_failures = consecutive_failures * (1 - :reset) + :n,
       failing_since = CASE WHEN :reset = 1 THEN :now ELSE coalesce(failing_since, :now) END,
       circuit_open_until = CASE
           WHEN consecutive_failures * (1 - :reset) + :n >= :threshold THEN :open_until
           ELSE NULL END
 WHERE id = :id
"""
#: ``FAILING_TOO_LONG``: ids (a JSON array), cutoff.
FAILING_TOO_LONG_SQLITE = (
    "SELECT id FROM endpoints WHERE id IN (SELECT value FROM json_each(?))"
    " AND enabled = 1 AND failing_since <= ?"
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
