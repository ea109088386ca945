"""The hot-path scenario (issue 15): hookpost against what this machine allows, in one run.

``python -m benchmarks hotpath``. Every target is a ratio to a reference measured
in the same run, so a slow moment of a shared machine moves both sides:

- **R_route**: :mod:`benchmarks.reference_route`, the least a durable publish
  route can do (FastAPI + hookpost's ``EventIn`` + group commit into SQLite, WAL,
  ``synchronous=FULL``), and the same route without the database;
- **R_bare**: a bare aiohttp loop sending the same signed requests to the same
  receiver (concurrency 32);
- **R_limit** = 1 / (1/R_route + 1/R_bare): the most one process can do if it
  must both accept and send each event.

Then hookpost, four stacks in turn (each with its own receiver and database):

1. SQLite ``serve --no-workers``: publish ev/s at fan-out 1 (32 publishers), one
   publish at a time over a keep-alive connection (p50), batch publish ev/s;
2. SQLite ``serve`` (the ``make run`` layout): end to end at fan-out 1 and 10,
   and publish->receipt latency at ``rate`` ev/s offered;
3. PostgreSQL ``serve --no-workers``: publish ev/s, one at a time, then two
   ``hookpost worker`` processes draining a fan-out-10 backlog.

Nothing may be lost or duplicated: the receiver counts each (path, webhook-id)
once and the API must list every event and delivery (succeeded where
delivered). Each target prints one pass/miss line with its ratio; the serve
processes' peak RSS is target 8. Sizes are flags (``--help``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp

from benchmarks._meters import (
    RssSampler,
    machine_info,
    percentile,
    proc_status,
)
from benchmarks._peers import (
    PAYLOAD_BYTES,
)
from benchmarks._procs import (
    _IMPORTABLE,
    Procs,
    _python,
    _wait_port,
    free_port,
    stop_process,
)
from benchmarks.core import _ceiling_run, _latency_run, _throughput
from benchmarks.harness import (
    HTTP_TIMEOUT,
    PUBLISH_CONCURRENCY,
    Ctx,
    Stack,
    _bodies,
    _fmt,
    _setup_project,
    _wait_http,
    list_ids,
    open_ctx,
    publish_burst,
    start_stack,
    wide_console,
    write_report,
)
from benchmarks.scale import (
    DEFAULT_PG_ADMIN_URL,
    Run,
    _drain,
    create_pg_database,
    drop_pg_database,
)


@dataclass
class Sizes:
    events: int = 3000  # per publish burst (fan-out 1), and on PostgreSQL
    e2e_events: int = 2000  # per end-to-end run (fan-out 1 and 10)
    rate: int = 500  # ev/s offered in the latency run
    sequential: int = 300  # publishes one at a time
    batch_events: int = 20_000  # events sent through the batch endpoint
    batch_size: int = 500
    postgres: bool = True
    baseline: str | None = None  # another tree's src: publish figures before/after
    #: Which parts run: "publish" (SQLite serve --no-workers, with R_route), "e2e"
    #: (SQLite serve, with R_bare), "pg"; a target whose figures were not measured is left out.
    parts: tuple[str, ...] = ("publish", "e2e", "pg")


# -- the references --------------------------------------------------------------


def _start_reference(procs: Procs, port: int, db: str) -> subprocess.Popen[bytes]:
    code = "from benchmarks.reference_route import main; main(int(sys.argv[1]), sys.argv[2])"
    proc = subprocess.Popen(_python(_IMPORTABLE + code, str(port), db))
    return procs.add("reference route", proc)


async def _reference(ctx: Ctx, procs: Procs, tmp: str, n: int, durable: bool) -> dict[str, Any]:
    """Publish ``n`` events to the reference route; count what it stored."""
    port = free_port()
    db = f"{tmp}/reference-{secrets.token_hex(3)}.db" if durable else ""
    proc = _start_reference(procs, port, db)
    try:
        _wait_port(port, 60, proc, "reference route")
        bodies = _bodies(f"ref{int(durable)}", n)
        burst = await publish_burst(ctx, f"http://127.0.0.1:{port}/events", "-", bodies)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    stored = n
    if durable:
        with contextlib.closing(sqlite3.connect(db)) as conn:
            stored = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    return {
        "scenario": "R_route" if durable else "R_route without the database",
        "events": n,
        "accepted_per_s": burst.rate,
        "failed": burst.failed,
        "errors": dict(burst.errors),
        "stored": stored,
        "complete": burst.failed == 0 and stored == n,
    }


# -- hookpost, publish only ------------------------------------------------------


async def _listed(ctx: Ctx, pid: str, key: str, n: int, deliveries: int) -> dict[str, Any]:
    """Through the API: ``n`` distinct events and ``deliveries`` pending deliveries; then
    the project is deleted, so no worker started later delivers its backlog."""
    events = await list_ids(ctx, f"/api/v1/projects/{pid}/events", key)
    pending = await list_ids(ctx, f"/api/v1/projects/{pid}/deliveries?status=pending", key)
    await ctx.api("DELETE", f"/api/v1/projects/{pid}", ctx.admin_token, expect=204)
    return {
        "events_listed": len(set(events)),
        "deliveries_listed": len(set(pending)),
        "ok": len(events) == len(set(events)) == n and len(set(pending)) == deliveries,
    }


async def _publish(ctx: Ctx, n: int, label: str) -> dict[str, Any]:
    """32 publishers, fan-out 1, no worker running: the API's publish rate."""
    name = f"pub-{secrets.token_hex(3)}"
    pid, key = await _setup_project(ctx, name, 1)
    with RssSampler(ctx.serve_pid) as rss:
        burst = await publish_burst(
            ctx, f"{ctx.base}/api/v1/projects/{pid}/events", key, _bodies(name, n)
        )
    verify = await _listed(ctx, pid, key, n, n)
    return {
        "scenario": label,
        "events": n,
        "publish_rate": burst.rate,
        "failed_publishes": burst.failed,
        "publish_errors": dict(burst.errors),
        "serve_peak_rss_mb": round(rss.peak / 2**20, 1),
        "verify": verify,
        "complete": burst.failed == 0 and verify["ok"],
    }


