"""The destinations scenario: deliveries/s to each broker beside HTTP, ~1 KB events.

``python -m benchmarks destinations [--events N] [--only amqp,redis,...]``

One ``hookpost serve`` (SQLite in a temporary directory, as in
:mod:`benchmarks.core`) and, per destination, a project with one endpoint
whose URL names it: the HTTP receiver of the core scenario (the baseline),
RabbitMQ, Redis Streams, NATS JetStream and Mosquitto on loopback, and SQS as
a moto server this scenario starts (at most :data:`SQS_EVENTS` events: that row
measures moto, a Python emulator, not Amazon's service). The endpoint starts disabled, so the
``N`` events published (32 publishers) wait as held deliveries; then it is
enabled and released, and the scenario polls the destination's own count (the
queue's message count, ``XLEN``, the stream's message count, an MQTT
subscriber's tally, SQS's ``ApproximateNumberOfMessages``) every 20 ms until
all ``N`` are there. It reports ``N / (last arrival seen - release)``: the
worker's drain to that destination, which a loaded machine's publish rate
does not cap. Then it checks that the API lists every delivery as succeeded
with its attempt recorded.
A broker that does not listen, or whose client is not installed, is a row
that says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from benchmarks._meters import (
    CpuMeter,
    machine_info,
)
from benchmarks._peers import (
    PAYLOAD_BYTES,
)
from benchmarks._procs import (
    Procs,
    _wait_port,
    free_port,
)
from benchmarks.harness import (
    PUBLISH_CONCURRENCY,
    Ctx,
    _bodies,
    _fmt,
    _setup_project,
    _verify_api,
    open_ctx,
    publish_burst,
    start_stack,
    wide_console,
    write_report,
)

DESTINATIONS = ("http", "amqp", "redis", "nats", "mqtt", "sqs")
#: moto's server (one Python process) takes ~10-20 SendMessage/s on a loaded 2-core
#: machine: its row measures moto, not SQS, and a few hundred events show that.
SQS_EVENTS = 300
POLL_SECONDS = 0.02

Counter = Callable[[], Awaitable[int]]


def _listening(port: int) -> bool:
    import socket

    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
        return True
    return False


@contextlib.asynccontextmanager
async def _amqp() -> AsyncIterator[tuple[str, Counter]]:
    import aio_pika

    name = f"hookpost.bench.{uuid.uuid4().hex[:8]}"
    conn = await aio_pika.connect("amqp://guest:guest@127.0.0.1:5672/")
    channel = await conn.channel()
    await channel.declare_queue(name, durable=True)

    async def count() -> int:
        q = await channel.declare_queue(name, passive=True)
        return int(q.declaration_result.message_count or 0)

    try:
        yield f"amqp://guest:guest@127.0.0.1:5672/?routing_key={name}", count
    finally:
        await channel.queue_delete(name)
        await conn.close()


@contextlib.asynccontextmanager
async def _redis() -> AsyncIterator[tuple[str, Counter]]:
    import redis.asyncio as aioredis

    name = f"hookpost.bench.{uuid.uuid4().hex[:8]}"
    client = aioredis.Redis(host="127.0.0.1", port=6379)

    async def count() -> int:
        return int(await client.xlen(name))

    try:
        yield f"redis://127.0.0.1:6379/0?stream={name}", count
    finally:
        await client.delete(name)
        await client.aclose()


@contextlib.asynccontextmanager
async def _nats() -> AsyncIterator[tuple[str, Counter]]:
    import nats

    name = f"HOOKPOST_BENCH_{uuid.uuid4().hex[:8].upper()}"
    subject = f"hookpost.bench.{name.lower()}"
    nc = await nats.connect("nats://127.0.0.1:4222")
    js = nc.jetstream()
    await js.add_stream(name=name, subjects=[subject])

    async def count() -> int:
        return int((await js.stream_info(name)).state.messages)

    try:
        yield f"nats://127.0.0.1:4222?subject={subject}", count
    finally:
        await js.delete_stream(name)
        await nc.close()


@contextlib.asynccontextmanager
async def _mqtt() -> AsyncIterator[tuple[str, Counter]]:
    import aiomqtt

    topic = f"hookpost/bench/{uuid.uuid4().hex[:8]}"
    seen = 0

    async with aiomqtt.Client("127.0.0.1", 1883, protocol=aiomqtt.ProtocolVersion.V5) as client:
        await client.subscribe(topic, qos=1)

        async def read() -> None:
            nonlocal seen
            async for _ in client.messages:
                seen += 1

        reader = asyncio.create_task(read())

        async def count() -> int:
            return seen

        try:
            yield f"mqtt://127.0.0.1:1883/{topic}", count
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


@contextlib.asynccontextmanager
async def _sqs(endpoint: str) -> AsyncIterator[tuple[str, Counter]]:
    from aiobotocore.session import get_session

    name = f"hookpost-bench-{uuid.uuid4().hex[:8]}"
    keys = {"aws_access_key_id": "AKIDBENCH", "aws_secret_access_key": "bench"}
    async with get_session().create_client(
        "sqs", region_name="us-east-1", endpoint_url=endpoint, **keys
    ) as client:
        queue_url = (await client.create_queue(QueueName=name))["QueueUrl"]

        async def count() -> int:
            attrs = await client.get_queue_attributes(
                QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
            )
            return int(attrs["Attributes"]["ApproximateNumberOfMessages"])

        creds = f"{keys['aws_access_key_id']}:{keys['aws_secret_access_key']}"
        try:
            yield (
                f"sqs://{creds}@sqs.us-east-1.amazonaws.com/123456789012/{name}"
                f"?endpoint_url={endpoint}",
                count,
            )
        finally:
            await client.delete_queue(QueueUrl=queue_url)


@contextlib.asynccontextmanager
async def _http(ctx: Ctx, name: str) -> AsyncIterator[tuple[str, Counter]]:
    await ctx.reset_receiver()
    yield f"{ctx.receiver}/r/{name}/0", ctx.received


def _open(
    kind: str, ctx: Ctx, name: str, moto: str
) -> contextlib.AbstractAsyncContextManager[tuple[str, Counter]]:
    """The destination's URL and message counter, for the time of one row."""
    if kind == "http":
        return _http(ctx, name)
    if kind == "sqs":
        return _sqs(moto)
    brokers = {"amqp": _amqp, "redis": _redis, "nats": _nats, "mqtt": _mqtt}
    return brokers[kind]()


