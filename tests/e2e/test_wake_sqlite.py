"""Cross-process wake-ups on SQLite: an API process and a worker process share one file.

The worker polls only every 30 s here, so an event delivered within a second
was claimed because the API's datagram woke the worker -- what LISTEN/NOTIFY
does on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from hookpost.store import Store
from hookpost.store._wake import WakeBoard, WakeListener
from hookpost.store.migrate import upgrade
from tests.conftest import LOOPBACK, TEST_SECRET_KEY, free_port

# Wake-up latencies measured against a wall clock: run apart (Makefile, "test").
pytestmark = pytest.mark.serial

HOOKPOST = str(Path(sys.executable).parent / "hookpost")
TOKEN = "wake-admin"


async def test_a_worker_process_is_woken_by_the_api_process(tmp_path: Path) -> None:
    arrived: list[float] = []

    async def hook(request: web.Request) -> web.Response:
        await request.read()
        arrived.append(time.monotonic())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    rport = free_port()
    await web.TCPSite(runner, "127.0.0.1", rport).start()
    api_port = free_port()
    db = tmp_path / "shared.db"
    env = {
        **os.environ,
        "HOOKPOST_DATABASE_URL": f"sqlite:///{db}",
        "HOOKPOST_ADMIN_TOKEN": TOKEN,
        "HOOKPOST_PORT": str(api_port),
        "HOOKPOST_POLL_INTERVAL": "30",
        "HOOKPOST_LOG_LEVEL": "warning",
        "HOOKPOST_ALLOWED_NETWORKS": LOOPBACK,
        "HOOKPOST_SECRET_KEY": TEST_SECRET_KEY,
    }
    logs = tmp_path / "procs.log"
    procs: list[subprocess.Popen[bytes]] = []
    with open(logs, "ab") as out:
        subprocess.run([HOOKPOST, "migrate"], env=env, stdout=out, stderr=out, check=True)
        try:
            procs.append(
                subprocess.Popen(
                    [HOOKPOST, "serve", "--no-workers"], env=env, stdout=out, stderr=out
                )
            )
            procs.append(subprocess.Popen([HOOKPOST, "worker"], env=env, stdout=out, stderr=out))
            wake_dir = Path(f"{db}-wake")
            deadline = time.monotonic() + 30
            while not (wake_dir.is_dir() and any(wake_dir.iterdir())):
                assert time.monotonic() < deadline, logs.read_text()
                await asyncio.sleep(0.05)
            (entry,) = wake_dir.iterdir()
            assert entry.name.startswith(f"{procs[1].pid}-")  # the worker registered
            headers = {"Authorization": f"Bearer {TOKEN}"}
            async with aiohttp.ClientSession(f"http://127.0.0.1:{api_port}", headers=headers) as h:
                while True:
                    try:
                        async with h.get("/healthz") as r:
                            if r.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    assert time.monotonic() < deadline, logs.read_text()
                    await asyncio.sleep(0.05)
                async with h.post("/api/v1/projects", json={"name": "wake"}) as r:
                    pid = (await r.json())["id"]
                url = f"http://127.0.0.1:{rport}/hook"
                async with h.post(f"/api/v1/projects/{pid}/endpoints", json={"url": url}) as r:
                    assert r.status == 201
                await asyncio.sleep(1.0)  # the worker's first claim is behind it: it waits 30 s
                for i in range(3):
                    sent = time.monotonic()
                    body = {"event_type": "a.b", "payload": {"i": i}}
                    async with h.post(f"/api/v1/projects/{pid}/events", json=body) as r:
                        assert r.status == 202
                    while len(arrived) < i + 1:
                        assert time.monotonic() - sent < 5, "the worker was not woken"
                        await asyncio.sleep(0.01)
                    assert arrived[i] - sent < 1.0
            procs[1].terminate()
            assert procs[1].wait(timeout=30) == 0
            assert not any(wake_dir.iterdir())  # a worker that stops unregisters
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait(timeout=10)
            await runner.cleanup()


async def test_registrations_of_dead_processes_are_dropped(tmp_path: Path) -> None:
    db = str(tmp_path / "x.db")
    await asyncio.to_thread(upgrade, f"sqlite:///{db}")
    board = WakeBoard(db)
    board.directory.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (board.directory / f"{dead.pid}-9").touch()
    (board.directory / "not-a-registration").touch()
    woken: list[int] = []
    store = Store.from_url(f"sqlite:///{db}")
    try:
        listener = store.listener(f"sqlite:///{db}", lambda: woken.append(1))
        assert isinstance(listener, WakeListener)
        assert await listener.ensure()
        board.announce()  # another "process" announcing: the listener hears it
        for _ in range(100):
            if woken:
                break
            await asyncio.sleep(0.01)
        assert woken
        assert not (board.directory / f"{dead.pid}-9").exists()
        names = {p.name for p in board.directory.iterdir()}
        assert names == {f"{os.getpid()}-{store._board.own_port}", "not-a-registration"}  # type: ignore[union-attr]
        await listener.close()
        assert names - {p.name for p in board.directory.iterdir()} == {
            f"{os.getpid()}-{store._board.own_port}"  # type: ignore[union-attr]
        }
    finally:
        board.close()
        await store.close()


async def test_a_writer_waits_for_another_processes_write_lock(tmp_path: Path) -> None:
    """Two writers on one file (as two processes would have): the second BEGIN
    waits for the first transaction instead of failing, and an error inside a
    transaction is raised, never retried."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from hookpost.store._backend import Writer, create_engine

    url = f"sqlite:///{tmp_path / 'w.db'}"
    a_engine, b_engine = create_engine(url), create_engine(url)
    a, b = Writer(a_engine), Writer(b_engine)
    try:
        async with a.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        order: list[str] = []
        holding = asyncio.Event()

        async def hold() -> None:
            async with a.begin() as conn:
                await conn.execute(text("INSERT INTO t VALUES (1)"))
                order.append("a holds")
                holding.set()
                await asyncio.sleep(0.2)
                order.append("a commits")

        holder = asyncio.create_task(hold())
        await asyncio.wait_for(holding.wait(), 10)
        t0 = time.monotonic()
        async with b.begin() as conn:
            order.append("b begins")
            await conn.execute(text("INSERT INTO t VALUES (2)"))
        await holder
        assert order == ["a holds", "a commits", "b begins"]
        assert time.monotonic() - t0 < 1.0  # woke within a couple of ms of the release
        attempts = 0
        try:
            async with b.begin() as conn:
                attempts += 1
                await conn.execute(text("INSERT INTO t VALUES (3)"))
                # Even a "locked" error from inside the transaction is the
                # caller's: only a BEGIN that found the lock taken is retried.
                raise OperationalError("INSERT", {}, Exception("database is locked"))
        except OperationalError as exc:
            assert "database is locked" in str(exc)
        assert attempts == 1
        async with a_engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 2
    finally:
        await a_engine.dispose()
        await b_engine.dispose()
