"""Dashboard list queries on a big PostgreSQL database (issue 4).

1. creates a fresh database (on the server ``pg_admin_url`` points at) and runs
   ``hookpost migrate`` on it;
2. seeds it with server-side SQL run by ``psql`` (``INSERT ... SELECT
   generate_series``): a few projects of unequal size, ~100 endpoints,
   ``events`` events over the last 30 days with ids in hookpost's format
   (``msg_``/``dlv_`` + 26 time-ordered characters), ``fanout`` deliveries per
   event with mixed statuses (mostly succeeded; failed after 8 attempts; recent
   ones pending or delivering; some held) and one attempt row per attempt made
   (request headers and body as sent, response, duration, error) -- about 1.5
   attempts per delivery. The secondary indexes the migrations made are
   dropped for the load and recreated from their own definitions afterwards
   (checked identical; partial ones stay), then ``VACUUM ANALYZE``;
3. times the store's own query methods, ``runs`` times each with random
   filters after a warm-up: deliveries by status, deliveries by endpoint (first
   page and a page further down via a cursor), all deliveries, and one
   delivery with its attempts;
4. ``EXPLAIN (ANALYZE, BUFFERS)`` of the exact SQL of each kind's slowest run;
5. table and index sizes, rows and bytes per row; drops the database (unless
   ``keep``).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from benchmarks._meters import (
    GroupCpuMeter,
    machine_info,
    percentile,
)
from benchmarks._procs import (
    run_migrate,
)
from benchmarks.harness import (
    _fmt,
    wide_console,
)
from benchmarks.scale import (
    DEFAULT_PG_ADMIN_URL,
    create_pg_database,
    drop_pg_database,
    postgres_pids,
)

TARGET_P95_MS = 50.0
DAY = 86400.0
#: Relative sizes of the projects (events and endpoints are shared out in these proportions).
PROJECT_WEIGHTS = (8, 5, 4, 2, 1)
EVENT_TYPES = (
    "invoice.paid",
    "invoice.created",
    "invoice.payment_failed",
    "customer.created",
    "customer.updated",
    "charge.succeeded",
    "charge.refunded",
    "subscription.renewed",
)
STATUSES = ("succeeded", "failed", "pending", "held", "delivering")
SEED_TABLES = ("events", "deliveries", "attempts")


def _project_id(p: str) -> str:
    return f"'proj_' || upper(substr(md5('bench-project-' || {p}), 1, 26))"


def _endpoint_id(p: str, pos: str) -> str:
    return f"'ep_' || upper(substr(md5('bench-endpoint-' || {p} || '-' || {pos}), 1, 26))"


def _payload(i: str) -> str:
    """The JSON of event number ``i`` (~0.5 KB, invoice-like), as an SQL expression."""
    parts = [
        '{"object":"invoice","id":"in_',
        f"' || {i} || '",
        '","amount_due":',
        f"' || (1000 + {i} % 9000) || '",
        ',"currency":"usd","customer":{"id":"cus_',
        f"' || ({i} % 997) || '",
        '","email":"user',
        f"' || ({i} % 997) || '",
        '@example.com"},"lines":[{"sku":"sku-1","qty":1,"unit_amount":250},',
        '{"sku":"sku-2","qty":2,"unit_amount":500}],"note":"',
        f"' || repeat(md5(({i})::text), 8) || '",
        '"}',
    ]
    return "'" + "".join(parts) + "'"


def seed_sql(*, events: int, endpoints: int, fanout: int, t_end: float) -> str:
    """The psql script that fills a migrated, empty database."""
    weights = PROJECT_WEIGHTS
    total_w = sum(weights)
    n_ep = [max(fanout, round(endpoints * w / total_w)) for w in weights]
    shape_rows = []
    w_lo = 0
    for p, (w, n) in enumerate(zip(weights, n_ep, strict=True)):
        shape_rows.append(f"({p}, {n}, {w_lo}, {w_lo + w - 1})")
        w_lo += w
    t_start = t_end - 30 * DAY
    span = t_end - t_start
    types = "ARRAY[" + ",".join(f"'{t}'" for t in EVENT_TYPES) + "]"
    # r: a per-delivery pseudo-random number in [0, 1000) that picks the status.
    r = "((ev.seq * 7919 + k * 104729) % 1000)"
    recent = f"(ev.created_at > {t_end - DAY})"
    status = f"""CASE
            WHEN ev.seq > {events} - 300 AND {r} >= 960 THEN 'delivering'
            WHEN {r} < 880 OR {r} >= 960 THEN 'succeeded'
            WHEN {r} < 910 THEN 'failed'
            WHEN {r} < 930 THEN CASE WHEN {recent} THEN 'pending' ELSE 'failed' END
            ELSE 'held' END"""
    return f"""\\set ON_ERROR_STOP on
