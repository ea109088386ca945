"""Scale-out benchmark (issue 4): ``hookpost worker`` processes draining one database.

Everything on 127.0.0.1. The API runs alone (``hookpost serve --no-workers``);
the receiver and the payload are those of :mod:`benchmarks.core`. On PostgreSQL
a fresh database is created for the run and dropped at the end.

For each worker count k (e.g. 1, 2, 4), on a fresh project of ``fanout`` endpoints:

1. publish ``n_events`` events of ~1 KB with no worker running: the API's
   publish rate on this database, alone;
2. start k ``hookpost worker`` processes and time how fast they drain that
   backlog: deliveries/s from the first receipt to the last, and over the
   middle 80 % of receipts (the figure that ignores the workers' start-up and
   the tail); CPU of the workers, the API, PostgreSQL and everything else;
   PostgreSQL's WAL bytes per delivery; then stop the workers (SIGTERM) and
   check through the API that every delivery is listed as succeeded.

Then a latency run: ``latency_workers`` idle workers (woken by LISTEN/NOTIFY on
PostgreSQL); for each of ``rates``, that many events/s to one endpoint for 10 s,
publish->receipt p50/p99.

``profile_dir`` attaches ``py-spy record --nonblocking`` (raw collapsed stacks)
to the API during the first publish and to the first worker during the first
drain; ``benchmarks/profile_summary.py`` sums those files by component.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks._meters import (
    GroupCpuMeter,
    kernel_thread_pids,
    machine_info,
    pids_named,
    proc_status,
)
from benchmarks._procs import (
    Procs,
    pyspy_start,
    pyspy_stop,
    start_hookpost,
    stop_process,
)
from benchmarks.core import _latency_run
from benchmarks.harness import (
    Ctx,
    _bodies,
    _fmt,
    _latencies,
    _progress,
    _setup_project,
    _verify_api,
    _wait_http,
    _wait_received,
    open_ctx,
    publish_burst,
    start_stack,
    wide_console,
    write_report,
)

DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


# -- PostgreSQL helpers ----------------------------------------------------------


async def pg_execute(url: str, sql: str, *args: Any) -> None:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=10)
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


async def pg_fetchval(url: str, sql: str, *args: Any) -> Any:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=10)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


def pg_url_for(admin_url: str, dbname: str) -> str:
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{dbname}"


def create_pg_database(admin_url: str, prefix: str) -> tuple[str, str]:
    """A fresh, empty database; its name and URL."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    asyncio.run(pg_execute(admin_url, f'CREATE DATABASE "{name}"'))
    return name, pg_url_for(admin_url, name)


def drop_pg_database(admin_url: str, name: str) -> None:
    asyncio.run(pg_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def postgres_pids() -> list[int]:
    return pids_named("postgres")


# -- the measurements ------------------------------------------------------------


class Run:
    """What every step of one run shares."""

    def __init__(
        self,
        ctx: Ctx,
        procs: Procs,
        env: dict[str, str],
        database_url: str,
        profile_dir: Path | None,
    ) -> None:
        self.ctx = ctx
        self.procs = procs
        self.env = env
        self.database_url = database_url
        self.postgres = not database_url.startswith("sqlite")
        self.profile_dir = profile_dir

    async def wal_lsn(self) -> str | None:
        if not self.postgres:
            return None
        v: str = str(await pg_fetchval(self.database_url, "SELECT pg_current_wal_lsn()::text"))
        return v

    async def wal_bytes(self, since: str | None) -> int | None:
        if not self.postgres or since is None:
            return None
        v = await pg_fetchval(
            self.database_url,
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::text::pg_lsn)::bigint",
            since,
        )
        return int(v)

    def meter(self, workers: Sequence[int] = ()) -> GroupCpuMeter:
        groups: dict[str, Sequence[int] | Callable[[], Sequence[int]]] = {
            "api": [self.ctx.serve_pid],
            "workers": list(workers),
            "bench_and_receiver": [self.ctx.receiver_pid, os.getpid()],
        }
        if self.postgres:
            groups["postgres"] = postgres_pids
        # fsyncs and loopback traffic make kernel threads work too; not "other" noise.
        groups["kernel_threads"] = kernel_thread_pids
        return GroupCpuMeter(groups)

    def start_workers(self, k: int) -> list[Any]:
        workers = [
            start_hookpost(self.procs, f"worker-{i}", ["worker"], self.env, self.ctx.log_path)
            for i in range(k)
        ]
        self.ctx.others = [(f"hookpost worker {i}", w) for i, w in enumerate(workers)]
        return workers

    async def stop_workers(self, workers: list[Any]) -> list[int | None]:
        self.ctx.others = []
        loop = asyncio.get_running_loop()
        return list(
            await asyncio.gather(
                *(loop.run_in_executor(None, stop_process, w, 40.0) for w in workers)
            )
        )

    def profile(self, pid: int, name: str) -> Any:
        if self.profile_dir is None:
            return None
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        out = str(self.profile_dir / name)
        self.ctx.console.print(f"py-spy on pid {pid} -> {out}")
        return pyspy_start(self.procs, pid, out, nonblocking=True)


