"""The shared harness of every benchmark: a running stack, the workloads, the report.

Every scenario (:mod:`benchmarks.core`, :mod:`benchmarks.isolation`,
:mod:`benchmarks.scale`, :mod:`benchmarks.queries`, :mod:`benchmarks.hotpath`,
:mod:`benchmarks.destinations`) starts hookpost and the receiver as a
:class:`Stack` (:func:`start_stack`, :func:`open_ctx`), drives it through a
:class:`Ctx` (projects, publish bursts, waiting for the receiver, checking
through the API that nothing was lost) and prints its table with
:func:`write_report`. Beside it: ``_procs`` (starting and stopping every
process), ``_peers`` (the receiver and the bare aiohttp sender, each in its own
process) and ``_meters`` (CPU, RSS, the machine). Nothing is sent anywhere but
127.0.0.1, and every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks._meters import RssSampler
from benchmarks._peers import make_payload
from benchmarks._procs import (
    Procs,
    _wait_port,
    free_port,
    hookpost_env,
    run_migrate,
    start_hookpost,
    start_receiver,
)

PUBLISH_CONCURRENCY = 32
LATENCY_RUN_SECONDS = 10.0
LATENCY_RUN_MAX_EVENTS = 20_000
TARGET_DELIVERIES_PER_S = 1500.0
TARGET_P50_MS = 20.0
TARGET_P99_MS = 200.0
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=30)
STALL_SECONDS = 30.0


# -- the orchestration (this process) ------------------------------------------


@dataclass
class Ctx:
    base: str
    admin_token: str
    receiver: str
    serve_pid: int
    receiver_pid: int
    serve: subprocess.Popen[bytes]
    session: aiohttp.ClientSession
    console: Any
    log_path: Path
    #: Other hookpost processes that must stay up meanwhile (``hookpost worker``s).
    others: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def check_alive(self) -> None:
        for name, proc in [("hookpost serve", self.serve), *self.others]:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with {proc.returncode}; log tail:\n{tail(self.log_path)}"
                )

    async def api(
        self, method: str, path: str, token: str, body: Any = None, expect: int = 200
    ) -> Any:
        async with self.session.request(
            method,
            self.base + path,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=HTTP_TIMEOUT,
        ) as resp:
            data = await resp.json(content_type=None)
            if resp.status != expect:
                raise RuntimeError(f"{method} {path}: {resp.status} {data}")
            return data

    async def received(self) -> int:
        async with self.session.get(self.receiver + "/_bench/count", timeout=HTTP_TIMEOUT) as r:
            n: int = (await r.json())["count"]
            return n

    async def hung(self) -> int:
        """Requests the receiver has taken on its hanging paths (``/hang/...``)."""
        async with self.session.get(self.receiver + "/_bench/count", timeout=HTTP_TIMEOUT) as r:
            n: int = (await r.json())["hung"]
            return n

    async def records(self) -> list[tuple[str, str, float]]:
        async with self.session.get(
            self.receiver + "/_bench/dump", timeout=aiohttp.ClientTimeout(total=120)
        ) as r:
            return [(p, i, float(t)) for p, i, t in (await r.json())["records"]]

    async def reset_receiver(self) -> None:
        async with self.session.post(self.receiver + "/_bench/reset", timeout=HTTP_TIMEOUT) as r:
            r.raise_for_status()


def tail(path: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def _progress(console: Any) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        TextColumn("{task.description:<26}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


async def _setup_project(
    ctx: Ctx,
    name: str,
    fanout: int,
    endpoint: Callable[[int], dict[str, Any]] | None = None,
) -> tuple[str, str]:
    """A project with ``fanout`` endpoints at ``/r/<name>/<k>`` (or ``endpoint(k)``)."""
    project = await ctx.api("POST", "/api/v1/projects", ctx.admin_token, {"name": name}, expect=201)
    pid, key = project["id"], project["api_key"]
    for k in range(fanout):
        body = {"url": f"{ctx.receiver}/r/{name}/{k}", "description": f"bench {k}"}
        if endpoint is not None:
            body.update(endpoint(k))
        await ctx.api("POST", f"/api/v1/projects/{pid}/endpoints", key, body, expect=201)
    return pid, key


async def _publish_one(ctx: Ctx, url: str, key: str, body: bytes, errors: Counter[str]) -> bool:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    for _try in range(3):  # the same event_id makes a retry idempotent
        try:
            async with ctx.session.post(
                url, data=body, headers=headers, timeout=HTTP_TIMEOUT
            ) as resp:
                await resp.read()
                if resp.status in (200, 202):
                    return True
                errors[f"http {resp.status}"] += 1
        except (aiohttp.ClientError, TimeoutError) as exc:
            errors[type(exc).__name__] += 1
    return False


@dataclass
class Stack:
    """A receiver and one hookpost process serving the API, started for a run."""

    env: dict[str, str]
    admin_token: str
    receiver: subprocess.Popen[bytes]
    receiver_url: str
    serve: subprocess.Popen[bytes]
    base: str
    log_path: Path


def start_stack(
    procs: Procs,
    tmp: str,
    database_url: str,
    args: Sequence[str],
    *,
    hang_seconds: float = 0.0,
    **env_extra: str,
) -> Stack:
    """Start the receiver, migrate, start ``hookpost <args>``, and wait for both ports."""
    rport, hport = free_port(), free_port()
    receiver = start_receiver(procs, rport, hang_seconds=hang_seconds)
    admin_token = "hpadm_bench_" + secrets.token_urlsafe(18)
    env = hookpost_env(database_url, admin_token=admin_token, port=hport, data_dir=tmp, **env_extra)
    run_migrate(env)
    log_path = Path(tmp) / "hookpost.log"
    serve = start_hookpost(procs, "serve", args, env, log_path)
    _wait_port(rport, 30, receiver, "receiver")
    _wait_port(hport, 60, serve, "hookpost " + " ".join(args))
    return Stack(
        env=env,
        admin_token=admin_token,
        receiver=receiver,
        receiver_url=f"http://127.0.0.1:{rport}",
        serve=serve,
        base=f"http://127.0.0.1:{hport}",
        log_path=log_path,
    )


@contextlib.asynccontextmanager
async def open_ctx(stack: Stack, console: Any) -> AsyncIterator[Ctx]:
    """A run's context, with one client session sized for the publishers."""
    connector = aiohttp.TCPConnector(limit=PUBLISH_CONCURRENCY + 8)
    async with aiohttp.ClientSession(connector=connector) as session:
        yield Ctx(
            base=stack.base,
            admin_token=stack.admin_token,
            receiver=stack.receiver_url,
            serve_pid=stack.serve.pid,
            receiver_pid=stack.receiver.pid,
            serve=stack.serve,
            session=session,
            console=console,
            log_path=stack.log_path,
        )