SET synchronous_commit = off;
SET work_mem = '256MB';
BEGIN;
CREATE TEMP TABLE shape (p int, n_ep int, w_lo int, w_hi int, pid text) ON COMMIT DROP;
INSERT INTO shape (p, n_ep, w_lo, w_hi) VALUES {", ".join(shape_rows)};
UPDATE shape SET pid = {_project_id("p")};

INSERT INTO projects (id, name, created_at)
SELECT pid, 'bench project ' || p, {t_start - 60 * DAY} FROM shape;

INSERT INTO endpoints (id, project_id, url, description, event_types, profile, secret,
                       old_secrets, headers, enabled, created_at, updated_at)
SELECT {_endpoint_id("s.p", "e")}, s.pid,
       'https://hooks.example.com/' || s.p || '/' || e, 'bench endpoint ' || e, '[]',
       'standard', 'whsec_' || md5('secret-' || s.p || '-' || e), '[]', '{{}}', true,
       {t_start - 60 * DAY}, {t_start - 60 * DAY}
  FROM shape s CROSS JOIN generate_series(0, s.n_ep - 1) e;

\\echo events
INSERT INTO events (project_id, id, event_type, payload, created_at)
SELECT s.pid,
       'msg_' || lpad(upper(to_hex((t.ts * 1000)::bigint)), 12, '0')
              || upper(substr(md5('event-' || i), 1, 14)),
       ({types})[1 + i % {len(EVENT_TYPES)}],
       {_payload("i")},
       t.ts
  FROM generate_series(0, {events - 1}) i
 CROSS JOIN LATERAL (SELECT {t_start} + i * {span / events} AS ts) t
  JOIN shape s ON i % {total_w} BETWEEN s.w_lo AND s.w_hi
 ORDER BY i;

\\echo deliveries
INSERT INTO deliveries (id, project_id, event_seq, event_id, event_type, endpoint_id, status,
                        attempt_count, next_attempt_at, lease, last_status_code, last_error,
                        created_at, updated_at)
SELECT 'dlv_' || lpad(upper(to_hex((ev.created_at * 1000)::bigint)), 12, '0')
              || upper(substr(md5('delivery-' || ev.seq || '-' || k), 1, 14)),
       ev.project_id, ev.seq, ev.id, ev.event_type,
       {_endpoint_id("s.p", "((ev.seq * 7 + k * 3) % s.n_ep)")},
       x.status,
       CASE x.status
            WHEN 'succeeded' THEN 1 + ({r} % 5 = 0)::int
            WHEN 'failed' THEN 8
            WHEN 'pending' THEN 1 + {r} % 3
            WHEN 'held' THEN 1
            ELSE 0 END,
       CASE x.status
            WHEN 'pending' THEN {t_end} + 60 * (1 + {r} % 120)
            WHEN 'delivering' THEN {t_end} + 90
            ELSE NULL END,
       CASE WHEN x.status = 'delivering' THEN md5('lease-' || ev.seq) ELSE NULL END,
       CASE x.status WHEN 'succeeded' THEN 200 WHEN 'delivering' THEN NULL ELSE 503 END,
       CASE WHEN x.status IN ('failed', 'pending', 'held') THEN 'unsuccessful status 503'
            ELSE NULL END,
       ev.created_at,
       ev.created_at + CASE x.status WHEN 'failed' THEN 27 * 3600 ELSE 1 END
  FROM events ev
  JOIN shape s ON s.pid = ev.project_id
 CROSS JOIN generate_series(0, {fanout - 1}) k
 CROSS JOIN LATERAL (SELECT {status} AS status) x;