async def _drain(run: Run, k: int, n_events: int, fanout: int, profile: bool) -> dict[str, Any]:
    ctx = run.ctx
    name = f"scale{k}-{secrets.token_hex(3)}"
    pid, key = await _setup_project(ctx, name, fanout)
    await ctx.reset_receiver()
    expected = n_events * fanout
    bodies = _bodies(name, n_events)
    url = f"{ctx.base}/api/v1/projects/{pid}/events"

    with _progress(ctx.console) as progress:
        # 1. The backlog, published by the API alone.
        pub_task = progress.add_task(f"{k} worker(s): publish", total=n_events)
        spy = run.profile(ctx.serve_pid, "api_publish.txt") if profile else None
        meter = run.meter()
        wal0 = await run.wal_lsn()
        burst = await publish_burst(ctx, url, key, bodies, lambda: progress.advance(pub_task))
        publish_cpu = meter.read()
        publish_wal = await run.wal_bytes(wal0)
        await asyncio.get_running_loop().run_in_executor(None, pyspy_stop, spy)
        if await ctx.received():
            raise RuntimeError("deliveries arrived while no worker was running")

        # 2. k workers drain it.
        dlv_task = progress.add_task(f"{k} worker(s): delivered", total=expected)
        t_spawn = time.time()
        workers = run.start_workers(k)
        deadline = time.monotonic() + 120
        while await ctx.received() == 0:
            ctx.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError("no delivery 120 s after the workers started")
            await asyncio.sleep(0.02)
        # Profile the drain, not the start-up (imports).
        spy = run.profile(workers[0].pid, "worker_drain.txt") if profile else None
        n0 = await ctx.received()
        meter = run.meter([w.pid for w in workers])
        wal0 = await run.wal_lsn()
        received = await _wait_received(
            ctx,
            expected,
            time.monotonic() + max(180.0, expected / 50),
            lambda n: progress.update(dlv_task, completed=n),
        )
        cpu = meter.read()
        drain_wal = await run.wal_bytes(wal0)
        hwm = [proc_status(w.pid, "VmHWM") for w in workers]
        await asyncio.get_running_loop().run_in_executor(None, pyspy_stop, spy)
        exit_codes = await run.stop_workers(workers)

    records = await ctx.records()
    prefix = f"/r/{name}/"
    _lat, dups, unmatched, _t_last = _latencies(records, prefix, burst.sent)
    first: dict[tuple[str, str], float] = {}
    for p, i, t in records:
        if p.startswith(prefix):
            first.setdefault((p, i), t)
    times = sorted(first.values())
    n = len(times)
    lo, hi = times[int(n * 0.1)], times[min(n - 1, int(n * 0.9))]
    mid_rate = (int(n * 0.9) - int(n * 0.1)) / (hi - lo) if n > 10 and hi > lo else None
    in_window = max(1, received - n0)
    verify = await _verify_api(ctx, pid, key, expected)
    result: dict[str, Any] = {
        "scenario": f"{k} worker process{'es' if k > 1 else ''}",
        "workers": k,
        "fanout": fanout,
        "events": n_events,
        "expected_deliveries": expected,
        "delivered_unique": n,
        "duplicates": dups,
        "unmatched": unmatched,
        "failed_publishes": burst.failed,
        "publish_errors": dict(burst.errors),
        "publish_rate_api_alone": burst.rate,
        "publish_cpu": publish_cpu,
        "publish_wal_bytes_per_event": None
        if publish_wal is None
        else round(publish_wal / max(1, len(burst.sent))),
        "seconds_spawn_to_first_receipt": round(times[0] - t_spawn, 3) if times else None,
        "drain_seconds": round(times[-1] - times[0], 3) if n > 1 else None,
        "deliveries_per_s": round(n / (times[-1] - times[0]), 1) if n > 1 else None,
        "deliveries_per_s_middle_80pct": None if mid_rate is None else round(mid_rate, 1),
        "drain_cpu": cpu,
        "cpu_ms_per_delivery": {
            g: round(cpu[f"{g}_cpu_seconds"] * 1000 / in_window, 3)
            for g in ("workers", "api", "postgres")
            if f"{g}_cpu_seconds" in cpu
        },
        "drain_wal_bytes_per_delivery": None if drain_wal is None else round(drain_wal / in_window),
        "worker_peak_rss_mb": [None if h is None else round(h / 2**20, 1) for h in hwm],
        "worker_exit_codes": exit_codes,
        "verify": verify,
        "complete": n == expected and verify["ok"],
    }
    return result