async def _one_at_a_time(ctx: Ctx, n: int, label: str) -> dict[str, Any]:
    """One publish at a time over one keep-alive connection: the p50 a lone client sees."""
    name = f"seq-{secrets.token_hex(3)}"
    pid, key = await _setup_project(ctx, name, 1)
    url = f"{ctx.base}/api/v1/projects/{pid}/events"
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    warmup = min(20, n)
    ms: list[float] = []
    statuses: Counter[int] = Counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        for i, (_eid, body) in enumerate(_bodies(name, n + warmup)):
            t = time.perf_counter()
            async with session.post(url, data=body, headers=headers, timeout=HTTP_TIMEOUT) as r:
                await r.read()
            statuses[r.status] += 1
            if i >= warmup:
                ms.append((time.perf_counter() - t) * 1000)
    ms.sort()
    verify = await _listed(ctx, pid, key, n + warmup, n + warmup)
    return {
        "scenario": label,
        "events": n,
        "p50_ms": round(percentile(ms, 50) or 0.0, 3),
        "p99_ms": round(percentile(ms, 99) or 0.0, 3),
        "statuses": {str(k): v for k, v in statuses.items()},
        "verify": verify,
        "complete": statuses[202] == n + warmup and verify["ok"],
    }


async def _batch(ctx: Ctx, n: int, size: int) -> dict[str, Any]:
    """``n`` events through ``POST .../events/batch``, ``size`` a request, 4 at a time."""
    name = f"batch-{secrets.token_hex(3)}"
    pid, key = await _setup_project(ctx, name, 1)
    url = f"{ctx.base}/api/v1/projects/{pid}/events/batch"
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    events = [json.loads(body) for _eid, body in _bodies(name, n)]
    chunks = [events[i : i + size] for i in range(0, n, size)]
    items: Counter[str] = Counter()
    http: Counter[int] = Counter()

    async def sender(session: aiohttp.ClientSession) -> None:
        while chunks:
            chunk = chunks.pop()
            body = json.dumps({"events": chunk}, separators=(",", ":")).encode()
            async with session.post(url, data=body, headers=headers, timeout=HTTP_TIMEOUT) as r:
                http[r.status] += 1
                if r.status == 200:
                    for item in (await r.json())["data"]:
                        items[str(item["status"])] += 1

    # A session of its own: a connection left idle past the server's keep-alive
    # would be closed under the first batch (a POST is not retried).
    async with aiohttp.ClientSession() as session:
        t0 = time.perf_counter()
        with RssSampler(ctx.serve_pid) as rss:
            await asyncio.gather(*(sender(session) for _ in range(4)))
    seconds = time.perf_counter() - t0
    available = http[200] > 0
    verify = await _listed(ctx, pid, key, n, n) if available else {"ok": False}
    return {
        "scenario": f"batch publish, {size} a request",
        "events": n,
        "available": available,
        "http_statuses": {str(k): v for k, v in http.items()},
        "item_statuses": dict(items),
        "publish_rate": round(items["202"] / seconds, 1) if available else None,
        "serve_peak_rss_mb": round(rss.peak / 2**20, 1),
        "verify": verify,
        "complete": items["202"] == n and verify["ok"],
    }