\\echo attempts
INSERT INTO attempts (delivery_id, number, started_at, url, request_headers, request_body,
                      status_code, response_headers, response_body, duration_ms, error)
SELECT d.id, n, d.created_at + (n - 1) * 300, e.url,
       json_build_object(
           'Content-Type', 'application/json',
           'User-Agent', 'hookpost/0.1',
           'webhook-id', d.event_id,
           'webhook-timestamp', ((d.created_at + (n - 1) * 300)::bigint)::text,
           'webhook-signature',
           'v1,' || encode(decode(md5(d.id || n) || md5(n || d.id), 'hex'), 'base64')),
       {_payload("(d.event_seq - 1)")},
       c.code,
       CASE WHEN c.code IS NULL THEN NULL
            ELSE json_build_object('content-type', 'text/plain', 'content-length', '2') END,
       CASE WHEN c.code = 200 THEN 'ok' WHEN c.code IS NULL THEN NULL
            ELSE 'Service Unavailable' END,
       CASE WHEN c.code IS NULL THEN 15000.0 ELSE 20 + (d.event_seq * 31 + n) % 480 END,
       CASE WHEN c.code IS NULL THEN 'timed out after 15.0 s'
            WHEN c.code <> 200 THEN 'unsuccessful status ' || c.code ELSE NULL END
  FROM deliveries d
  JOIN endpoints e ON e.id = d.endpoint_id
 CROSS JOIN LATERAL generate_series(1, d.attempt_count) n
 CROSS JOIN LATERAL (SELECT CASE
        WHEN d.status = 'succeeded' AND n = d.attempt_count THEN 200
        WHEN n % 3 = 0 THEN NULL
        ELSE 503 END AS code) c;