@dataclass
class Burst:
    """What :func:`publish_burst` did: send time per event id, errors, wall-clock span."""

    sent: dict[str, float]
    errors: Counter[str]
    failed: int
    t_first: float
    t_published: float

    @property
    def rate(self) -> float:
        return round(len(self.sent) / max(1e-9, self.t_published - self.t_first), 1)


async def publish_burst(
    ctx: Ctx,
    url: str,
    key: str,
    bodies: list[tuple[str, bytes]],
    on_published: Callable[[], None] = lambda: None,
) -> Burst:
    """Publish every body as fast as PUBLISH_CONCURRENCY publishers can."""
    sent: dict[str, float] = {}
    errors: Counter[str] = Counter()
    failed = 0
    next_i = 0

    async def publisher() -> None:
        nonlocal next_i, failed
        while next_i < len(bodies):
            eid, body = bodies[next_i]
            next_i += 1
            sent[eid] = time.time()
            if not await _publish_one(ctx, url, key, body, errors):
                failed += 1
            on_published()

    t_first = time.time()
    try:
        await asyncio.wait_for(
            asyncio.gather(*(publisher() for _ in range(PUBLISH_CONCURRENCY))),
            timeout=max(300.0, len(bodies) / 10),
        )
    finally:
        t_published = time.time()
    return Burst(sent, errors, failed, t_first, t_published)


def _bodies(tag: str, n: int) -> list[tuple[str, bytes]]:
    out = []
    for i in range(n):
        eid = f"{tag}-{i:08d}"
        body = {"event_type": "bench.event", "payload": make_payload(i, tag), "event_id": eid}
        out.append((eid, json.dumps(body, separators=(",", ":")).encode()))
    return out


async def _wait_received(
    ctx: Ctx, expected: int, deadline: float, on_count: Callable[[int], None]
) -> int:
    """Poll the receiver until it has ``expected`` requests, stalls, or the deadline passes."""
    last, last_change = -1, time.monotonic()
    while True:
        n = await ctx.received()
        on_count(n)
        now = time.monotonic()
        if n >= expected or now > deadline:
            return n
        if n != last:
            last, last_change = n, now
        elif now - last_change > STALL_SECONDS:
            return n
        ctx.check_alive()
        await asyncio.sleep(0.05)


def _latencies(
    records: list[tuple[str, str, float]], prefix: str, sent: dict[str, float]
) -> tuple[list[float], int, int, float | None]:
    """Latencies (ms) of the records under ``prefix``; duplicates; unmatched; last arrival."""
    lat: list[float] = []
    seen: Counter[tuple[str, str]] = Counter()
    unmatched = 0
    last: float | None = None
    for path, msg_id, t in records:
        if not path.startswith(prefix):
            continue
        seen[(path, msg_id)] += 1
        if seen[(path, msg_id)] > 1:
            continue
        t_sent = sent.get(msg_id)
        if t_sent is None:
            unmatched += 1
            continue
        lat.append((t - t_sent) * 1000)
        last = t if last is None else max(last, t)
    lat.sort()
    duplicates = sum(c - 1 for c in seen.values())
    return lat, duplicates, unmatched, last