async def _latency(run: Run, k: int, rate: int) -> dict[str, Any]:
    ctx = run.ctx
    workers = run.start_workers(k)
    try:
        # Wait until a worker delivers, so the run measures wake-ups, not start-up.
        name = f"warmup-{secrets.token_hex(3)}"
        pid, key = await _setup_project(ctx, name, 1)
        await ctx.reset_receiver()
        await ctx.api(
            "POST",
            f"/api/v1/projects/{pid}/events",
            key,
            {"event_type": "bench.warmup", "payload": {}},
            expect=202,
        )
        deadline = time.monotonic() + 120
        while await ctx.received() == 0:
            ctx.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError("the warm-up event was not delivered within 120 s")
            await asyncio.sleep(0.05)
        await asyncio.sleep(3.0)  # the other workers are up and listening too
        meter = run.meter([w.pid for w in workers])
        result = await _latency_run(ctx, rate)
        result["cpu"] = meter.read()
    finally:
        exit_codes = await run.stop_workers(workers)
    result["scenario"] = f"latency, {rate} events/s, fan-out 1, {k} worker(s)"
    result["workers"] = k
    result["worker_exit_codes"] = exit_codes
    return result


async def _run_all(
    run: Run,
    workers: list[int],
    n_events: int,
    fanout: int,
    rates: list[int],
    latency_workers: int,
) -> dict[str, Any]:
    ctx = run.ctx
    await _wait_http(ctx, ctx.base + "/healthz", 60, ctx.check_alive)
    drains = []
    for i, k in enumerate(workers):
        drains.append(await _drain(run, k, n_events, fanout, profile=i == 0))
    latency = [await _latency(run, latency_workers, rate) for rate in rates]
    size = None
    if run.postgres:
        size = await pg_fetchval(run.database_url, "SELECT pg_database_size(current_database())")
    return {"drains": drains, "latency": latency, "database_bytes_at_end": size}