def _unavailable(kind: str, moto: str | None) -> str | None:
    """Why ``kind`` cannot be measured here, or None."""
    ports = {"amqp": 5672, "redis": 6379, "nats": 4222, "mqtt": 1883}
    modules = {
        "amqp": "aio_pika",
        "redis": "redis",
        "nats": "nats",
        "mqtt": "aiomqtt",
        "sqs": "aiobotocore",
    }
    if kind in modules:
        try:
            __import__(modules[kind])
        except ImportError:
            return f"the {kind} client is not installed (pip install 'hookpost[all]')"
    if kind in ports and not _listening(ports[kind]):
        return f"nothing listens on 127.0.0.1:{ports[kind]}"
    if kind == "sqs" and moto is None:
        return "moto[server] is not installed"
    return None


async def _one(ctx: Ctx, kind: str, n_events: int, moto: str | None) -> dict[str, Any]:
    if kind == "sqs":
        n_events = min(n_events, SQS_EVENTS)
    name = f"{kind}-{secrets.token_hex(3)}"
    why = _unavailable(kind, moto)
    row: dict[str, Any] = {"destination": kind, "events": n_events}
    if why is not None:
        return {**row, "skipped": why}
    opened = _open(kind, ctx, name, moto or "")
    async with opened as (url, count):
        # Held first, so the figure is the drain to the destination, not the publish rate.
        pid, key = await _setup_project(ctx, name, 1, lambda _k: {"url": url, "enabled": False})
        (ep,) = (await ctx.api("GET", f"/api/v1/projects/{pid}/endpoints", key))["data"]
        bodies = _bodies(name, n_events)
        burst = await publish_burst(ctx, f"{ctx.base}/api/v1/projects/{pid}/events", key, bodies)
        meter = CpuMeter(ctx.serve_pid, [ctx.receiver_pid])
        path = f"/api/v1/projects/{pid}/endpoints/{ep['id']}"
        await ctx.api("PATCH", path, key, {"enabled": True})
        t_release = time.time()
        await ctx.api("POST", f"{path}/release-held", key, expect=202)
        seen, t_last = 0, None
        deadline = time.monotonic() + max(120.0, n_events / 10)
        while time.monotonic() < deadline:
            n = await count()
            if n > seen:
                seen, t_last = n, time.time()
            if seen >= n_events:
                break
            ctx.check_alive()
            await asyncio.sleep(POLL_SECONDS)
        cpu = meter.read()
        code = 200 if kind == "http" else None  # a broker answers no HTTP status
        verify = await _verify_api(ctx, pid, key, n_events, status_code=code)
    span = (t_last - t_release) if t_last else None
    return {
        **row,
        "url": url.split("?")[0].split("@")[-1],
        "arrived": seen,
        "publish_rate": burst.rate,
        "failed_publishes": burst.failed,
        "span_seconds": None if span is None else round(span, 3),
        "deliveries_per_s": round(seen / span, 1) if span else None,
        **cpu,
        "verify": verify,
        "complete": seen >= n_events and verify["ok"],
    }


