"""The core scenario: throughput and latency of the core pipeline, on 127.0.0.1 only.

``python -m benchmarks core`` (``hookpost bench`` runs it from a source checkout).

What one run does:

1. starts a fast receiver (aiohttp.web, 200 to any POST) in its own process; it
   records the arrival time and ``webhook-id`` of every request and serves them
   back on ``GET /_bench/dump``;
2. runs ``hookpost migrate`` and ``hookpost serve`` (API + workers, SQLite in a
   temporary directory, ``synchronous=FULL`` unless ``HOOKPOST_SQLITE_SYNCHRONOUS``
   says otherwise) as a subprocess;
3. for each fan-out N: a project with N endpoints, ``n_events`` events of ~1 KB
   published as fast as 32 concurrent publishers can; measures the publish rate,
   deliveries/s sustained (deliveries / first publish to last receipt),
   publish->receipt latency, peak RSS and CPU of the server, then checks that every
   delivery arrived and that the API lists every one as succeeded with its attempt;
4. a latency run: ``rate`` events/s to one endpoint for ~10 s, paced;
5. the ceiling: a bare aiohttp loop in its own process (one shared ClientSession,
   the dispatcher's concurrency) sending the same signed requests to the same
   receiver.

Every wait has a deadline; every subprocess is stopped in ``finally``.
Set ``HOOKPOST_BENCH_PYSPY=<file>`` to attach ``py-spy record`` to the server for the
whole run (raw collapsed stacks if the name ends in ``.txt``, else a flame graph;
``HOOKPOST_BENCH_PYSPY_ARGS`` adds options, default ``--rate 100``).

Every scenario reports ``other_cpu_util``: CPU (in cores) used meanwhile by processes
that are not part of the benchmark. On a 2-core machine anything above ~0.1 means
the figures are depressed by a noisy neighbour; rerun on a quiet machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from typing import Any

from benchmarks._meters import (
    CpuMeter,
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
    _pyspy,
    _python,
)
from benchmarks.harness import (
    LATENCY_RUN_MAX_EVENTS,
    LATENCY_RUN_SECONDS,
    PUBLISH_CONCURRENCY,
    TARGET_DELIVERIES_PER_S,
    TARGET_P50_MS,
    TARGET_P99_MS,
    Ctx,
    Stack,
    _bodies,
    _fmt,
    _latencies,
    _ms,
    _progress,
    _publish_one,
    _setup_project,
    _verify_api,
    _wait_http,
    _wait_received,
    open_ctx,
    publish_and_wait,
    start_stack,
    wide_console,
    write_report,
)


async def _throughput(ctx: Ctx, fanout: int, n_events: int) -> dict[str, Any]:
    name = f"fanout{fanout}-{secrets.token_hex(3)}"
    pid, key = await _setup_project(ctx, name, fanout)
    await ctx.reset_receiver()
    expected = n_events * fanout
    bodies = _bodies(name, n_events)
    url = f"{ctx.base}/api/v1/projects/{pid}/events"
    meter = CpuMeter(ctx.serve_pid, [ctx.receiver_pid, os.getpid()])

    burst, received, rss = await publish_and_wait(
        ctx, f"fan-out {fanout}", url, key, bodies, expected, min_wait=120.0
    )
    sent, t_first, t_published = burst.sent, burst.t_first, burst.t_published
    cpu = meter.read()
    records = await ctx.records()
    lat, dups, unmatched, t_last = _latencies(records, f"/r/{name}/", sent)
    delivered = len(lat)
    span = (t_last - t_first) if t_last else None
    verify = await _verify_api(ctx, pid, key, expected)
    return {
        "scenario": f"throughput, fan-out {fanout}",
        "fanout": fanout,
        "events": n_events,
        "expected_deliveries": expected,
        "received_requests": received,
        "delivered_unique": delivered,
        "duplicates": dups,
        "unmatched": unmatched,
        "failed_publishes": burst.failed,
        "publish_errors": dict(burst.errors),
        "publish_seconds": round(t_published - t_first, 3),
        "publish_rate": burst.rate,
        "span_seconds": None if span is None else round(span, 3),
        "deliveries_per_s": round(delivered / span, 1) if span else None,
        "latency_p50_ms": _ms(percentile(lat, 50)),
        "latency_p99_ms": _ms(percentile(lat, 99)),
        "latency_max_ms": _ms(lat[-1] if lat else None),
        "serve_peak_rss_mb": round(rss.peak / 2**20, 1),
        **cpu,
        "verify": verify,
        "complete": delivered == expected and verify["ok"],
    }


async def _latency_run(ctx: Ctx, rate: int) -> dict[str, Any]:
    name = f"latency{rate}-{secrets.token_hex(3)}"
    pid, key = await _setup_project(ctx, name, 1)
    await ctx.reset_receiver()
    n = max(1, min(LATENCY_RUN_MAX_EVENTS, int(rate * LATENCY_RUN_SECONDS)))
    bodies = _bodies(name, n)
    url = f"{ctx.base}/api/v1/projects/{pid}/events"
    sent: dict[str, float] = {}
    answered: dict[str, float] = {}
    api_ms: list[float] = []
    errors: Counter[str] = Counter()
    failed = 0
    max_lag = 0.0
    sem = asyncio.Semaphore(256)
    tasks: set[asyncio.Task[None]] = set()
    meter = CpuMeter(ctx.serve_pid, [ctx.receiver_pid, os.getpid()])

    with _progress(ctx.console) as progress, RssSampler(ctx.serve_pid) as rss:
        pub_task = progress.add_task(f"latency @{rate}/s: publish", total=n)
        dlv_task = progress.add_task(f"latency @{rate}/s: delivered", total=n)

        async def one(eid: str, body: bytes) -> None:
            nonlocal failed
            try:
                t = time.time()
                sent[eid] = t
                if not await _publish_one(ctx, url, key, body, errors):
                    failed += 1
                answered[eid] = time.time()
                api_ms.append((answered[eid] - t) * 1000)
                progress.advance(pub_task)
            finally:
                sem.release()

        loop = asyncio.get_running_loop()
        t0 = loop.time() + 0.1
        t_first = time.time() + 0.1
        deadline = t0 + LATENCY_RUN_SECONDS * 3 + 30
        for i, (eid, body) in enumerate(bodies):
            due = t0 + i / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            max_lag = max(max_lag, loop.time() - due)
            if loop.time() > deadline:
                break
            await asyncio.wait_for(sem.acquire(), timeout=60)
            task = asyncio.create_task(one(eid, body))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            if i % 100 == 0:
                progress.update(dlv_task, completed=await ctx.received())
        if tasks:
            await asyncio.wait(set(tasks), timeout=60)
        t_published = time.time()
        t_first = min(sent.values(), default=t_first)
        # If the server cannot keep up, the run stops at its deadline with fewer events.
        planned, n = n, len(sent)
        progress.update(dlv_task, total=n)
        received = await _wait_received(
            ctx, n, time.monotonic() + 60, lambda c: progress.update(dlv_task, completed=c)
        )
    cpu = meter.read()
    records = await ctx.records()
    lat, dups, unmatched, t_last = _latencies(records, f"/r/{name}/", sent)
    # The second stage: from the publish's answer to the receipt (claim, send); below
    # zero when the delivery arrived before the client had read its answer.
    after_answer, _, _, _ = _latencies(records, f"/r/{name}/", answered)
    api_ms.sort()
    verify = await _verify_api(ctx, pid, key, n)
    return {
        "scenario": f"latency, {rate} events/s, fan-out 1",
        "fanout": 1,
        "rate": rate,
        "events_planned": planned,
        "events": n,
        "expected_deliveries": n,
        "received_requests": received,
        "delivered_unique": len(lat),
        "duplicates": dups,
        "unmatched": unmatched,
        "failed_publishes": failed,
        "publish_errors": dict(errors),
        "publish_seconds": round(t_published - t_first, 3),
        "publish_rate": round(len(sent) / (t_published - t_first), 1),
        "max_schedule_lag_ms": round(max_lag * 1000, 1),
        "publish_api_p50_ms": _ms(percentile(api_ms, 50)),
        "publish_api_p99_ms": _ms(percentile(api_ms, 99)),
        "answer_to_receipt_p50_ms": _ms(percentile(after_answer, 50)),
        "answer_to_receipt_p99_ms": _ms(percentile(after_answer, 99)),
        "deliveries_per_s": round(len(lat) / (t_last - t_first), 1) if t_last else None,
        "latency_p50_ms": _ms(percentile(lat, 50)),
        "latency_p90_ms": _ms(percentile(lat, 90)),
        "latency_p99_ms": _ms(percentile(lat, 99)),
        "latency_max_ms": _ms(lat[-1] if lat else None),
        "serve_peak_rss_mb": round(rss.peak / 2**20, 1),
        **cpu,
        "verify": verify,
        "complete": len(lat) == n and verify["ok"],
    }


async def _ceiling_run(
    ctx: Ctx, procs: Procs, n_events: int, fanout: int, concurrency: int
) -> dict[str, Any]:
    await ctx.reset_receiver()
    name = f"ceiling-{secrets.token_hex(3)}"
    spec = {
        "urls": [f"{ctx.receiver}/r/{name}/{k}" for k in range(fanout)],
        "events": n_events,
        "concurrency": concurrency,
        "deadline": 300,
    }
    ctx.console.print(
        f"ceiling: bare aiohttp loop, {n_events * fanout} signed requests, "
        f"concurrency {concurrency} ..."
    )

    def spawn_and_wait() -> tuple[int, bytes, bytes]:
        proc = procs.add(
            "ceiling",
            subprocess.Popen(
                _python(
                    _IMPORTABLE
                    + "from benchmarks._peers import run_ceiling; run_ceiling(sys.argv[1])",
                    json.dumps(spec),
                ),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            ),
        )
        out, err = proc.communicate(timeout=360)
        return proc.returncode, out, err

    meter = CpuMeter(ctx.serve_pid, [ctx.receiver_pid, os.getpid()])
    code, out, err = await asyncio.get_running_loop().run_in_executor(None, spawn_and_wait)
    cpu = meter.read()
    if code != 0:
        raise RuntimeError(f"ceiling process failed: {err.decode(errors='replace')[-2000:]}")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    result["received_by_receiver"] = await ctx.received()
    wall = max(1e-9, result["seconds"])
    result["serve_cpu_util"] = cpu["serve_cpu_util"]
    result["bench_and_receiver_cpu_util"] = cpu["bench_and_receiver_cpu_util"]
    # The ceiling process is not one of the meter's pids: take it out of "other".
    result["other_cpu_util"] = round(
        max(0.0, cpu["other_cpu_util"] - result["cpu_seconds"] / wall), 2
    )
    result["scenario"] = f"ceiling: bare aiohttp, concurrency {concurrency}"
    result["fanout"] = fanout
    result["requests_per_s"] = round(result["requests_per_s"], 1)
    return result


async def _run_all(
    stack: Stack, procs: Procs, console: Any, *, n_events: int, fanouts: list[int], rate: int
) -> dict[str, Any]:
    async with open_ctx(stack, console) as ctx:
        await _wait_http(ctx, ctx.base + "/healthz", 60, ctx.check_alive)
        scenarios = []
        for fanout in fanouts:
            scenarios.append(await _throughput(ctx, fanout, n_events))
        latency = await _latency_run(ctx, rate) if rate > 0 else None
        peak_hwm = proc_status(ctx.serve_pid, "VmHWM")
        from hookpost.config import Settings

        concurrency = Settings().delivery_concurrency
        ceiling = await _ceiling_run(ctx, procs, n_events, max(fanouts), concurrency)
        ceiling_publishers = await _ceiling_run(
            ctx, procs, n_events, max(fanouts), PUBLISH_CONCURRENCY
        )
    return {
        "throughput": scenarios,
        "latency": latency,
        "ceiling": ceiling,
        "ceiling_at_publish_concurrency": ceiling_publishers,
        "serve_vm_hwm_mb": None if peak_hwm is None else round(peak_hwm / 2**20, 1),
    }


def main(n_events: int, fanouts: list[int], rate: int, output: str | None) -> None:
    """Run the benchmark and print (and optionally save) the results."""

    if n_events < 1 or not fanouts or any(f < 1 for f in fanouts) or rate < 0:
        raise ValueError("need events >= 1, fan-outs >= 1 and rate >= 0")
    console = wide_console()
    info = machine_info()
    synchronous = os.environ.get("HOOKPOST_SQLITE_SYNCHRONOUS") or "FULL"
    procs = Procs()
    with tempfile.TemporaryDirectory(prefix="hookpost-bench-") as tmp:
        try:
            stack = start_stack(
                procs,
                tmp,
                f"sqlite:///{tmp}/bench.db",
                ["serve"],
                HOOKPOST_SQLITE_SYNCHRONOUS=synchronous,
            )
            console.print(
                f"hookpost serve pid {stack.serve.pid} on {stack.base} "
                f"(SQLite synchronous={synchronous}); receiver pid {stack.receiver.pid} "
                f"on {stack.receiver_url}"
            )
            with _pyspy(procs, stack.serve.pid, console):
                results = asyncio.run(
                    _run_all(
                        stack,
                        procs,
                        console,
                        n_events=n_events,
                        fanouts=fanouts,
                        rate=rate,
                    )
                )
        finally:
            procs.stop_all()
    report = {
        "command": " ".join(sys.argv),
        "machine": info,
        "config": {
            "events": n_events,
            "fanouts": fanouts,
            "rate": rate,
            "payload_bytes": PAYLOAD_BYTES,
            "publish_concurrency": PUBLISH_CONCURRENCY,
            "sqlite_synchronous": synchronous,
        },
        **results,
        "targets": _targets(results),
    }
    _print_report(console, report)
    write_report(console, report, output)


def _targets(results: dict[str, Any]) -> dict[str, Any]:
    best = max(
        (s["deliveries_per_s"] or 0.0 for s in results["throughput"]),
        default=0.0,
    )
    lat = results["latency"] or {}
    ceiling = results["ceiling"]["requests_per_s"] or 0.0
    p50, p99 = lat.get("latency_p50_ms"), lat.get("latency_p99_ms")
    return {
        "best_deliveries_per_s": best,
        "deliveries_per_s_target": TARGET_DELIVERIES_PER_S,
        "deliveries_per_s_met": best >= TARGET_DELIVERIES_PER_S,
        "ceiling_ratio": round(best / ceiling, 3) if ceiling else None,
        "latency_p50_ms": p50,
        "latency_p50_target": TARGET_P50_MS,
        "latency_p50_met": p50 is not None and p50 <= TARGET_P50_MS,
        "latency_p99_ms": p99,
        "latency_p99_target": TARGET_P99_MS,
        "latency_p99_met": p99 is not None and p99 <= TARGET_P99_MS,
        "all_delivered": all(s["complete"] for s in results["throughput"])
        and (not lat or bool(lat.get("complete"))),
    }


def _print_report(console: Any, report: dict[str, Any]) -> None:
    from rich.table import Table

    m = report["machine"]
    table = Table(
        title=f"hookpost bench - {m['nproc']} cores, {m['cpu_model']}, Python {m['python']}, "
        f"SQLite synchronous={report['config']['sqlite_synchronous']}"
    )
    for col in (
        "scenario",
        "deliveries",
        "publish ev/s",
        "deliveries/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "serve RSS MB",
        "serve CPU",
        "other CPU",
        "all delivered+logged",
    ):
        table.add_column(col, justify="left" if col == "scenario" else "right")
    rows = list(report["throughput"])
    if report["latency"]:
        rows.append(report["latency"])
    for s in rows:
        table.add_row(
            s["scenario"],
            f"{s['delivered_unique']:,}/{s['expected_deliveries']:,}",
            _fmt(s["publish_rate"]),
            _fmt(s["deliveries_per_s"]),
            _fmt(s["latency_p50_ms"]),
            _fmt(s["latency_p99_ms"]),
            _fmt(s["latency_max_ms"]),
            _fmt(s["serve_peak_rss_mb"]),
            f"{s['serve_cpu_util'] * 100:.0f}%",
            f"{s['other_cpu_util'] * 100:.0f}%",
            "yes" if s["complete"] else "NO",
        )
    for c in (report["ceiling"], report["ceiling_at_publish_concurrency"]):
        table.add_row(
            c["scenario"],
            f"{c['ok']:,}/{c['requests']:,}",
            "-",
            _fmt(c["requests_per_s"]),
            "-",
            "-",
            "-",
            "-",
            f"{c['serve_cpu_util'] * 100:.0f}%",
            f"{c['other_cpu_util'] * 100:.0f}%",
            "yes" if c["ok"] == c["requests"] == c["received_by_receiver"] else "NO",
        )
    console.print(table)
    t = report["targets"]

    def mark(ok: bool) -> str:
        return "[green]met[/green]" if ok else "[red]MISSED[/red]"

    console.print(
        f"deliveries/s (best): {_fmt(t['best_deliveries_per_s'])} "
        f"(target >= {t['deliveries_per_s_target']:,.0f}) {mark(t['deliveries_per_s_met'])}; "
        f"{_fmt((t['ceiling_ratio'] or 0) * 100)}% of the bare-aiohttp ceiling "
        f"({_fmt(report['ceiling']['requests_per_s'])}/s)"
    )
    console.print(
        f"latency at {report['config']['rate']} ev/s: p50 {_fmt(t['latency_p50_ms'])} ms "
        f"(<= {t['latency_p50_target']:g}) {mark(t['latency_p50_met'])}, "
        f"p99 {_fmt(t['latency_p99_ms'])} ms (<= {t['latency_p99_target']:g}) "
        f"{mark(t['latency_p99_met'])}"
    )
    console.print(f"serve peak RSS (VmHWM): {_fmt(report['serve_vm_hwm_mb'])} MB")
