"""SIGTERM: a worker stops claiming, hands back what it cannot finish, exits in bounded time.
And a server refuses a database whose schema is newer than its code."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import text

from hookpost.store import Store
from tests.conftest import LOOPBACK, TEST_SECRET_KEY, Hookpost, Receiver

# Shutdown within a measured time: run apart (Makefile, "test").
pytestmark = pytest.mark.serial

HOOKPOST = str(Path(sys.executable).parent / "hookpost")


async def test_sigterm_releases_inflight_delivery(
    hookpost_noworkers: Hookpost, receiver: Receiver, db_url: str, tmp_path: Path
) -> None:
    hp = hookpost_noworkers
    release = asyncio.Event()

    async def hang(request: web.Request, n: int) -> web.Response:
        if n == 0:
            await release.wait()
        return web.Response(status=200)

    pid, _ = await hp.project()
    await hp.endpoint(pid, receiver.on("/h", hang), timeout_seconds=60)
    env = {
        **os.environ,
        "HOOKPOST_DATABASE_URL": db_url,
        "HOOKPOST_LEASE_SECONDS": "600",  # only an explicit release can free it quickly
        "HOOKPOST_POLL_INTERVAL": "0.1",
        "HOOKPOST_SHUTDOWN_GRACE_SECONDS": "1",
        "HOOKPOST_ALLOWED_NETWORKS": LOOPBACK,
        "HOOKPOST_SECRET_KEY": TEST_SECRET_KEY,  # decrypts what the test server stored
    }
    log = open(tmp_path / "worker.log", "wb")
    worker = subprocess.Popen([HOOKPOST, "worker"], env=env, stdout=log, stderr=log)
    try:
        await hp.publish(pid, event_id="evt_term")
        await receiver.wait_for(1, timeout=15)
        (d,) = await hp.deliveries(pid)
        assert d["status"] == "delivering"
        t0 = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        for _ in range(200):
            if worker.poll() is not None:
                break
            await asyncio.sleep(0.05)
        assert worker.returncode is not None, "worker did not exit after SIGTERM"
        assert time.monotonic() - t0 < 8
        d = await hp.delivery(pid, d["id"])
        assert d["status"] == "pending"  # handed back, not stuck behind a 600 s lease
        assert d["attempt_count"] == 0
    finally:
        release.set()
        if worker.poll() is None:
            worker.kill()
        worker.wait(10)
        log.close()


async def test_serve_refuses_newer_schema(db_url: str, tmp_path: Path) -> None:
    store = Store.from_url(db_url)
    async with store.engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    await store.close()
    proc = subprocess.run(
        [HOOKPOST, "serve", "--port", "1"],
        env={**os.environ, "HOOKPOST_DATABASE_URL": db_url, "HOOKPOST_ADMIN_TOKEN": "x"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode != 0
    assert "newer than this hookpost" in proc.stderr