COMMIT;
"""


async def _secondary_indexes(url: str) -> list[tuple[str, str]]:
    """(name, definition) of the seeded tables' full indexes that back no constraint.

    Partial indexes stay (they hold the few open deliveries, cheap to maintain,
    and PostgreSQL deparses a recreated one's predicate differently).
    """
    import asyncpg

    conn = await asyncpg.connect(url, timeout=10)
    try:
        rows = await conn.fetch(
            """
            SELECT i.indexname, i.indexdef FROM pg_indexes i
             WHERE i.schemaname = 'public' AND i.tablename = ANY($1::text[])
               AND i.indexdef NOT LIKE '% WHERE %'
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                                WHERE c.conindid = (quote_ident(i.indexname))::regclass)
             ORDER BY i.indexname
            """,
            list(SEED_TABLES),
        )
    finally:
        await conn.close()
    return [(r["indexname"], r["indexdef"]) for r in rows]


async def _execute_all(url: str, statements: list[str], timeout: float = 3600) -> None:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=10)
    try:
        for sql in statements:
            await conn.execute(sql, timeout=timeout)
    finally:
        await conn.close()


async def _fetch(url: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=10)
    try:
        return [dict(r) for r in await conn.fetch(sql, *args, timeout=600)]
    finally:
        await conn.close()


def seed(url: str, *, events: int, endpoints: int, fanout: int, console: Any) -> dict[str, Any]:
    """Fill the database; how long each step took."""
    steps: dict[str, float] = {}
    indexes = asyncio.run(_secondary_indexes(url))
    t = time.monotonic()
    asyncio.run(_execute_all(url, [f'DROP INDEX "{name}"' for name, _ in indexes]))
    sql = seed_sql(events=events, endpoints=endpoints, fanout=fanout, t_end=time.time())
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as fh:
        fh.write(sql)
        script = fh.name
    console.print(
        f"seeding {events:,} events x {fanout} deliveries with psql "
        f"({len(indexes)} secondary indexes dropped for the load) ..."
    )
    try:
        t = time.monotonic()
        subprocess.run(
            ["psql", "-X", "-q", "-d", url, "-f", script],
            check=True,
            timeout=3600,
        )
        steps["insert_seconds"] = round(time.monotonic() - t, 1)
    finally:
        os.unlink(script)
    console.print(f"recreating {len(indexes)} indexes ...")
    t = time.monotonic()
    asyncio.run(_execute_all(url, ["SET maintenance_work_mem = '1GB'", *(d for _, d in indexes)]))
    steps["index_seconds"] = round(time.monotonic() - t, 1)
    again = asyncio.run(_secondary_indexes(url))
    if again != indexes:
        raise RuntimeError(f"the recreated indexes differ: {set(again) ^ set(indexes)}")
    console.print("VACUUM ANALYZE ...")
    t = time.monotonic()
    asyncio.run(_execute_all(url, ["VACUUM ANALYZE"]))
    steps["vacuum_analyze_seconds"] = round(time.monotonic() - t, 1)
    return steps


async def _sizes(url: str) -> dict[str, Any]:
    rows = await _fetch(
        url,
        """
        SELECT c.relname AS table, c.reltuples::bigint AS rows_estimate,
               pg_relation_size(c.oid) AS heap_bytes,
               pg_total_relation_size(c.oid) - pg_relation_size(c.oid) - pg_indexes_size(c.oid)
                   AS toast_bytes,
               pg_indexes_size(c.oid) AS index_bytes,
               pg_total_relation_size(c.oid) AS total_bytes
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relname = ANY($1::text[])
        """,
        [*SEED_TABLES, "endpoints", "projects"],
    )
    out: dict[str, Any] = {}
    for r in rows:
        exact = await _fetch(url, f'SELECT count(*) AS n FROM "{r["table"]}"')
        n = int(exact[0]["n"])
        out[r["table"]] = {
            "rows": n,
            "heap_mb": round(r["heap_bytes"] / 2**20, 1),
            "toast_mb": round(r["toast_bytes"] / 2**20, 1),
            "index_mb": round(r["index_bytes"] / 2**20, 1),
            "total_mb": round(r["total_bytes"] / 2**20, 1),
            "bytes_per_row": round(r["total_bytes"] / n) if n else None,
        }
    statuses = await _fetch(
        url, "SELECT status, count(*) AS n FROM deliveries GROUP BY status ORDER BY n DESC"
    )
    out["delivery_statuses"] = {s["status"]: int(s["n"]) for s in statuses}
    per_project = await _fetch(
        url,
        "SELECT project_id, count(*) AS n FROM deliveries GROUP BY project_id ORDER BY n DESC",
    )
    out["deliveries_per_project"] = [int(p["n"]) for p in per_project]
    db = await _fetch(url, "SELECT pg_database_size(current_database()) AS b")
    out["database_mb"] = round(db[0]["b"] / 2**20, 1)
    return out


class Capture:
    """The SQL and parameters the store sent last (for EXPLAIN)."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, Any]] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, params: Any, *_a: Any) -> None:
        self.statements.append((statement, params))