# -- the stacks --------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _hookpost(
    procs: Procs,
    console: Any,
    tmp: str,
    url: str,
    args: list[str],
    rss: list[float],
    source: str | None = None,
) -> AsyncIterator[tuple[Ctx, Stack]]:
    """One hookpost stack for a part of the run, stopped after it; its serve's VmHWM
    goes into ``rss``. ``source``: a ``src`` folder to run hookpost from instead."""
    from hookpost.core.crypto import generate_key

    sub = tempfile.mkdtemp(dir=tmp)
    stack = start_stack(
        procs,
        sub,
        url,
        args,
        HOOKPOST_SECRET_KEY=generate_key(),
        HOOKPOST_SQLITE_SYNCHRONOUS="FULL",
        PYTHONPATH=source or os.environ.get("PYTHONPATH", ""),
    )
    console.print(f"hookpost {' '.join(args)}, pid {stack.serve.pid}, {url.split(':')[0]}")
    try:
        async with open_ctx(stack, console) as ctx:
            await _wait_http(ctx, ctx.base + "/healthz", 60, ctx.check_alive)
            yield ctx, stack
    finally:
        rss.append(round((proc_status(stack.serve.pid, "VmHWM") or 0) / 2**20, 1))
        stop_process(stack.serve)
        stop_process(stack.receiver)


async def _run(sizes: Sizes, procs: Procs, console: Any, tmp: str, pg_url: str | None) -> Any:
    out: dict[str, Any] = {}
    rss: list[float] = []
    # 1. SQLite serve --no-workers, with the reference routes beside it.
    no_workers = ["serve", "--no-workers"]
    if "publish" in sizes.parts:
        await _publish_part(sizes, procs, console, tmp, out, rss)
    # 2. SQLite serve (API + workers): the bare sender, end to end, latency.
    if "e2e" in sizes.parts:
        async with _hookpost(procs, console, tmp, f"sqlite:///{tmp}/b.db", ["serve"], rss) as (
            ctx,
            _,
        ):
            out["r_bare"] = await _ceiling_run(
                ctx, procs, sizes.e2e_events, 10, PUBLISH_CONCURRENCY
            )
            out["e2e_1"] = await _throughput(ctx, 1, sizes.e2e_events)
            out["e2e_10"] = await _throughput(ctx, 10, sizes.e2e_events)
            out["latency"] = await _latency_run(ctx, sizes.rate)
            if sizes.baseline:
                out["latency_baseline"] = await _latency_baseline(sizes, procs, console, tmp, ctx)
    # 3. PostgreSQL serve --no-workers, then two workers draining fan-out 10.
    if pg_url is not None and "pg" in sizes.parts:
        async with _hookpost(procs, console, tmp, pg_url, no_workers, rss) as (ctx, stack):
            out["publish_pg"] = await _publish(ctx, sizes.events, "publish, PostgreSQL, fan-out 1")
            out["one_at_a_time_pg"] = await _one_at_a_time(ctx, sizes.sequential, "PostgreSQL")
            run = Run(ctx, procs, stack.env, pg_url, None)
            out["pg_workers_10"] = await _drain(run, 2, sizes.e2e_events, 10, profile=False)
    out["serve_vm_hwm_mb"] = rss
    return out


