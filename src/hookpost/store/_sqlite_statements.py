"""The hot path's statements on SQLite, as text for ``sqlite3`` on the writer's thread.

Publish (``_publish.publish_sqlite``), claim (``_claim.claim_sqlite``) and record
(``_record.record_sqlite``) each run as one synchronous function on the writer
connection's own thread, which holds SQLite's only write lock from its ``BEGIN
IMMEDIATE``: no SQLAlchemy statement compiled and no hop back to the event loop
between statements. These are their texts, each named after the portable statement of
:mod:`hookpost.store._statements` it stands for (``ROUTING`` -> ``ROUTING_SQLITE``).
A list of values is one parameter, a JSON array (``json_each``), so each statement
is prepared once whatever its length; parameters are positional, in the order each
comment gives.
"""

from __future__ import annotations

from dataclasses import fields

from hookpost.domain import ClaimedEvent, DeliveryStatus
from hookpost.store._statements import (
    _DELIVERING,
    _OPEN,
    DELIVERY_COLUMNS,
    EVENT_COLUMNS,
    EVENT_ROW,
)
from hookpost.store.models import attempts, endpoints

__all__ = [
    "ANY_FIFO_SQLITE",
    "ATTEMPT_COLUMNS",
    "CLAIM_DUE_SQLITE",
    "CLAIM_FIFO_DUE_SQLITE",
    "CUSTOM_PROFILES_SQLITE",
    "DELIVERY_COUNTS_SQLITE",
    "DUE_AT_SQLITE",
    "ENDPOINTS_BY_ID_SQLITE",
    "EVENTS_BY_SEQ_SQLITE",
    "EXISTING_EVENTS_SQLITE",
    "FAILING_TOO_LONG_SQLITE",
    "HALF_OPEN_SQLITE",
    "HEALTH_FAILING_SQLITE",
    "HEALTH_RESET_SQLITE",
    "INSERT_ATTEMPTS_SQLITE",
    "INSERT_DELIVERIES_SQLITE",
    "INSERT_EVENTS_SQLITE",
    "INSERT_RATE_BUCKET_SQLITE",
    "LAST_SEQ_SQLITE",
    "LEASE_SQLITE",
    "NEW_SEQS_SQLITE",
    "NEXT_DUE_AFTER_SQLITE",
    "RATE_BUCKETS_SQLITE",
    "RECORD_DELIVERIES_SQLITE",
    "ROUTING_SQLITE",
    "UPDATE_RATE_BUCKET_SQLITE",
]


def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


# -- publish ---------------------------------------------------------------------

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

#: When the next pending delivery or lease falls due after a time (``NEXT_DUE_AFTER``;
#: the ``ix_deliveries_due`` index): after.
NEXT_DUE_AFTER_SQLITE = (
    f"SELECT MIN(next_attempt_at) FROM deliveries WHERE status IN {_OPEN} AND next_attempt_at > ?"
)
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

# -- record ----------------------------------------------------------------------

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