def main(
    *,
    database: str,
    workers: list[int],
    n_events: int,
    fanout: int,
    rates: list[int],
    latency_workers: int,
    output: str | None,
    profile_dir: str | None = None,
    pg_admin_url: str = DEFAULT_PG_ADMIN_URL,
) -> dict[str, Any]:
    """Run the scale-out benchmark on ``database`` ("postgres" or "sqlite")."""

    from hookpost.core.crypto import generate_key

    if database not in ("postgres", "sqlite"):
        raise ValueError("database is postgres or sqlite")
    if n_events < 1 or fanout < 1 or any(k < 1 for k in workers) or any(r < 1 for r in rates):
        raise ValueError("need events >= 1, fan-out >= 1, worker counts and rates >= 1")
    console = wide_console()
    info = machine_info()
    procs = Procs()
    dbname: str | None = None
    with tempfile.TemporaryDirectory(prefix="hookpost-bench-scale-") as tmp:
        try:
            if database == "postgres":
                dbname, url = create_pg_database(pg_admin_url, "hookpost_bench")
                console.print(f"created database {dbname}")
            else:
                url = f"sqlite:///{tmp}/bench.db"
            stack = start_stack(
                procs,
                tmp,
                url,
                ["serve", "--no-workers"],
                # Every process must decrypt the endpoint secrets the API sealed.
                HOOKPOST_SECRET_KEY=generate_key(),
                HOOKPOST_SQLITE_SYNCHRONOUS=os.environ.get("HOOKPOST_SQLITE_SYNCHRONOUS") or "FULL",
            )
            env = stack.env
            console.print(
                f"hookpost serve --no-workers pid {stack.serve.pid} on {stack.base} ({database}); "
                f"receiver pid {stack.receiver.pid} on {stack.receiver_url}"
            )

            async def go() -> dict[str, Any]:
                async with open_ctx(stack, console) as ctx:
                    run = Run(ctx, procs, env, url, Path(profile_dir) if profile_dir else None)
                    return await _run_all(run, workers, n_events, fanout, rates, latency_workers)

            results = asyncio.run(go())
        finally:
            procs.stop_all()
            if dbname is not None:
                drop_pg_database(pg_admin_url, dbname)
                console.print(f"dropped database {dbname}")
    from hookpost.config import Settings

    s = Settings()
    report = {
        "command": " ".join(sys.argv),
        "machine": info,
        "config": {
            "database": database,
            "workers": workers,
            "events": n_events,
            "fanout": fanout,
            "rates": rates,
            "latency_workers": latency_workers,
            "delivery_concurrency_per_worker": s.delivery_concurrency,
            "claim_batch": s.claim_batch,
            "profiled": bool(profile_dir),
        },
        **results,
    }
    _print(console, report)
    write_report(console, report, output)
    return report


def _print(console: Any, report: dict[str, Any]) -> None:
    from rich.table import Table

    m = report["machine"]
    table = Table(
        title=f"hookpost scale-out ({report['config']['database']}) - {m['nproc']} cores, "
        f"{m['cpu_model']}, Python {m['python']}"
    )
    for col in (
        "scenario",
        "deliveries",
        "publish ev/s (API alone)",
        "deliveries/s",
        "middle 80% /s",
        "workers CPU",
        "postgres CPU",
        "other CPU",
        "WAL B/delivery",
        "all succeeded",
    ):
        table.add_column(col, justify="left" if col == "scenario" else "right")
    for d in report["drains"]:
        cpu = d["drain_cpu"]
        table.add_row(
            d["scenario"],
            f"{d['delivered_unique']:,}/{d['expected_deliveries']:,}",
            _fmt(d["publish_rate_api_alone"]),
            _fmt(d["deliveries_per_s"]),
            _fmt(d["deliveries_per_s_middle_80pct"]),
            f"{cpu['workers_cpu_util'] * 100:.0f}%",
            f"{cpu.get('postgres_cpu_util', 0) * 100:.0f}%",
            f"{cpu['other_cpu_util'] * 100:.0f}%",
            _fmt(d["drain_wal_bytes_per_delivery"]),
            "yes" if d["complete"] else "NO",
        )
    console.print(table)
    for lat in report["latency"]:
        console.print(
            f"{lat['scenario']}: p50 {_fmt(lat['latency_p50_ms'])} ms, "
            f"p99 {_fmt(lat['latency_p99_ms'])} ms, max {_fmt(lat['latency_max_ms'])} ms, "
            f"{lat['delivered_unique']:,}/{lat['expected_deliveries']:,} delivered"
        )