async def _publish_part(
    sizes: Sizes, procs: Procs, console: Any, tmp: str, out: dict[str, Any], rss: list[float]
) -> None:
    """1. SQLite serve --no-workers, with the reference routes beside it."""
    no_workers = ["serve", "--no-workers"]
    async with _hookpost(procs, console, tmp, f"sqlite:///{tmp}/a.db", no_workers, rss) as (
        ctx,
        _,
    ):
        out["r_route"] = await _reference(ctx, procs, tmp, sizes.events, durable=True)
        out["r_route_no_db"] = await _reference(ctx, procs, tmp, sizes.events, durable=False)
        if sizes.baseline:
            out["baseline"] = await _baseline(sizes, procs, console, tmp, ctx)
            after = out["baseline"]["after"]
            out["publish_sqlite"] = after["publish"]
            out["one_at_a_time_sqlite"] = after["one_at_a_time"]
            out["batch_sqlite"] = after["batch"]
        else:
            out["publish_sqlite"] = await _publish(ctx, sizes.events, "publish, SQLite, fan-out 1")
            out["one_at_a_time_sqlite"] = await _one_at_a_time(ctx, sizes.sequential, "SQLite")
            out["batch_sqlite"] = await _batch(ctx, sizes.batch_events, sizes.batch_size)


async def _baseline(sizes: Sizes, procs: Procs, console: Any, tmp: str, ctx: Ctx) -> Any:
    """The publish part on this tree and on ``sizes.baseline`` (another tree's ``src``),
    both up at once and measured in turns, twice: before/after ratios in one run."""
    url = f"sqlite:///{tmp}/baseline.db"
    no_workers = ["serve", "--no-workers"]
    rounds: list[dict[str, Any]] = []
    async with _hookpost(procs, console, tmp, url, no_workers, [], sizes.baseline) as (old, _):
        for _round in range(2):
            row: dict[str, Any] = {}
            for name, c in (("before", old), ("after", ctx)):
                row[name] = {
                    "publish": await _publish(c, sizes.events, f"publish, {name}"),
                    "one_at_a_time": await _one_at_a_time(c, sizes.sequential, name),
                    "batch": await _batch(c, sizes.batch_events, sizes.batch_size),
                }
            rounds.append(row)

    def figures(part: dict[str, Any]) -> dict[str, Any]:
        return {
            "publish_ev_s": part["publish"]["publish_rate"],
            "one_at_a_time_p50_ms": part["one_at_a_time"]["p50_ms"],
            "batch_ev_s": part["batch"]["publish_rate"],
        }

    table = [{k: figures(row[k]) for k in ("before", "after")} for row in rounds]
    complete = all(p["complete"] for row in rounds for part in row.values() for p in
                   part.values() if p.get("available", True))  # fmt: skip
    return {
        "scenario": "before/after, SQLite serve --no-workers",
        "source": sizes.baseline,
        "figures": table,
        "rounds": rounds,
        "after": rounds[-1]["after"],
        "complete": complete,
    }


async def _latency_baseline(
    sizes: Sizes, procs: Procs, console: Any, tmp: str, ctx: Ctx, rounds: int = 3
) -> Any:
    """Publish->receipt at ``sizes.rate`` on this tree and on ``sizes.baseline``, each a
    ``serve`` of its own, both up at once and measured in turns: before/after in one run."""
    url = f"sqlite:///{tmp}/baseline-e2e.db"
    table: list[dict[str, Any]] = []
    complete = True
    async with _hookpost(procs, console, tmp, url, ["serve"], [], sizes.baseline) as (old, _):
        for _round in range(rounds):
            row: dict[str, Any] = {}
            for name, c in (("before", old), ("after", ctx)):
                lat = await _latency_run(c, sizes.rate)
                complete = complete and lat["complete"]
                row[name] = {
                    k: lat[k]
                    for k in ("latency_p50_ms", "latency_p90_ms", "latency_p99_ms",
                              "latency_max_ms", "publish_api_p50_ms", "publish_api_p99_ms",
                              "answer_to_receipt_p50_ms", "answer_to_receipt_p99_ms",
                              "serve_cpu_util", "other_cpu_util")
                }  # fmt: skip
            table.append(row)
    return {
        "scenario": f"before/after, publish->receipt at {sizes.rate} ev/s",
        "source": sizes.baseline,
        "figures": table,
        "complete": complete,
    }


# -- the targets -------------------------------------------------------------------


#: A target's printed verdict: ``None`` when its reference was not measured in this run.
VERDICTS: dict[bool | None, str] = {True: "pass", False: "miss", None: "n/a (no reference)"}


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None


def targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per target of issue 15: what was measured, against what, and pass/miss.

    A target whose part did not run (``--parts``) is left out; a ratio target
    whose reference did not run (``--parts e2e`` has R_bare but not R_route, so
    no R_limit) gets ``"pass": None``, printed ``n/a``: it was not judged.
    """
    r_route = r["r_route"]["accepted_per_s"] if "r_route" in r else None
    r_bare = r["r_bare"]["requests_per_s"] if "r_bare" in r else None
    r_limit = 1 / (1 / r_route + 1 / r_bare) if r_route and r_bare else None
    rows: list[dict[str, Any]] = []

    def row(n: str, what: str, got: Any, goal: str, ratio: float | None, ok: bool | None) -> None:
        rows.append(
            {"target": n, "what": what, "measured": got, "goal": goal, "ratio": ratio,
             "pass": None if ok is None else bool(ok)}
        )  # fmt: skip

    def at_least(n: str, what: str, got: float, ref: float | None, share: float, name: str) -> None:
        ratio = _ratio(got, ref)
        ok = None if ref is None else (ratio or 0) >= share
        row(n, what, got, f">= {share} x {name}", ratio, ok)

    if "publish_sqlite" in r:
        at_least("1", "publish ev/s, SQLite, fan-out 1, serve --no-workers",
                 r["publish_sqlite"]["publish_rate"], r_route, 0.6, "R_route")  # fmt: skip
    if "e2e_1" in r:
        at_least("2", "end to end deliveries/s, one serve, fan-out 1",
                 r["e2e_1"]["deliveries_per_s"], r_limit, 0.6, "R_limit")  # fmt: skip
        at_least("3", "end to end deliveries/s, one serve, fan-out 10",
                 r["e2e_10"]["deliveries_per_s"], r_bare, 0.4, "R_bare")  # fmt: skip
        lat = r["latency"]
        p50, p99 = lat["latency_p50_ms"], lat["latency_p99_ms"]
        kept_up = (
            lat["events"] == lat["events_planned"] and lat["publish_rate"] >= 0.9 * lat["rate"]
        )
        row(
            "4",
            f"publish->receipt at {lat['rate']} ev/s offered: p50 / p99 ms",
            f"{p50} / {p99}",
            "<= 10 / <= 50, keeping up",
            None,
            p50 is not None and p99 is not None and p50 <= 10 and p99 <= 50 and kept_up,
        )
    if "one_at_a_time_sqlite" in r:
        s1 = r["one_at_a_time_sqlite"]["p50_ms"]
        row("5a", "one publish at a time, p50 ms, SQLite", s1, "<= 2 ms", None, s1 <= 2)
    if "publish_pg" in r:
        s2 = r["one_at_a_time_pg"]["p50_ms"]
        row("5b", "one publish at a time, p50 ms, PostgreSQL", s2, "<= 3 ms", None, s2 <= 3)
        pg = r["publish_pg"]["publish_rate"]
        row("6a", "publish ev/s, PostgreSQL, serve --no-workers", pg, ">= 1,500", None, pg >= 1500)
        at_least("6b", "two hookpost workers, fan-out 10, deliveries/s",
                 r["pg_workers_10"]["deliveries_per_s"], r_bare, 0.4, "R_bare")  # fmt: skip
    if "batch_sqlite" in r:
        b = r["batch_sqlite"]
        row(
            "7",
            "batch publish ev/s, SQLite",
            b["publish_rate"] if b["available"] else "no endpoint",
            ">= 20,000",
            None,
            (b["publish_rate"] or 0) >= 20_000,
        )
    if r["serve_vm_hwm_mb"]:
        peak = max(r["serve_vm_hwm_mb"])
        row("8", "serve peak RSS MB (every stack)", peak, "<= 150", None, peak <= 150)
    parts = [v for v in r.values() if isinstance(v, dict) and "complete" in v]
    parts = [v for v in parts if v.get("available", True)]
    lost = [p["scenario"] for p in parts if not p["complete"]]
    row(
        "8",
        "nothing lost or duplicated (receiver and API)",
        "all" if not lost else lost,
        "every run complete",
        None,
        not lost,
    )
    return rows


def main(sizes: Sizes, output: str | None, pg_admin_url: str = DEFAULT_PG_ADMIN_URL) -> None:
    """Run every part, print the table and the targets, and write the JSON report."""
    console = wide_console()
    info = machine_info()
    procs = Procs()
    dbname = None
    with tempfile.TemporaryDirectory(prefix="hookpost-bench-hot-") as tmp:
        try:
            pg_url = None
            if sizes.postgres and "pg" in sizes.parts:
                dbname, pg_url = create_pg_database(pg_admin_url, "hookpost_hot")
            results = asyncio.run(_run(sizes, procs, console, tmp, pg_url))
        finally:
            procs.stop_all()
            if dbname is not None:
                drop_pg_database(pg_admin_url, dbname)
    r_route = results["r_route"]["accepted_per_s"] if "r_route" in results else None
    r_bare = results["r_bare"]["requests_per_s"] if "r_bare" in results else None
    report = {
        "command": " ".join(sys.argv),
        "machine": info,
        "config": {
            **sizes.__dict__,
            "payload_bytes": PAYLOAD_BYTES,
            "publish_concurrency": PUBLISH_CONCURRENCY,
        },
        "references": {
            "r_route": r_route,
            "r_route_no_db": results.get("r_route_no_db", {}).get("accepted_per_s"),
            "r_bare": r_bare,
            "r_limit": round(1 / (1 / r_route + 1 / r_bare), 1) if r_route and r_bare else None,
        },
        **results,
        "targets": targets(results),
    }
    _print(console, report)
    write_report(console, report, output)


def _print(console: Any, report: dict[str, Any]) -> None:
    from rich.table import Table

    m, ref = report["machine"], report["references"]
    console.print(
        f"{m['nproc']} cores, {m['cpu_model']}, load {m['load_average_at_start']}, "
        f"hookpost {m['hookpost_revision']}, {m['date_utc']}"
    )
    console.print(
        f"R_route {_fmt(ref['r_route'])} ev/s (without the database {_fmt(ref['r_route_no_db'])}), "
        f"R_bare {_fmt(ref['r_bare'])} req/s, R_limit {_fmt(ref['r_limit'])}/s"
    )
    table = Table(title="issue 15 targets")
    for col in ("#", "what", "measured", "goal", "ratio", ""):
        table.add_column(col, justify="left" if col in ("what", "goal") else "right")
    for t in report["targets"]:
        table.add_row(
            t["target"],
            t["what"],
            _fmt(t["measured"]),
            t["goal"],
            _fmt(t["ratio"]),
            {True: "[green]pass[/green]", False: "[red]miss[/red]"}.get(t["pass"], "n/a"),
        )
    console.print(table)
    for key, what in (("baseline", _publish_round), ("latency_baseline", _latency_round)):
        if key in report:
            for k, row in enumerate(report[key]["figures"], 1):
                console.print(what(k, row["before"], row["after"]), highlight=False)
    for t in report["targets"]:
        verdict = VERDICTS[t["pass"]]
        ratio = f" (ratio {t['ratio']})" if t["ratio"] is not None else ""
        console.print(
            f"target {t['target']}: {verdict}: {t['what']} = {t['measured']}"
            f"{ratio}, goal {t['goal']}",
            highlight=False,
        )


def _publish_round(k: int, b: dict[str, Any], a: dict[str, Any]) -> str:
    return (
        f"round {k}: publish ev/s {b['publish_ev_s']} -> {a['publish_ev_s']} "
        f"(x{_ratio(a['publish_ev_s'], b['publish_ev_s'])}); one at a time p50 ms "
        f"{b['one_at_a_time_p50_ms']} -> {a['one_at_a_time_p50_ms']}; batch ev/s "
        f"{b['batch_ev_s']} -> {a['batch_ev_s']} (x{_ratio(a['batch_ev_s'], b['batch_ev_s'])})"
    )


def _latency_round(k: int, b: dict[str, Any], a: dict[str, Any]) -> str:
    def ms(part: dict[str, Any], *keys: str) -> str:
        return "/".join(str(part[f"{key}_ms"]) for key in keys)

    lat = ("latency_p50", "latency_p90", "latency_p99", "latency_max")
    api = ("publish_api_p50", "publish_api_p99")
    rest = ("answer_to_receipt_p50", "answer_to_receipt_p99")
    return (
        f"latency round {k}: p50/p90/p99/max ms {ms(b, *lat)} -> {ms(a, *lat)}; publish "
        f"answer p50/p99 {ms(b, *api)} -> {ms(a, *api)}; answer to receipt p50/p99 "
        f"{ms(b, *rest)} -> {ms(a, *rest)}; other CPU {b['other_cpu_util']} / "
        f"{a['other_cpu_util']}"
    )
