"""Isolation benchmark (issue 5): do hanging endpoints slow delivery to healthy ones?

One ``hookpost serve`` (API + workers, SQLite, as :mod:`benchmarks.core`) and the
same fast receiver. Two phases, in this order, each on a fresh project of
``endpoints`` endpoints; ``hanging`` of them (spread evenly) have
``timeout_seconds = timeout`` in both phases:

1. all healthy: every endpoint answers 200 at once;
2. hanging: those endpoints point at the receiver's ``/hang/`` path, which
   answers nothing until well after their timeout.

Each phase publishes the same ``n_events`` events of ~1 KB as fast as the
publishers can (every event goes to every endpoint), then waits until every
healthy delivery has arrived. Throughput counts healthy deliveries only:
healthy deliveries / (first publish -> last healthy receipt). The figure of
merit is hanging-phase throughput / all-healthy throughput (target >= 0.9).
Per-second receipt counts show any stall.

A phase lasts ~30 s, and on a shared VM the machine's speed drifts by 10-20 %
within minutes, so one pair of phases is a noisy ratio. ``repeat`` runs the
pair that many times, interleaved (healthy, hanging, healthy, hanging, ...),
and reports each pair's ratio and their mean (the figure of merit: each
pair is measured back to back, so the drift between pairs cancels).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter
from typing import Any

from benchmarks._meters import (
    CpuMeter,
    machine_info,
    percentile,
)
from benchmarks._procs import (
    Procs,
)
from benchmarks.harness import (
    Ctx,
    _bodies,
    _fmt,
    _latencies,
    _ms,
    _setup_project,
    _wait_http,
    open_ctx,
    publish_and_wait,
    start_stack,
    wide_console,
    write_report,
)

TARGET_RATIO = 0.9


def _slow_ks(endpoints: int, hanging: int) -> list[int]:
    """Which endpoint numbers hang: spread evenly over the creation order."""
    if hanging <= 0:
        return []
    step = endpoints / hanging
    return sorted({int(i * step) for i in range(hanging)})


async def _count_status(ctx: Ctx, pid: str, key: str, status: str, most: int) -> int:
    """Deliveries of a project with ``status`` (paged, bounded by ``most``)."""
    n, cursor = 0, None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        q = f"?status={status}&limit=250" + (f"&cursor={cursor}" if cursor else "")
        page = await ctx.api("GET", f"/api/v1/projects/{pid}/deliveries{q}", key)
        n += len(page["data"])
        cursor = page["next_cursor"]
        if not cursor or n >= most:
            break
    return n


async def _phase(
    ctx: Ctx, *, label: str, n_events: int, endpoints: int, hanging: int, timeout: float, hang: bool
) -> dict[str, Any]:
    name = f"iso-{'hang' if hang else 'ok'}-{secrets.token_hex(3)}"
    slow = set(_slow_ks(endpoints, hanging))

    def endpoint(k: int) -> dict[str, Any]:
        if k not in slow:
            return {}
        body: dict[str, Any] = {"timeout_seconds": timeout}
        if hang:
            body["url"] = f"{ctx.receiver}/hang/{name}/{k}"
        return body

    pid, key = await _setup_project(ctx, name, endpoints, endpoint)
    await ctx.reset_receiver()
    healthy = endpoints - (len(slow) if hang else 0)
    expected = n_events * healthy
    bodies = _bodies(name, n_events)
    url = f"{ctx.base}/api/v1/projects/{pid}/events"
    meter = CpuMeter(ctx.serve_pid, [ctx.receiver_pid, os.getpid()])

    burst, received, rss = await publish_and_wait(
        ctx, label, url, key, bodies, expected, delivered_label="healthy delivered", min_wait=180.0
    )
    cpu = meter.read()
    hung = await ctx.hung()
    records = await ctx.records()
    prefix = f"/r/{name}/"
    lat, dups, unmatched, t_last = _latencies(records, prefix, burst.sent)
    span = (t_last - burst.t_first) if t_last else None
    per_second = Counter(int(t - burst.t_first) for p, _i, t in records if p.startswith(prefix))
    seconds = max(per_second, default=-1) + 1
    series = [per_second.get(s, 0) for s in range(seconds)]
    # The middle of the run (not its ramp-up or tail): the slowest full second.
    inner = series[1:-1] if len(series) > 2 else series
    succeeded = await _count_status(ctx, pid, key, "succeeded", expected + n_events * endpoints)
    health: Counter[str] = Counter()
    if hang:
        page = await ctx.api("GET", f"/api/v1/projects/{pid}/endpoints?limit=250", key)
        for ep in page["data"]:
            if ep["url"].startswith(f"{ctx.receiver}/hang/"):
                health[str((ep.get("health") or {}).get("circuit"))] += 1
                # Its retries would load the next phases: disabling holds them.
                await ctx.api(
                    "PATCH", f"/api/v1/projects/{pid}/endpoints/{ep['id']}", key, {"enabled": False}
                )
    return {
        "scenario": label,
        "endpoints": endpoints,
        "hanging_endpoints": len(slow) if hang else 0,
        "slow_endpoint_timeout_seconds": timeout,
        "events": n_events,
        "expected_healthy_deliveries": expected,
        "received_healthy_requests": received,
        "delivered_healthy_unique": len(lat),
        "duplicates": dups,
        "unmatched": unmatched,
        "hanging_requests_sent": hung,
        "hanging_endpoints_circuit_at_end": dict(health),
        "succeeded_listed": succeeded,
        "failed_publishes": burst.failed,
        "publish_errors": dict(burst.errors),
        "publish_seconds": round(burst.t_published - burst.t_first, 3),
        "publish_rate": burst.rate,
        "span_seconds": None if span is None else round(span, 3),
        "healthy_deliveries_per_s": round(len(lat) / span, 1) if span else None,
        "slowest_second": min(inner, default=0),
        "receipts_per_second": series,
        "latency_p50_ms": _ms(percentile(lat, 50)),
        "latency_p99_ms": _ms(percentile(lat, 99)),
        "latency_max_ms": _ms(lat[-1] if lat else None),
        "serve_peak_rss_mb": round(rss.peak / 2**20, 1),
        **cpu,
        "complete": len(lat) == expected and succeeded >= expected,
    }


async def _run(
    ctx: Ctx, n_events: int, endpoints: int, hanging: int, timeout: float, repeat: int
) -> Any:
    await _wait_http(ctx, ctx.base + "/healthz", 60, ctx.check_alive)
    phases = []
    for i in range(repeat):
        for hang in (False, True):
            label = f"{hanging} of {endpoints} hanging" if hang else "all healthy"
            phases.append(
                await _phase(
                    ctx,
                    label=label + (f" #{i + 1}" if repeat > 1 else ""),
                    n_events=n_events,
                    endpoints=endpoints,
                    hanging=hanging,
                    timeout=timeout,
                    hang=hang,
                )
            )
    return phases


def main(
    n_events: int,
    endpoints: int,
    hanging: int,
    timeout: float,
    output: str | None,
    repeat: int = 1,
) -> dict[str, Any]:
    """Run the phases and print (and optionally save) the results."""

    if n_events < 1 or endpoints < 1 or not 0 < hanging < endpoints or timeout < 1:
        raise ValueError("need events >= 1, 0 < hanging < endpoints, timeout >= 1")
    if not 1 <= repeat <= 10:
        raise ValueError("repeat is 1 to 10")
    console = wide_console()
    info = machine_info()
    synchronous = os.environ.get("HOOKPOST_SQLITE_SYNCHRONOUS") or "FULL"
    procs = Procs()
    with tempfile.TemporaryDirectory(prefix="hookpost-bench-iso-") as tmp:
        try:
            stack = start_stack(
                procs,
                tmp,
                f"sqlite:///{tmp}/bench.db",
                ["serve"],
                # Hang well past the timeout, but not forever: every wait is bounded.
                hang_seconds=timeout * 4,
                HOOKPOST_SQLITE_SYNCHRONOUS=synchronous,
            )
            console.print(
                f"hookpost serve pid {stack.serve.pid} on {stack.base} "
                f"(SQLite synchronous={synchronous}); receiver pid {stack.receiver.pid} "
                f"on {stack.receiver_url}"
            )

            async def go() -> Any:
                async with open_ctx(stack, console) as ctx:
                    return await _run(ctx, n_events, endpoints, hanging, timeout, repeat)

            phases = asyncio.run(go())
        finally:
            procs.stop_all()
    rates = [p["healthy_deliveries_per_s"] or 0.0 for p in phases]
    base_rates, hang_rates = rates[0::2], rates[1::2]
    pair_ratios = [
        round(h / b, 3) if b else None for b, h in zip(base_rates, hang_rates, strict=True)
    ]
    base_rate, hang_rate = statistics.median(base_rates), statistics.median(hang_rates)
    known = [r for r in pair_ratios if r is not None]
    ratio = round(statistics.fmean(known), 3) if known else None
    from hookpost.config import Settings

    s = Settings()
    report = {
        "command": " ".join(sys.argv),
        "machine": info,
        "config": {
            "events": n_events,
            "endpoints": endpoints,
            "hanging": hanging,
            "timeout_seconds": timeout,
            "repeat": repeat,
            "receiver_hangs_seconds": timeout * 4,
            "sqlite_synchronous": synchronous,
            "delivery_concurrency": s.delivery_concurrency,
            "endpoint_concurrency": s.endpoint_concurrency,
            "breaker_threshold": s.breaker_threshold,
            "breaker_cooldown_seconds": s.breaker_cooldown_seconds,
        },
        "phases": phases,
        "pair_ratios": pair_ratios,
        "median_healthy_deliveries_per_s": {"all healthy": base_rate, "hanging": hang_rate},
        "ratio": ratio,
        "target_ratio": TARGET_RATIO,
        "target_met": ratio is not None and ratio >= TARGET_RATIO,
        "all_delivered": all(p["complete"] for p in phases),
    }
    _print(console, report)
    write_report(console, report, output)
    return report


def _print(console: Any, report: dict[str, Any]) -> None:
    from rich.table import Table

    m = report["machine"]
    table = Table(
        title=f"hookpost isolation - {m['nproc']} cores, {m['cpu_model']}, Python {m['python']}"
    )
    for col in (
        "phase",
        "healthy deliveries",
        "publish ev/s",
        "healthy deliveries/s",
        "slowest second",
        "p50 ms",
        "p99 ms",
        "hung requests",
        "serve CPU",
        "other CPU",
    ):
        table.add_column(col, justify="left" if col == "phase" else "right")
    for p in report["phases"]:
        table.add_row(
            p["scenario"],
            f"{p['delivered_healthy_unique']:,}/{p['expected_healthy_deliveries']:,}",
            _fmt(p["publish_rate"]),
            _fmt(p["healthy_deliveries_per_s"]),
            _fmt(p["slowest_second"]),
            _fmt(p["latency_p50_ms"]),
            _fmt(p["latency_p99_ms"]),
            _fmt(p["hanging_requests_sent"]),
            f"{p['serve_cpu_util'] * 100:.0f}%",
            f"{p['other_cpu_util'] * 100:.0f}%",
        )
    console.print(table)
    ok = report["target_met"]
    if len(report["pair_ratios"]) > 1:
        console.print(f"ratio of each pair: {report['pair_ratios']}")
    console.print(
        "healthy throughput with hanging endpoints / all healthy (mean of pairs): "
        f"{report['ratio']} "
        f"(target >= {report['target_ratio']}) "
        + ("[green]met[/green]" if ok else "[red]MISSED[/red]")
    )