async def _time_queries(url: str, runs: int, warmup: int, seed_: int) -> dict[str, Any]:
    from sqlalchemy import event

    from hookpost.core.crypto import SecretBox, generate_key
    from hookpost.store import Store, encode_cursor

    rng = random.Random(seed_)
    projects: list[str] = [
        str(r["id"]) for r in await _fetch(url, "SELECT id FROM projects ORDER BY created_at, id")
    ]
    endpoints: dict[str, list[str]] = {}
    for r in await _fetch(url, "SELECT project_id, id FROM endpoints"):
        endpoints.setdefault(r["project_id"], []).append(r["id"])
    # ~4,000 random deliveries (TABLESAMPLE: a uniform sample).
    total = (await _fetch(url, "SELECT count(*) AS n FROM deliveries"))[0]["n"]
    pct = min(100.0, 100.0 * 4000 / max(1, total))
    sample = await _fetch(
        url,
        f"SELECT id, project_id FROM deliveries TABLESAMPLE BERNOULLI ({pct}) REPEATABLE ($1)",
        seed_,
    )
    if not sample:
        raise RuntimeError("no deliveries sampled")
    # A project is picked as often as it has deliveries (a busy tenant looks more).
    weights = {p: 0 for p in projects}
    for d in sample:
        weights[d["project_id"]] += 1

    def project() -> str:
        return rng.choices(projects, weights=[weights[p] or 1 for p in projects])[0]

    def cursor_in(project_id: str) -> str:
        ids = [d["id"] for d in sample if d["project_id"] == project_id]
        return encode_cursor(rng.choice(ids))

    store = Store.from_url(url, box=SecretBox.from_text(generate_key()))
    capture = Capture()
    event.listen(store.engine.sync_engine, "before_cursor_execute", capture)
    kinds: dict[str, Callable[[], Awaitable[Any]]] = {}

    def by_status(paged: bool) -> Callable[[], Awaitable[Any]]:
        def call() -> Awaitable[Any]:
            p = project()
            return store.list_deliveries(
                p,
                limit=50,
                cursor=cursor_in(p) if paged else None,
                status=rng.choice(STATUSES),
            )

        return call

    def by_endpoint(paged: bool) -> Callable[[], Awaitable[Any]]:
        def call() -> Awaitable[Any]:
            p = project()
            return store.list_deliveries(
                p,
                limit=50,
                cursor=cursor_in(p) if paged else None,
                endpoint_id=rng.choice(endpoints[p]),
            )

        return call

    def latest() -> Awaitable[Any]:
        return store.list_deliveries(project(), limit=50, cursor=None)

    def one_delivery() -> Awaitable[Any]:
        d = rng.choice(sample)
        return store.get_delivery(d["project_id"], d["id"])

    kinds["deliveries by status (first page)"] = by_status(False)
    kinds["deliveries by status (cursor page)"] = by_status(True)
    kinds["deliveries by endpoint (first page)"] = by_endpoint(False)
    kinds["deliveries by endpoint (cursor page)"] = by_endpoint(True)
    kinds["latest deliveries (no filter)"] = latest
    kinds["a delivery with its attempts"] = one_delivery

    results: dict[str, Any] = {}
    try:
        for name, call in kinds.items():
            for _ in range(warmup):
                await call()
            timings: list[tuple[float, list[tuple[str, Any]], int]] = []
            for _ in range(runs):
                capture.statements = []
                t = time.perf_counter()
                out = await call()
                ms = (time.perf_counter() - t) * 1000
                rows = len(out.data) if hasattr(out, "data") else len(out.get("attempts", []))
                timings.append((ms, list(capture.statements), rows))
            ms_sorted = sorted(t[0] for t in timings)
            slowest = max(timings, key=lambda t: t[0])
            results[name] = {
                "runs": runs,
                "p50_ms": round(percentile(ms_sorted, 50) or 0, 2),
                "p95_ms": round(percentile(ms_sorted, 95) or 0, 2),
                "p99_ms": round(percentile(ms_sorted, 99) or 0, 2),
                "max_ms": round(ms_sorted[-1], 2),
                "mean_rows": round(sum(t[2] for t in timings) / len(timings), 1),
                "slowest_sql": [(s, list(p) if p else []) for s, p in slowest[1]],
                "target_p95_ms": TARGET_P95_MS,
                "met": (percentile(ms_sorted, 95) or 0) <= TARGET_P95_MS,
            }
    finally:
        await store.close()
    return results


