"""``kill -9`` of ``hookpost serve`` loses nothing.

A delivery claimed by the killed process is claimed again once its lease
expires; an event answered with 202 is on disk whatever happens next.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from tests.conftest import LOOPBACK, Receiver, free_port

HOOKPOST = str(Path(sys.executable).parent / "hookpost")
TOKEN = "crash-test-admin"


class Server:
    def __init__(self, db_url: str, workdir: Path) -> None:
        self.port = free_port()
        self.env = {
            **os.environ,
            "HOOKPOST_DATABASE_URL": db_url,
            "HOOKPOST_ADMIN_TOKEN": TOKEN,
            "HOOKPOST_PORT": str(self.port),
            "HOOKPOST_LEASE_SECONDS": "2",
            "HOOKPOST_POLL_INTERVAL": "0.1",
            "HOOKPOST_DATA_DIR": str(workdir),
            "HOOKPOST_ALLOWED_NETWORKS": LOOPBACK,
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "serve.log"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([HOOKPOST, "serve"], env=self.env, stdout=out, stderr=out)
        deadline = time.monotonic() + 20
        async with httpx.AsyncClient() as c:
            while time.monotonic() < deadline:
                try:
                    if (await c.get(self.base + "/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                assert self.proc.poll() is None, self.log.read_text()
                await asyncio.sleep(0.05)
        raise AssertionError("server did not start: " + self.log.read_text())

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[Server]:
    s = Server(db_url, tmp_path)
    yield s
    s.stop()


async def _setup(c: httpx.AsyncClient, url: str) -> str:
    pid = (await c.post("/api/v1/projects", json={"name": "crash"})).json()["id"]
    r = await c.post(f"/api/v1/projects/{pid}/endpoints", json={"url": url})
    assert r.status_code == 201
    return str(pid)


async def test_claimed_delivery_survives_kill9(server: Server, receiver: Receiver) -> None:
    release = asyncio.Event()

    async def first_hangs(request: web.Request, n: int) -> web.Response:
        if n == 0:
            await release.wait()
        return web.Response(status=200)

    url = receiver.on("/hook", first_hangs)
    await server.start()
    async with httpx.AsyncClient(
        base_url=server.base, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as c:
        pid = await _setup(c, url)
        r = await c.post(
            f"/api/v1/projects/{pid}/events",
            json={"event_type": "a.b", "payload": {}, "event_id": "evt_k9"},
        )
        assert r.status_code == 202
        await receiver.wait_for(1)  # the killed process holds this delivery's lease
        (d,) = (await c.get(f"/api/v1/projects/{pid}/deliveries")).json()["data"]
        assert d["status"] == "delivering"
        server.kill9()
        release.set()

        await server.start()
        reqs = await receiver.wait_for(2, timeout=15)
        assert reqs[1].headers["webhook-id"] == "evt_k9" == reqs[0].headers["webhook-id"]
        assert reqs[1].body == reqs[0].body
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            d = (await c.get(f"/api/v1/projects/{pid}/deliveries/{d['id']}")).json()
            if d["status"] == "succeeded":
                break
            await asyncio.sleep(0.05)
        assert d["status"] == "succeeded"
        assert [a["status_code"] for a in d["attempts"]] == [200]


async def test_accepted_events_survive_kill9(server: Server, receiver: Receiver) -> None:
    url = receiver.on("/hook", [503])  # nothing succeeds before the kill
    await server.start()
    async with httpx.AsyncClient(
        base_url=server.base, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as c:
        pid = await _setup(c, url)
        accepted = []
        for i in range(40):
            r = await c.post(
                f"/api/v1/projects/{pid}/events",
                json={"event_type": "a.b", "payload": {"i": i}, "event_id": f"e{i}"},
            )
            assert r.status_code == 202
            accepted.append(f"e{i}")
        server.kill9()
        receiver.on("/hook", [200])
        await server.start()
        ids: list[str] = []
        cursor = None
        while True:
            page = (
                await c.get(
                    f"/api/v1/projects/{pid}/events",
                    params={"limit": 100, **({"cursor": cursor} if cursor else {})},
                )
            ).json()
            ids += [e["id"] for e in page["data"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert sorted(ids) == sorted(accepted)
        deliveries = (
            await c.get(f"/api/v1/projects/{pid}/deliveries", params={"limit": 100})
        ).json()["data"]
        assert sorted(d["event_id"] for d in deliveries) == sorted(accepted)
