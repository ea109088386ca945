"""Shared fixtures for every tier: a real hookpost server and real receivers on 127.0.0.1.

The tests come in tiers, one folder each: ``unit/`` pure functions and tables,
no I/O (seconds: ``make test-unit``); ``integration/`` real SQLite,
PostgreSQL, brokers and HTTP on loopback inside this one process; ``e2e/``
real subprocesses (``hookpost serve``/``worker``, ``kill -9``, the wheel,
Chromium). :func:`pytest_collection_modifyitems` marks them: ``slow`` for the
e2e tier, ``postgres`` for a test on the PostgreSQL backend, ``browser`` for
one that drives Chromium; so ``pytest -m "not slow and not browser"`` runs
the fast tiers and ``pytest -m "not postgres"`` works without a server. A test
that measures time or acts on state other tests share is marked ``serial`` in
its own module: ``make test`` runs the rest on pytest-xdist workers, then those
alone. So every fixture here is private to its worker: free ports, ``tmp_path``
files, PostgreSQL databases named by the process id.

Nothing is mocked on the wire: the API is served by uvicorn on a free port,
the dispatcher sends with aiohttp, receivers are aiohttp servers. Time can be
moved with ``hookpost.core.clock.ManualClock`` so retry tests don't sleep.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from aiohttp import web

from hookpost.api.app import create_app
from hookpost.config import Settings
from hookpost.core.clock import ManualClock
from hookpost.core.keyfile import load_secret_box
from hookpost.store import Store
from hookpost.store.migrate import upgrade
from tests.fakedns import FakeResolver

ADMIN = "test-admin-token"
#: Test servers may deliver to the receivers on loopback (production default: none).
LOOPBACK = "127.0.0.0/8,::1/128"
#: One fixed key, so a `hookpost worker` subprocess reads what the test server wrote.
TEST_SECRET_KEY = "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdCE"


_TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test by its tier and by the fixtures it uses (markers: pyproject.toml)."""
    for item in items:
        parts = item.path.resolve().relative_to(_TESTS).parts
        if parts[0] == "e2e":
            item.add_marker(pytest.mark.slow)
        names = getattr(item, "fixturenames", ())
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec is not None else {}
        if params.get("db_url") == "postgres" or "pg_template" in names:
            item.add_marker(pytest.mark.postgres)
        if "chromium" in names:
            item.add_marker(pytest.mark.browser)


#: Ports :func:`free_port` hands out, per pytest-xdist worker.
_PORTS_PER_WORKER = 1500