async def _explain(url: str, results: dict[str, Any]) -> None:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=10)
    try:
        for r in results.values():
            plans = []
            for sql, params in r["slowest_sql"]:
                rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *params)
                plans.append("\n".join(row[0] for row in rows))
            r["explain_of_slowest"] = plans
    finally:
        await conn.close()


def main(
    *,
    events: int,
    endpoints: int,
    fanout: int,
    runs: int,
    output: str | None,
    pg_admin_url: str = DEFAULT_PG_ADMIN_URL,
    keep: bool = False,
) -> dict[str, Any]:
    """Seed, time, explain, measure sizes; drop the database (unless ``keep``)."""

    if events < 1 or endpoints < fanout or fanout < 1 or runs < 1:
        raise ValueError("need events >= 1, endpoints >= fanout >= 1, runs >= 1")
    console = wide_console()
    info = machine_info()
    dbname, url = create_pg_database(pg_admin_url, "hookpost_bench_big")
    console.print(f"created database {dbname}")
    try:
        with tempfile.TemporaryDirectory(prefix="hookpost-bench-q-") as tmp:
            env = {
                **os.environ,
                "HOOKPOST_DATABASE_URL": url,
                "HOOKPOST_DATA_DIR": tmp,
                "HOOKPOST_LOG_LEVEL": "warning",
            }
            run_migrate(env)
        t = time.monotonic()
        steps = seed(url, events=events, endpoints=endpoints, fanout=fanout, console=console)
        steps["total_seconds"] = round(time.monotonic() - t, 1)
        sizes = asyncio.run(_sizes(url))
        console.print(f"seeded: {json.dumps(sizes)}")
        console.print(f"timing {runs} runs of each query ...")
        meter = GroupCpuMeter({"bench": [os.getpid()], "postgres": postgres_pids})
        queries = asyncio.run(_time_queries(url, runs, warmup=20, seed_=secrets.randbelow(10**6)))
        timing_cpu = meter.read()
        asyncio.run(_explain(url, queries))
        settings = asyncio.run(
            _fetch(
                url,
                "SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1::text[])",
                ["shared_buffers", "work_mem", "effective_cache_size", "random_page_cost"],
            )
        )
        version = str(asyncio.run(_fetch(url, "SELECT version() AS v"))[0]["v"])
    finally:
        if keep:
            console.print(f"kept database {dbname}: {url}")
        else:
            drop_pg_database(pg_admin_url, dbname)
            console.print(f"dropped database {dbname}")
    report = {
        "command": " ".join(sys.argv),
        "machine": info,
        "postgres": {"version": version, "settings": settings},
        "config": {"events": events, "endpoints": endpoints, "fanout": fanout, "runs": runs},
        "seed": steps,
        "sizes": sizes,
        "queries": queries,
        "timing_cpu": timing_cpu,
        "all_met": all(q["met"] for q in queries.values()),
    }
    _print(console, report)
    if output:
        Path(output).write_text(json.dumps(report, indent=2, default=str) + "\n")
        console.print(f"results written to {output}")
    return report


def _print(console: Any, report: dict[str, Any]) -> None:
    from rich.table import Table

    m = report["machine"]
    sz = report["sizes"]
    table = Table(
        title=f"dashboard queries - {sz['events']['rows']:,} events, "
        f"{sz['deliveries']['rows']:,} deliveries, {sz['attempts']['rows']:,} attempts - "
        f"{m['nproc']} cores, {m['cpu_model']}"
    )
    for col in ("query", "runs", "p50 ms", "p95 ms", "p99 ms", "max ms", "rows", "p95 <= 50"):
        table.add_column(col, justify="left" if col == "query" else "right")
    for name, q in report["queries"].items():
        table.add_row(
            name,
            str(q["runs"]),
            _fmt(q["p50_ms"]),
            _fmt(q["p95_ms"]),
            _fmt(q["p99_ms"]),
            _fmt(q["max_ms"]),
            _fmt(q["mean_rows"]),
            "[green]met[/green]" if q["met"] else "[red]MISSED[/red]",
        )
    console.print(table)
