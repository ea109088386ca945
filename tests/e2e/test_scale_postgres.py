"""Horizontal scale-out on PostgreSQL: one API process, three worker processes.

Publishes 5,000 events, ``kill -9``s one worker in the middle, and checks at
the receiver that nothing is lost, that duplicates are bounded by what the
killed worker could have had in flight, and that no delivery is ever being
sent by two workers at the same time.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from tests.conftest import LOOPBACK, TEST_SECRET_KEY, _pg_exec, _pg_url, free_port

HOOKPOST = str(Path(sys.executable).parent / "hookpost")
TOKEN = "scale-admin"
EVENTS = int(os.environ.get("SCALE_EVENTS", "5000"))
CONCURRENCY = 64  # per worker: the most a killed worker can have in flight


@pytest.fixture
def pg_db(pg_template: str) -> Iterator[str]:
    name = f"hookpost_scale_{os.getpid()}"
    _pg_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _pg_exec(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    yield _pg_url(name)
    _pg_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class Sink:
    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self.inflight: set[str] = set()
        self.overlaps = 0

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        wid = request.headers["webhook-id"]
        if wid in self.inflight:
            self.overlaps += 1
        self.inflight.add(wid)
        try:
            await asyncio.sleep(0.002)  # widen the window in which an overlap would show
        finally:
            self.inflight.discard(wid)
        self.seen[wid] += 1
        return web.Response(status=200)


async def _wait(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_three_workers_kill9_one(pg_db: str, tmp_path: Path) -> None:
    sink = Sink()
    app = web.Application()
    app.router.add_post("/hook", sink.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    rport = free_port()
    await web.TCPSite(runner, "127.0.0.1", rport).start()

    api_port = free_port()
    env = {
        **os.environ,
        "HOOKPOST_DATABASE_URL": pg_db,
        "HOOKPOST_ADMIN_TOKEN": TOKEN,
        "HOOKPOST_PORT": str(api_port),
        "HOOKPOST_LEASE_SECONDS": "3",
        "HOOKPOST_POLL_INTERVAL": "0.2",
        "HOOKPOST_DELIVERY_CONCURRENCY": str(CONCURRENCY),
        "HOOKPOST_CLAIM_BATCH": "32",
        "HOOKPOST_LOG_LEVEL": "warning",
        "HOOKPOST_ALLOWED_NETWORKS": LOOPBACK,
        "HOOKPOST_SECRET_KEY": TEST_SECRET_KEY,  # one key shared by every process
    }
    procs: list[subprocess.Popen[bytes]] = []
    logs = tmp_path / "procs.log"
    out = open(logs, "ab")
    try:
        procs.append(
            subprocess.Popen([HOOKPOST, "serve", "--no-workers"], env=env, stdout=out, stderr=out)
        )
        workers = [
            subprocess.Popen([HOOKPOST, "worker"], env=env, stdout=out, stderr=out)
            for _ in range(3)
        ]
        procs += workers
        base = f"http://127.0.0.1:{api_port}"
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with aiohttp.ClientSession(base, headers=headers) as http:

            async def healthy() -> bool:
                try:
                    async with http.get("/healthz") as r:
                        return r.status == 200
                except aiohttp.ClientError:
                    return False

            deadline = time.monotonic() + 90  # four processes start at once on two cores
            while not await healthy():
                assert time.monotonic() < deadline, logs.read_text()
                await asyncio.sleep(0.1)
            async with http.post("/api/v1/projects", json={"name": "scale"}) as r:
                pid = (await r.json())["id"]
            async with http.post(
                f"/api/v1/projects/{pid}/endpoints", json={"url": f"http://127.0.0.1:{rport}/hook"}
            ) as r:
                assert r.status == 201

            queue: asyncio.Queue[int] = asyncio.Queue()
            for i in range(EVENTS):
                queue.put_nowait(i)

            async def publisher() -> None:
                while not queue.empty():
                    i = queue.get_nowait()
                    body = {"event_type": "load.test", "payload": {"i": i}, "event_id": f"ev{i}"}
                    async with http.post(f"/api/v1/projects/{pid}/events", json=body) as r:
                        assert r.status == 202, await r.text()

            t0 = time.monotonic()
            pubs = [asyncio.create_task(publisher()) for _ in range(16)]
            await _wait(lambda: len(sink.seen) >= EVENTS // 3, 120, "a third of the deliveries")
            victim = workers[0]
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
            print("killed at", time.monotonic() - t0, len(sink.seen))
            await asyncio.gather(*pubs)
            print("published at", time.monotonic() - t0, len(sink.seen))
            await _wait(lambda: len(sink.seen) >= EVENTS, 180, "every event at the receiver")

            print("received at", time.monotonic() - t0)

            # Every delivery ends succeeded in the database.
            async def count(status: str) -> int:
                n, cursor = 0, None
                for _ in range(EVENTS // 250 + 2):
                    params = {
                        "status": status,
                        "limit": "250",
                        **({"cursor": cursor} if cursor else {}),
                    }
                    async with http.get(f"/api/v1/projects/{pid}/deliveries", params=params) as r:
                        page = await r.json()
                    n += len(page["data"])
                    cursor = page["next_cursor"]
                    if not cursor:
                        break
                return n

            for _ in range(150):
                if (done := await count("succeeded")) == EVENTS:
                    break
                await asyncio.sleep(0.2)
            assert done == EVENTS
            assert await count("failed") == 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(25)
            except subprocess.TimeoutExpired:
                p.kill()
        out.close()
        await runner.cleanup()

    assert set(sink.seen) == {f"ev{i}" for i in range(EVENTS)}
    duplicates = sum(n - 1 for n in sink.seen.values())
    # Only what the killed worker had claimed but not recorded can be re-sent.
    assert duplicates <= CONCURRENCY, duplicates
    assert sink.overlaps == 0