def _port_range() -> range:
    """This process's ports: from 20000, below the kernel's ephemeral range (32768 and
    up by default), a range of its own per xdist worker (``gw0`` -> 21500-22999)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    index = int(worker[2:]) + 1 if worker[:2] == "gw" and worker[2:].isdigit() else 0
    start = 20000 + (index % 8) * _PORTS_PER_WORKER  # 20000-31999: below 32768
    return range(start, start + _PORTS_PER_WORKER)


def _ports_from_pid() -> Iterator[int]:
    """This worker's range, from a place its process id picks: two test runs at once
    (a developer's and a helper's) each with a ``gw0`` do not walk the same ports in step."""
    ports = _port_range()
    start = os.getpid() % len(ports)
    return itertools.cycle([*ports[start:], *ports[:start]])


_ports = _ports_from_pid()


def free_port() -> int:
    """A loopback port nothing listens on now, for a server a test starts later.

    Not port 0's pick: that comes from the ephemeral range, which outgoing
    connections and the other xdist workers draw from too, so between the pick and
    the server's own bind another test's server could take the port -- and a
    readiness check then talked to that server (``test_catchup`` failed so under
    load). Here each worker cycles through a range of its own that the kernel
    never hands out, skipping a port that is taken.
    """
    for _ in range(_PORTS_PER_WORKER):
        port = next(_ports)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {_port_range()}")


# -- receivers ---------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


Behaviour = Callable[[web.Request, int], Awaitable[web.StreamResponse]]


@dataclass
class Receiver:
    """An HTTP server that records every request and answers as each path is told.

    ``receiver.on("/x", [500, 200])`` answers 500 to the first request on /x
    and 200 to every later one; ``on("/x", handler)`` runs a coroutine instead.
    """

    port: int = 0
    requests: list[Received] = field(default_factory=list)
    _plans: dict[str, Any] = field(default_factory=dict)
    _counts: dict[str, int] = field(default_factory=dict)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def on(self, path: str, plan: list[int] | Behaviour) -> str:
        self._plans[path] = plan
        return self.url(path)

    def at(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    async def wait_for(
        self, n: int, path: str | None = None, timeout: float = 10
    ) -> list[Received]:
        deadline = time.monotonic() + timeout
        while True:
            got = self.requests if path is None else self.at(path)
            if len(got) >= n:
                return got
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"expected {n} requests on {path or 'any path'}, got {len(got)}"
                )
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), 0.05)
            except TimeoutError:
                pass

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        n = self._counts.get(request.path, 0)
        self._counts[request.path] = n + 1
        self.requests.append(Received(request.path, dict(request.headers), body, time.time()))
        self._arrived.set()
        plan = self._plans.get(request.path, [200])
        if callable(plan):
            return await plan(request, n)
        status = plan[min(n, len(plan) - 1)]
        return web.Response(status=status, text=f"answer {status}")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", rec.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    rec.port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", rec.port)
    await site.start()
    yield rec
    await runner.cleanup()


# -- hookpost ----------------------------------------------------------------


POSTGRES_URL = os.environ.get(
    "HOOKPOST_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
_pg_state: dict[str, Any] = {}


def _pg_admin() -> Any:
    """A sync admin connection to the Postgres server, or None if unreachable."""
    import asyncpg

    async def check() -> bool:
        try:
            conn = await asyncpg.connect(POSTGRES_URL, timeout=3)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            _pg_state["error"] = f"{type(exc).__name__}: {exc}"
            return False
        await conn.close()
        return True

    if "ok" not in _pg_state:
        _pg_state["ok"] = asyncio.run(check())
    return _pg_state["ok"]


def _pg_exec(sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(POSTGRES_URL, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def _pg_url(dbname: str) -> str:
    base, _, _ = POSTGRES_URL.rpartition("/")
    return f"{base}/{dbname}"


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated template database; each test gets a copy (CREATE DATABASE ... TEMPLATE)."""
    if not _pg_admin():
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {_pg_state.get('error')}")
    name = f"hookpost_tmpl_{os.getpid()}"
    _pg_exec(f"DROP DATABASE IF EXISTS {name}")
    _pg_exec(f"CREATE DATABASE {name}")
    upgrade(_pg_url(name))
    yield name
    _pg_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


