"""The processes a benchmark talks to besides hookpost: the receiver, the bare sender.

:func:`run_receiver` answers 200 to every POST and keeps (path, webhook-id, arrival
time) for the run to check; :func:`run_ceiling` sends the same signed requests
hookpost would, with aiohttp alone -- the ceiling (R_bare) the delivery figures
are compared with. Each runs in a process of its own (see ``_procs``), so neither
takes CPU from the process being measured.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import aiohttp

from benchmarks._meters import cpu_seconds

#: The compact size of one benchmark payload, in bytes (an invoice-like object).
PAYLOAD_BYTES = 1024


def make_payload(i: int, tag: str) -> dict[str, Any]:
    """A ~1 KB invoice-like payload (serialized compactly it is PAYLOAD_BYTES long)."""
    base: dict[str, Any] = {
        "object": "invoice",
        "id": f"in_{tag}_{i:08d}",
        "amount_due": 1000 + i % 9000,
        "currency": "usd",
        "customer": {"id": f"cus_{i % 997:05d}", "email": f"user{i % 997}@example.com"},
        "lines": [
            {"sku": f"sku-{k}", "qty": k + 1, "unit_amount": 250 * (k + 1)} for k in range(3)
        ],
        "padding": "",
    }
    size = len(json.dumps(base, separators=(",", ":")))
    base["padding"] = "x" * max(0, PAYLOAD_BYTES - size)
    return base


def _watch_parent() -> Callable[[], bool]:
    parent = os.getppid()
    return lambda: os.getppid() != parent


def run_receiver(port: int, hang_seconds: float = 0.0) -> None:
    """Answer 200 to any POST; record (path, webhook-id, arrival time).

    A POST under ``/hang/`` is a hanging endpoint: it is counted (not recorded)
    and answered only after ``hang_seconds``, by when the sender has given up.
    """
    from aiohttp import web

    records: list[tuple[str, str, float]] = []
    hung = Counter[str]()
    orphaned = _watch_parent()

    async def receive(request: web.Request) -> web.Response:
        t = time.time()
        await request.read()
        records.append((request.path, request.headers.get("webhook-id", ""), t))
        return web.Response(text="ok")

    async def hang(request: web.Request) -> web.Response:
        hung["requests"] += 1
        hung["open"] += 1
        try:
            await asyncio.sleep(hang_seconds)
        finally:
            hung["open"] -= 1
        return web.Response(text="too late")

    async def count(_request: web.Request) -> web.Response:
        return web.json_response(
            {"count": len(records), "hung": hung["requests"], "hanging_now": hung["open"]}
        )

    async def dump(request: web.Request) -> web.Response:
        start = int(request.query.get("start", "0"))
        return web.json_response({"records": records[start:]})

    async def reset(_request: web.Request) -> web.Response:
        records.clear()
        hung["requests"] = 0
        return web.json_response({"count": 0})

    async def watchdog(_app: web.Application) -> Any:
        async def loop() -> None:
            while True:
                await asyncio.sleep(1.0)
                if orphaned():
                    break
            os.kill(os.getpid(), signal.SIGTERM)

        task = asyncio.create_task(loop())
        yield
        task.cancel()

    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_get("/_bench/count", count)
    app.router.add_get("/_bench/dump", dump)
    app.router.add_post("/_bench/reset", reset)
    app.router.add_post("/hang/{tail:.*}", hang)
    app.router.add_post("/{tail:.*}", receive)
    app.cleanup_ctx.append(watchdog)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None, backlog=4096)


def run_ceiling(spec_json: str) -> None:
    """Send the same signed requests hookpost sends, as fast as aiohttp can; print JSON."""
    spec = json.loads(spec_json)
    print(json.dumps(asyncio.run(_ceiling(spec))), flush=True)


async def _ceiling(spec: dict[str, Any]) -> dict[str, Any]:
    from hookpost.core.signing import generate_secret
    from hookpost.delivery.sender import USER_AGENT
    from hookpost.profiles import EventData, get_profile

    profile = get_profile("standard")
    secret = generate_secret()
    urls: list[str] = spec["urls"]
    n_events: int = spec["events"]
    concurrency: int = spec["concurrency"]
    deadline = time.monotonic() + float(spec["deadline"])
    now = time.time()
    # Bodies serialized once per event, as the dispatcher does; signed per request.
    bodies = [
        (
            f"ceil-{i:08d}",
            profile.body(
                EventData(
                    id=f"ceil-{i:08d}",
                    type="bench.event",
                    created_at=now,
                    payload=make_payload(i, "ceil"),
                )
            ),
        )
        for i in range(n_events)
    ]
    jobs = [(url, msg_id, body) for msg_id, body in bodies for url in urls]
    next_job = 0
    ok = errors = 0
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=0, ttl_dns_cache=60)
    async with aiohttp.ClientSession(
        connector=connector,
        headers={"User-Agent": USER_AGENT},
        cookie_jar=aiohttp.DummyCookieJar(),
    ) as session:

        async def worker() -> None:
            nonlocal next_job, ok, errors
            while next_job < len(jobs) and time.monotonic() < deadline:
                url, msg_id, body = jobs[next_job]
                next_job += 1
                ts = time.time()
                headers = {"Content-Type": "application/json"}
                headers.update(
                    profile.sign(msg_id=msg_id, timestamp=ts, body=body, secrets=[secret])
                )
                try:
                    async with session.post(
                        url,
                        data=body,
                        headers=headers,
                        allow_redirects=False,
                        timeout=aiohttp.ClientTimeout(total=15),
                    ) as resp:
                        await resp.content.read(4096)
                        if 200 <= resp.status < 300:
                            ok += 1
                        else:
                            errors += 1
                except (aiohttp.ClientError, TimeoutError):
                    errors += 1

        cpu0 = cpu_seconds(os.getpid()) or 0.0
        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
        cpu = (cpu_seconds(os.getpid()) or 0.0) - cpu0
    return {
        "requests": len(jobs),
        "ok": ok,
        "errors": errors,
        "seconds": elapsed,
        "requests_per_s": ok / elapsed if elapsed > 0 else 0.0,
        "concurrency": concurrency,
        "cpu_seconds": cpu,
    }