async def list_ids(ctx: Ctx, path: str, key: str, deadline: float = 120.0) -> list[str]:
    """The ids of every item a list route answers, page by page (bounded by ``deadline`` s)."""
    ids: list[str] = []
    cursor = None
    sep = "&" if "?" in path else "?"
    until = time.monotonic() + deadline
    while time.monotonic() < until:
        q = f"{sep}limit=250" + (f"&cursor={cursor}" if cursor else "")
        page = await ctx.api("GET", path + q, key)
        ids.extend(d["id"] for d in page["data"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    return ids


async def _verify_api(
    ctx: Ctx, pid: str, key: str, expected: int, *, status_code: int | None = 200
) -> dict[str, Any]:
    """Every delivery listed as succeeded, none left over, and a sample has its attempt
    (answered ``status_code``: None for a broker, which answers no HTTP status)."""
    deadline = time.monotonic() + 120
    ids: list[str] = []
    while time.monotonic() < deadline:
        ids = await list_ids(ctx, f"/api/v1/projects/{pid}/deliveries?status=succeeded", key)
        if len(ids) >= expected:
            break
        await asyncio.sleep(0.5)  # the last batch of attempts may still be being recorded
    succeeded = len(ids)
    ids = ids[:2000]
    leftover = {}
    for status in ("pending", "delivering", "failed"):
        page = await ctx.api(
            "GET", f"/api/v1/projects/{pid}/deliveries?status={status}&limit=250", key
        )
        leftover[status] = len(page["data"])
    step = max(1, len(ids) // 20)
    sample = ids[::step][:20]
    logged = 0
    for did in sample:
        d = await ctx.api("GET", f"/api/v1/projects/{pid}/deliveries/{did}", key)
        tries = d.get("attempts") or []
        if (
            d["status"] == "succeeded"
            and len(tries) >= 1
            and tries[-1].get("status_code") == status_code
            and tries[-1].get("request_headers")
        ):
            logged += 1
    return {
        "succeeded_listed": succeeded,
        "leftover": leftover,
        "attempts_checked": len(sample),
        "attempts_logged": logged,
        "ok": succeeded == expected
        and not any(leftover.values())
        and logged == len(sample)
        and bool(sample),
    }


def _ms(v: float | None) -> float | None:
    return None if v is None else round(v, 2)


async def publish_and_wait(
    ctx: Ctx,
    label: str,
    url: str,
    key: str,
    bodies: list[tuple[str, bytes]],
    expected: int,
    *,
    delivered_label: str = "delivered",
    min_wait: float = 120.0,
) -> tuple[Burst, int, RssSampler]:
    """Publish ``bodies`` as fast as the server takes them, then wait (bounded) for
    ``expected`` receipts, with progress bars and the server's RSS sampled throughout."""
    with _progress(ctx.console) as progress, RssSampler(ctx.serve_pid) as rss:
        pub_task = progress.add_task(f"{label}: publish", total=len(bodies))
        dlv_task = progress.add_task(f"{label}: {delivered_label}", total=expected)

        async def watcher() -> None:
            while True:
                progress.update(dlv_task, completed=await ctx.received())
                await asyncio.sleep(0.2)

        w = asyncio.create_task(watcher())
        try:
            burst = await publish_burst(ctx, url, key, bodies, lambda: progress.advance(pub_task))
        finally:
            w.cancel()
        received = await _wait_received(
            ctx,
            expected,
            time.monotonic() + max(min_wait, expected / 100),
            lambda n: progress.update(dlv_task, completed=n),
        )
    return burst, received, rss


def wide_console() -> Any:
    """A rich console; when output is not a terminal, wide enough for the report tables."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=max(console.width, 150))


def write_report(console: Any, report: dict[str, Any], output: str | None) -> None:
    """Write a benchmark's JSON report where asked."""
    if output:
        Path(output).write_text(json.dumps(report, indent=2) + "\n")
        console.print(f"results written to {output}")


async def _wait_http(ctx: Ctx, url: str, seconds: float, check: Callable[[], None]) -> None:
    deadline = time.monotonic() + seconds
    while True:
        check()
        try:
            async with ctx.session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as r:
                if r.status == 200:
                    return
        except (aiohttp.ClientError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} not ready after {seconds:g}s")
        await asyncio.sleep(0.1)


def _fmt(v: Any, suffix: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.1f}{suffix}"
    return f"{v:,}{suffix}" if isinstance(v, int) else f"{v}{suffix}"