def _start_moto(procs: Procs) -> str | None:
    try:
        import moto.server  # noqa: F401
    except ImportError:
        return None
    port = free_port()
    proc = procs.add(
        "moto",
        subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
    )
    _wait_port(port, 60, proc, "moto server")
    return f"http://127.0.0.1:{port}"


def main(n_events: int, only: list[str], output: str | None) -> None:
    kinds = [k for k in DESTINATIONS if not only or k in only]
    if n_events < 1 or not kinds:
        raise ValueError(f"need events >= 1 and destinations among {', '.join(DESTINATIONS)}")
    console = wide_console()
    info = machine_info()
    procs = Procs()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="hookpost-bench-") as tmp:
        try:
            moto = _start_moto(procs) if "sqs" in kinds else None
            stack = start_stack(procs, tmp, f"sqlite:///{tmp}/bench.db", ["serve"])

            async def run_all() -> None:
                async with open_ctx(stack, console) as ctx:
                    for kind in kinds:
                        console.print(f"{kind}: {n_events} events ...")
                        rows.append(await _one(ctx, kind, n_events, moto))

            asyncio.run(run_all())
        finally:
            procs.stop_all()
    report = {
        "command": " ".join(sys.argv),
        "machine": info,
        "config": {
            "events": n_events,
            "payload_bytes": PAYLOAD_BYTES,
            "publish_concurrency": PUBLISH_CONCURRENCY,
        },
        "destinations": rows,
    }
    _print_report(console, report)
    write_report(console, report, output)


def _print_report(console: Any, report: dict[str, Any]) -> None:
    from rich.table import Table

    m = report["machine"]
    table = Table(
        title=f"hookpost destinations - {m['nproc']} cores, {m['cpu_model']}, "
        f"Python {m['python']}, {report['config']['payload_bytes']} B payloads"
    )
    for col in ("destination", "arrived", "deliveries/s", "serve CPU", "other CPU", "logged"):
        table.add_column(col, justify="left" if col == "destination" else "right")
    for r in report["destinations"]:
        if "skipped" in r:
            table.add_row(r["destination"], "-", "-", "-", "-", f"skipped: {r['skipped']}")
            continue
        table.add_row(
            r["destination"],
            f"{r['arrived']:,}/{r['events']:,}",
            _fmt(r["deliveries_per_s"]),
            f"{r['serve_cpu_util'] * 100:.0f}%",
            f"{r['other_cpu_util'] * 100:.0f}%",
            "yes" if r["complete"] else "NO",
        )
    console.print(table)
