"""What a claim admits, and the SQLite claim transaction that does it in one hop.

:func:`admit` is the claim's admission policy as pure code, run between the
reads and the writes of both backends' claims: per endpoint, the rows its
concurrency cap and this worker's window leave room for, a half-open
circuit's single probe, and its rate limit (a token bucket shared by every
worker, read with the claim and written back by it). What it refuses is
either due again at once (over a cap or a window: the endpoint is *capped*,
and a result on it wakes the loop) or at its own time (over the rate).
:meth:`hookpost.store._queue.QueueMixin.claim` uses it on PostgreSQL, where
the rows are leased first (``FOR UPDATE SKIP LOCKED`` keeps two workers off
the same rows) and what is refused is handed back.

:func:`claim_sqlite` is the whole SQLite claim as one synchronous function
over ``sqlite3`` on the writer connection's thread (``_backend.Writer.run_sqlite``),
as :func:`hookpost.store._publish.publish_sqlite` is the publish. SQLite has
one writer, and ``BEGIN IMMEDIATE`` holds it from the first read: so the claim
*reads* the due rows, admits them, and leases only the rows it keeps -- where
the PostgreSQL form leases a whole batch and hands most of it back when one
endpoint with a deep queue has room for two (each row written twice, and
its index entry moved twice, for nothing). A row it does not keep is left as
it was, due in its place; one over its rate limit is moved to its own time.

The claim commits without waiting for the disk (``synced=False``: WAL with
``synchronous=NORMAL``), where publishes and attempt records wait for it
(``FULL``). What it writes -- leases, a half-open probe's mark, a rate bucket's
tokens -- is bookkeeping whose loss in a crash (of the machine: a process crash
loses nothing) repeats work and never loses any: a lease lost leaves the
delivery due, to be claimed and sent again (at least once, as after a worker's
death); a probe mark or tokens lost let one more request through. And it cannot
be lost alone: the log is written in order, so the next ``FULL`` commit (the
attempt's record, a publish) forces the claim to disk with it. That saves one
disk flush per claim, the larger part of a claim's time and of a quiet event's
publish-to-receipt latency.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from hookpost.core.crypto import SecretBox
from hookpost.domain import ClaimedDelivery, ClaimedEndpoint, ClaimedEvent, HealthPolicy
from hookpost.profiles import PROFILE_NAMES
from hookpost.store import _sealing
from hookpost.store import _sqlite_statements as sqlite_sql

__all__ = [
    "Admitted",
    "ClaimRow",
    "admit",
    "claim_sqlite",
    "claimed_deliveries",
    "claimed_endpoint",
    "take_tokens",
]


class ClaimRow(NamedTuple):
    """A due delivery as a claim reads it (the claim statements' columns, in order)."""

    id: str
    event_seq: int
    endpoint_id: str
    attempt_count: int
    attempt_limit: int | None


@dataclass(slots=True)
class Admitted:
    """What :func:`admit` decided for one claim's rows."""

    keep: list[Any] = field(default_factory=list)
    #: Rows refused, by delivery id: due again at once (None) or at the time given.
    back: dict[str, float | None] = field(default_factory=dict)
    #: Endpoints with due rows refused over their cap or window (not their rate).
    capped: set[str] = field(default_factory=set)
    #: Endpoints whose half-open circuit this claim sends the one probe to.
    probes: list[str] = field(default_factory=list)
    #: Endpoint -> (tokens left in its bucket, whether the bucket existed).
    buckets: dict[str, tuple[float, bool]] = field(default_factory=dict)


def take_tokens(
    bucket: tuple[float, float] | None, rate: float, want: int, now: float
) -> tuple[int, float]:
    """Tokens granted of ``want`` from a bucket ``(tokens, updated_at)`` (None: a new one,
    full), and the tokens left. The burst is one second's worth."""
    burst = max(1.0, rate)
    if bucket is None:
        tokens = burst
    else:
        tokens = min(burst, float(bucket[0]) + max(0.0, now - float(bucket[1])) * rate)
    granted = min(want, int(tokens))
    return granted, tokens - granted


def admit(
    claimed: Sequence[Any],
    eps: Mapping[str, ClaimedEndpoint],
    policy: HealthPolicy,
    *,
    inflight: Mapping[str, int],
    allowance: Callable[[str, int], int] | None,
    buckets: Mapping[str, tuple[float, float]],
    now: float,
) -> Admitted:
    """The claim's admission policy over due ``claimed`` rows (each with ``id`` and
    ``endpoint_id``), their endpoints ``eps`` and the rate-limited ones' ``buckets``."""
    out = Admitted()
    by_endpoint: dict[str, list[Any]] = {}
    for r in claimed:
        by_endpoint.setdefault(r.endpoint_id, []).append(r)
    for ep_id, rows in by_endpoint.items():
        ep = eps[ep_id]
        cap = ep.max_concurrency or policy.endpoint_concurrency
        if allowance is not None:
            cap = allowance(ep_id, cap)
        allowed = min(len(rows), max(0, cap - inflight.get(ep_id, 0)))
        if ep.consecutive_failures >= policy.breaker_threshold and allowed:
            # Half-open: one probe; everyone else waits for its verdict.
            allowed = 1
            out.probes.append(ep_id)
        if ep.rate_limit and allowed:
            granted, left = take_tokens(buckets.get(ep_id), ep.rate_limit, allowed, now)
            out.buckets[ep_id] = (left, ep_id in buckets)
            for i, r in enumerate(rows[granted:allowed]):
                out.back[r.id] = now + (i + 1) / ep.rate_limit
            allowed = granted
        out.keep += rows[:allowed]
        for r in rows[allowed:]:
            out.back.setdefault(r.id, None)
        if len(rows) > allowed and out.back[rows[-1].id] is None:
            out.capped.add(ep_id)
    return out


def claimed_endpoint(e: dict[str, Any], definition: dict[str, Any] | None) -> ClaimedEndpoint:
    """An unsealed ``endpoints`` row as the dispatcher reads it."""
    schedule = e["retry_schedule"]
    rate = e["rate_limit"]
    timeout = e["timeout_seconds"]
    return ClaimedEndpoint(
        id=e["id"],
        project_id=e["project_id"],
        url=e["url"],
        wire_url=e.get("wire_url") or e["url"],
        profile=e["profile"],
        profile_definition=definition,
        serializer=e["serializer"],  # the receiver's (issue 16); None: the default
        secret=e["secret"],
        old_secrets=tuple((s["secret"], float(s["expires_at"])) for s in e["old_secrets"] or ()),
        headers=e["headers"],
        secret_headers=tuple(e["secret_headers"]),
        success_rule=e["success_rule"],
        max_attempts=e["max_attempts"],
        retry_schedule=None if schedule is None else tuple(float(x) for x in schedule),
        timeout_seconds=None if timeout is None else float(timeout),
        max_concurrency=e["max_concurrency"],
        rate_limit=None if rate is None else float(rate),
        fifo=e["ordering"] == "fifo",
        consecutive_failures=e["consecutive_failures"],
        circuit_open_until=e["circuit_open_until"],
    )


def endpoints_for_delivery(
    box: SecretBox | None,
    rows: list[dict[str, Any]],
    custom: Mapping[tuple[str, str], Any],
) -> dict[str, ClaimedEndpoint]:
    """Endpoint rows (as SQLAlchemy reads them) by id: secrets opened, custom profiles
    (``custom``: (project, name) -> definition) attached."""
    opened = [_sealing.unseal_for_delivery(box, r) for r in rows]
    return {
        e["id"]: claimed_endpoint(e, custom.get((e["project_id"], e["profile"]))) for e in opened
    }


def custom_projects(rows: list[dict[str, Any]]) -> list[str]:
    """The projects of these endpoint rows that use a custom profile."""
    return sorted({e["project_id"] for e in rows if e["profile"] not in PROFILE_NAMES})


@dataclass(slots=True)
class ClaimSpec:
    """What one claim asks for (see :meth:`hookpost.store._queue.QueueMixin.claim`)."""

    limit: int
    lease: str
    lease_until: float
    now: float
    busy: Sequence[str]
    inflight: Mapping[str, int]
    allowance: Callable[[str, int], int] | None
    policy: HealthPolicy
    #: Whether any endpoint is ordered (fifo); None: not known, look.
    any_fifo: bool | None


class SqliteClaim(NamedTuple):
    jobs: list[ClaimedDelivery]
    more: bool
    capped: set[str]
    any_fifo: bool
    #: See :attr:`hookpost.domain.Claim.next_due`.
    next_due: float | None = None


_ENDPOINT_JSON = ("event_types", "old_secrets", "filter", "headers", "retry_schedule")


def _json_list(values: Sequence[Any]) -> str:
    return json.dumps(list(values))


def claim_sqlite(db: sqlite3.Connection, spec: ClaimSpec, box: SecretBox | None) -> SqliteClaim:
    """The claim's statements, inside the caller's ``BEGIN IMMEDIATE`` (no awaiting).

    A claim that leaves the loop idle (nothing leased, or the queue drained) also
    reads when the next delivery falls due after ``spec.now``: the loop sleeps
    until then without a query of its own (one more hop to a reader connection per
    claim, through SQLAlchemy, was most of an idle turn's cost under load). What
    this transaction wrote (rows handed back to their own time) and every result
    recorded before it are seen; a result recorded after it wakes the loop itself
    (``ClaimLoop.recorded``).
    """
    claim = _claim_sqlite(db, spec, box)
    if claim.jobs and claim.more:
        return claim  # the loop claims again at once
    (due,) = db.execute(sqlite_sql.NEXT_DUE_AFTER_SQLITE, (spec.now,)).fetchone()
    return claim._replace(next_due=math.inf if due is None else float(due))


def _claim_sqlite(db: sqlite3.Connection, spec: ClaimSpec, box: SecretBox | None) -> SqliteClaim:
    now = spec.now
    claimed = [
        ClaimRow(*r)
        for r in db.execute(
            sqlite_sql.CLAIM_DUE_SQLITE, (now, now, _json_list(spec.busy), spec.limit)
        )
    ]
    any_fifo = spec.any_fifo
    if any_fifo is None:
        any_fifo = db.execute(sqlite_sql.ANY_FIFO_SQLITE).fetchone() is not None
    if len(claimed) < spec.limit and any_fifo:
        rest = spec.limit - len(claimed)
        claimed += [
            ClaimRow(*r) for r in db.execute(sqlite_sql.CLAIM_FIFO_DUE_SQLITE, (now, now, rest))
        ]
    if not claimed:
        return SqliteClaim([], False, set(), any_fifo)
    eps = _endpoints_sqlite(db, box, {r.endpoint_id for r in claimed})
    limited = [ep_id for ep_id, ep in eps.items() if ep.rate_limit]
    buckets: dict[str, tuple[float, float]] = {}
    if limited:
        rows = db.execute(sqlite_sql.RATE_BUCKETS_SQLITE, (_json_list(limited),))
        buckets = {ep_id: (tokens, at) for ep_id, tokens, at in rows}
    decided = admit(
        claimed, eps, spec.policy, inflight=spec.inflight, allowance=spec.allowance,
        buckets=buckets, now=now,
    )  # fmt: skip
    for ep_id in decided.probes:
        db.execute(sqlite_sql.HALF_OPEN_SQLITE, (spec.lease_until, ep_id))
    for ep_id, (left, existed) in decided.buckets.items():
        sql = (
            sqlite_sql.UPDATE_RATE_BUCKET_SQLITE
            if existed
            else sqlite_sql.INSERT_RATE_BUCKET_SQLITE
        )
        db.execute(sql, (left, now, ep_id))
    later = [(at, d_id) for d_id, at in decided.back.items() if at is not None]
    if later:  # over a rate limit: each at its own time, unleased
        db.executemany(sqlite_sql.DUE_AT_SQLITE, later)
    keep = decided.keep
    if not keep:
        return SqliteClaim([], len(claimed) >= spec.limit, decided.capped, any_fifo)
    db.execute(
        sqlite_sql.LEASE_SQLITE,
        (spec.lease_until, spec.lease, now, _json_list([r.id for r in keep])),
    )
    # Only the kept rows' events: payloads of rows left behind are not needed.
    seqs = _json_list(sorted({r.event_seq for r in keep}))
    evs = {
        row[1]: ClaimedEvent(*row) for row in db.execute(sqlite_sql.EVENTS_BY_SEQ_SQLITE, (seqs,))
    }
    jobs = claimed_deliveries(keep, spec.lease, eps, evs)
    return SqliteClaim(jobs, len(claimed) >= spec.limit, decided.capped, any_fifo)


def claimed_deliveries(
    keep: Sequence[Any],
    lease: str,
    eps: Mapping[str, ClaimedEndpoint],
    evs: Mapping[int, ClaimedEvent],
) -> list[ClaimedDelivery]:
    """The kept rows as the dispatcher takes them, sharing one endpoint and one event
    object between the deliveries that carry them."""
    return [
        ClaimedDelivery(
            delivery_id=r.id,
            lease=lease,
            attempt_count=r.attempt_count,
            attempt_limit=r.attempt_limit,
            endpoint=eps[r.endpoint_id],
            event=evs[r.event_seq],
        )
        for r in keep
    ]


def _endpoints_sqlite(
    db: sqlite3.Connection, box: SecretBox | None, ids: set[str]
) -> dict[str, ClaimedEndpoint]:
    """:meth:`~hookpost.store._queue.QueueMixin._endpoints_for_delivery` over ``sqlite3``:
    each row as SQLAlchemy's types would read it (JSON decoded, booleans)."""
    cur = db.execute(sqlite_sql.ENDPOINTS_BY_ID_SQLITE, (_json_list(sorted(ids)),))
    names = [c[0] for c in cur.description]
    rows: list[dict[str, Any]] = []
    for values in cur:
        row = dict(zip(names, values, strict=True))
        for name in _ENDPOINT_JSON:
            if row[name] is not None:
                row[name] = json.loads(row[name])
        row["enabled"] = bool(row["enabled"])
        rows.append(row)
    custom: dict[tuple[str, str], Any] = {}
    projects = custom_projects(rows)
    if projects:
        found = db.execute(sqlite_sql.CUSTOM_PROFILES_SQLITE, (_json_list(projects),))
        custom = {(pid, name): json.loads(definition) for pid, name, definition in found}
    return endpoints_for_delivery(box, rows, custom)