_counter = itertools.count()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session; each test gets a copy (``sqlite_url``).

    ``upgrade`` runs every migration through Alembic (a quarter of a second); a copy
    of the migrated file is the same database (WAL mode is in its header, and the
    upgrade's last connection checkpointed the WAL away) in a millisecond."""
    path = tmp_path_factory.mktemp("sqlite-template") / "hookpost.db"
    upgrade(f"sqlite:///{path}")
    assert not path.with_name(path.name + "-wal").exists(), "the template kept a WAL file"
    return path


def migrated_sqlite(template: Path, path: Path) -> str:
    """A copy of the migrated ``template`` at ``path`` (its mode kept: 0600); its URL."""
    shutil.copy2(template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every test that stores data runs on both backends."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        yield migrated_sqlite(template, tmp_path / "hookpost.db")
        return
    template = request.getfixturevalue("pg_template")
    name = f"hookpost_t_{os.getpid()}_{next(_counter)}"
    _pg_exec(f"CREATE DATABASE {name} TEMPLATE {template}")
    yield _pg_url(name)
    _pg_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@dataclass
class Hookpost:
    """A running server plus an HTTP client holding the admin token."""

    base_url: str
    http: httpx.AsyncClient
    store: Store
    clock: ManualClock
    app: Any
    settings: Settings

    async def project(self) -> tuple[str, str]:
        r = await self.http.post("/api/v1/projects", json={"name": "acme"})
        assert r.status_code == 201, r.text
        return r.json()["id"], r.json()["api_key"]

    async def endpoint(self, project_id: str, url: str, **fields: Any) -> dict[str, Any]:
        r = await self.http.post(
            f"/api/v1/projects/{project_id}/endpoints", json={"url": url, **fields}
        )
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def publish(self, project_id: str, event_type: str = "user.created", **kw: Any) -> Any:
        body = {"event_type": event_type, "payload": kw.pop("payload", {"id": 1}), **kw}
        r = await self.http.post(f"/api/v1/projects/{project_id}/events", json=body)
        assert r.status_code in (200, 202), r.text
        return r.json()

    async def deliveries(self, project_id: str, **params: Any) -> list[dict[str, Any]]:
        r = await self.http.get(f"/api/v1/projects/{project_id}/deliveries", params=params)
        assert r.status_code == 200, r.text
        return list(r.json()["data"])

    async def delivery(self, project_id: str, delivery_id: str) -> dict[str, Any]:
        r = await self.http.get(f"/api/v1/projects/{project_id}/deliveries/{delivery_id}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def attempted(self, project_id: str, delivery_id: str, n: int) -> dict[str, Any]:
        """The delivery once ``n`` attempts are recorded and it is not in flight."""
        for _ in range(300):
            d = await self.delivery(project_id, delivery_id)
            if d["attempt_count"] >= n and d["status"] != "delivering":
                return d
            await asyncio.sleep(0.02)
        raise AssertionError(f"delivery never reached {n} attempts: {d}")

    def wake(self) -> None:
        if self.app.state.dispatcher is not None:
            self.app.state.dispatcher.wake()

    async def advance(self, seconds: float) -> None:
        """Move time forward and let the dispatcher see it."""
        self.clock.advance(seconds)
        self.wake()
        await asyncio.sleep(0)

    async def wait_status(
        self,
        project_id: str,
        delivery_id: str,
        status: str,
        timeout: float = 10,
        *,
        attempts: int = 0,
    ) -> dict[str, Any]:
        """Wait for ``status`` (after at least ``attempts`` attempts: a new
        delivery is already ``pending`` before its first one)."""
        deadline = time.monotonic() + timeout
        while True:
            d = await self.delivery(project_id, delivery_id)
            if d["status"] == status and d["attempt_count"] >= attempts:
                return d
            if time.monotonic() > deadline:
                raise AssertionError(f"delivery stayed {d['status']}, wanted {status}: {d}")
            await asyncio.sleep(0.03)


async def start_hookpost(
    db_url: str,
    clock: ManualClock,
    *,
    workers: bool = True,
    resolver: FakeResolver | None = None,
    store_options: dict[str, Any] | None = None,
    **settings: Any,
) -> AsyncIterator[Hookpost]:
    port = free_port()
    settings = {
        "allowed_networks": LOOPBACK,
        "secret_key": TEST_SECRET_KEY,
        # Leases follow the ManualClock; a test that jumps the clock by hours
        # while an attempt is still being recorded would otherwise see that
        # delivery's lease "expire" and the delivery sent twice. Lease expiry is
        # tested with real processes and real time (test_crash, test_scale_*).
        "lease_seconds": 10.0**9,
        "poll_interval": 0.05,
        **settings,
    }
    cfg = Settings(
        database_url=db_url,
        admin_token=ADMIN,
        port=port,
        sqlite_synchronous="NORMAL",
        **settings,
    )
    store = Store.from_url(
        db_url,
        clock,
        box=load_secret_box(cfg),
        sqlite_synchronous=cfg.sqlite_synchronous,
        **(store_options or {}),
    )
    # DNS answers come from a table: no test sends a query to a real resolver.
    resolver = resolver or FakeResolver({"localhost": ["127.0.0.1"]})
    app = create_app(cfg, store=store, clock=clock, run_workers=workers, resolver=resolver)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 10
    while not server.started:
        if task.done():
            task.result()
        if time.monotonic() > deadline:
            raise RuntimeError("hookpost did not start")
        await asyncio.sleep(0.01)
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30
    ) as http:
        yield Hookpost(base, http, store, clock, app, cfg)
    server.should_exit = True
    await task
    await store.close()


@pytest.fixture
async def hookpost(db_url: str, clock: ManualClock) -> AsyncIterator[Hookpost]:
    async for hp in start_hookpost(db_url, clock):
        yield hp


@pytest.fixture
async def hookpost_noworkers(db_url: str, clock: ManualClock) -> AsyncIterator[Hookpost]:
    async for hp in start_hookpost(db_url, clock, workers=False):
        yield hp


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated SQLite file, for tests whose subject does not depend on the backend."""
    return migrated_sqlite(sqlite_template, tmp_path / "hookpost.db")


@pytest.fixture
async def sqlite_api(sqlite_url: str, clock: ManualClock) -> AsyncIterator[Hookpost]:
    """A server without workers on SQLite only (pages, input checks before storage)."""
    async for hp in start_hookpost(sqlite_url, clock, workers=False):
        yield hp


def env_with(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env
