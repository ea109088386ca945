"""When the database fails, clients get an answer they can act on.

PostgreSQL is cut mid-run through a TCP proxy the test controls (the machine's
server keeps running for every other test): the proxy resets new connections,
stops listening, or swallows them. SQLite runs on a 2 MB tmpfs that the test
fills. In every case each route answers 503 (507 for the full disk) with
``Retry-After`` -- JSON for the API, an HTML page for the dashboard and
portal -- on a keep-alive connection that stays usable; the log gets a
bounded number of one-line warnings and no traceback; ``/readyz`` is not
ready; afterwards everything works again and every event answered 202 is there.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import http.client
import json
import logging
import os
import socket
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import exc as sa_exc

from hookpost.core.clock import ManualClock
from hookpost.logs import JsonFormatter
from hookpost.store.migrate import upgrade
from hookpost.store.outage import DatabaseHealth, classify
from tests.conftest import (
    ADMIN,
    Hookpost,
    Receiver,
    _pg_exec,
    _pg_url,
    free_port,
    start_hookpost,
)

# -- the kinds of failure, one exception each ----------------------------------------


def _sqlite(message: str) -> sa_exc.OperationalError:
    return sa_exc.OperationalError("INSERT ...", {}, sqlite3.OperationalError(message))


def _invalidated() -> sa_exc.DBAPIError:
    err = sa_exc.DBAPIError("SELECT 1", {}, Exception("connection was closed"))
    err.connection_invalidated = True
    return err


CLASSIFIED: list[tuple[str, BaseException, int | None]] = [
    ("refused", ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed"), 503),
    ("reset", ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), 503),
    ("connect timeout", TimeoutError(), 503),
    ("unknown host", socket.gaierror(-2, "Name or service not known"), 503),
    ("cut mid-query", _invalidated(), 503),
    ("pool exhausted", sa_exc.TimeoutError("QueuePool limit reached"), 503),
    ("asyncpg closed", asyncpg.exceptions.ConnectionDoesNotExistError("closed"), 503),
    ("asyncpg interface", asyncpg.InterfaceError("connection is closed"), 503),
    ("pg shutdown 57P01", asyncpg.exceptions.AdminShutdownError("terminating"), 503),
    ("pg starting 57P03", asyncpg.exceptions.CannotConnectNowError("starting up"), 503),
    ("pg too many 53300", asyncpg.exceptions.TooManyConnectionsError("too many"), 503),
    ("pg timeout 57014", asyncpg.exceptions.QueryCanceledError("statement timeout"), 503),
    ("pg read-only 25006", asyncpg.exceptions.ReadOnlySQLTransactionError("ro"), 503),
    ("pg gone 3D000", asyncpg.exceptions.InvalidCatalogNameError("no database"), 503),
    ("pg disk full 53100", asyncpg.exceptions.DiskFullError("could not extend file"), 507),
    ("sqlite full", _sqlite("database or disk is full"), 507),
    ("sqlite io", _sqlite("disk I/O error"), 503),
    ("sqlite cannot open", _sqlite("unable to open database file"), 503),
    ("sqlite locked", _sqlite("database is locked"), 503),
    ("sqlite read-only", _sqlite("attempt to write a readonly database"), 503),
    ("ENOSPC", OSError(errno.ENOSPC, "No space left on device"), 507),
    # Not outages: bugs stay bugs (a 500), whatever class carries them.
    ("sqlite syntax", _sqlite('near "SELEC": syntax error'), None),
    ("sqlite no table", _sqlite("no such table: events"), None),
    ("unique", sa_exc.IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE")), None),
    ("pg unique", asyncpg.exceptions.UniqueViolationError("duplicate key"), None),
    ("value error", ValueError("bad"), None),
    ("missing file", FileNotFoundError(errno.ENOENT, "no such file"), None),
]


@pytest.mark.parametrize(("name", "exc", "status"), CLASSIFIED, ids=[row[0] for row in CLASSIFIED])
def test_classify_sorts_outages_from_bugs(
    name: str, exc: BaseException, status: int | None
) -> None:
    outage = classify(exc)
    assert (outage.status if outage else None) == status, name
    if outage is not None:
        assert outage.retry_after > 0 and "database" in outage.message
        # Wrapped the way the drivers wrap it, it is the same outage.
        try:
            raise RuntimeError("while handling") from exc
        except RuntimeError as outer:
            assert classify(outer) == outage


def test_health_logs_one_line_per_interval_and_tracks_writes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [100.0]
    health = DatabaseHealth(log_every=10, now=lambda: now[0])
    with caplog.at_level(logging.WARNING, "hookpost.database"):
        for _ in range(50):
            now[0] += 0.1
            assert health.note(ConnectionRefusedError(111, "refused"), "a publish") is not None
        assert health.failing() is not None
        now[0] += 10
        health.note(ConnectionRefusedError(111, "refused"), "a publish")
        health.wrote()
    lines = [r for r in caplog.records if r.name == "hookpost.database"]
    assert len(lines) == 3, [r.getMessage() for r in lines]  # start, +10 s, recovered
    assert "49 more failures" in lines[1].getMessage()
    assert all(r.exc_info is None for r in lines)
    assert health.failing() is None


# -- the PostgreSQL proxy --------------------------------------------------------------


class CutProxy:
    """127.0.0.1:<port> -> 127.0.0.1:5432, until the test cuts it.

    ``cut("reset")`` closes every connection and closes new ones at once,
    ``cut("refuse")`` also stops listening (connection refused), ``cut("hang")``
    accepts new connections and never answers (a connect timeout), and
    ``cut("stall")`` also stops forwarding on the connections already open (a
    statement timeout: the pool's connections look alive and answer nothing).
    """

    def __init__(self, upstream_port: int = 5432) -> None:
        self.port = free_port()
        self.upstream = upstream_port
        self.mode = "open"
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            if self.mode in ("hang", "stall"):
                await reader.read()  # until the client gives up
                return
            if self.mode != "open":
                return
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
            self._writers.add(up_writer)
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                for _ in range(600):  # stalled: hold the bytes (30 s at most)
                    if self.mode != "stall":
                        break
                    await asyncio.sleep(0.05)
                dst.write(data)
                await dst.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            dst.close()

    def _abort_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def cut(self, mode: str) -> None:
        self.mode = mode
        if mode != "stall":
            self._abort_all()
        if mode == "refuse" and self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def restore(self) -> None:
        self._abort_all()  # the hanging and stalled ones
        self.mode = "open"
        if self._server is None:
            await self.start()

    async def close(self) -> None:
        self._abort_all()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


class Captured(logging.Handler):
    """Every record hookpost and uvicorn log while installed, formatted as JSON lines."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []
        self.started = time.monotonic()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(JsonFormatter().format(record))


@contextlib.contextmanager
def captured_logs() -> Iterator[Captured]:
    handler = Captured()
    # The root logger (hookpost, SQLAlchemy's pool, asyncio ...) and uvicorn's,
    # which does not propagate to it.
    loggers = [logging.getLogger(name) for name in ("", "uvicorn", "uvicorn.error")]
    for lg in loggers:
        lg.addHandler(handler)
    try:
        yield handler
    finally:
        for lg in loggers:
            lg.removeHandler(handler)


def assert_quiet_log(cap: Captured, requests: int) -> None:
    """No traceback, no 'Exception in ASGI application', a few one-line warnings."""
    assert all(r.exc_info is None for r in cap.records), [r.getMessage() for r in cap.records]
    assert not any("Exception in ASGI" in r.getMessage() for r in cap.records)
    assert all("\n" not in line and "Traceback" not in line for line in cap.lines)
    # One line when failures start, at most one more per 10 s (and a recovery line).
    limit = 3 + 2 * int((time.monotonic() - cap.started) // 10)
    outage_lines = [r for r in cap.records if r.name == "hookpost.database"]
    assert 1 <= len(outage_lines) <= limit, (requests, [r.getMessage() for r in outage_lines])
    assert len(cap.records) <= limit + 3, [r.getMessage() for r in cap.records]


# -- the routes, and what each must answer ---------------------------------------------


class Site:
    """A project, an endpoint, a signed-in browser and a portal link, made while all is well."""

    def __init__(self, hp: Hookpost, browser: httpx.AsyncClient) -> None:
        self.hp = hp
        self.browser = browser
        self.pid = ""
        self.key = ""
        self.eid = ""
        self.portal = ""

    async def setup(self, url: str) -> None:
        self.pid, self.key = await self.hp.project()
        self.eid = (await self.hp.endpoint(self.pid, url))["id"]
        r = await self.browser.post("/login", data={"token": ADMIN, "next": "/"})
        assert r.status_code == 303, r.text
        r = await self.hp.http.post(f"/api/v1/projects/{self.pid}/portal-link", json={})
        assert r.status_code == 200, r.text
        self.portal = httpx.URL(r.json()["url"]).path

    async def call(self, who: str, method: str, path: str, body: Any) -> httpx.Response:
        path = path.format(pid=self.pid, eid=self.eid, portal=self.portal)
        if who == "browser":
            return await self.browser.request(method, path, headers={"Accept": "text/html"})
        headers = {"Authorization": f"Bearer {self.key}"} if who == "key" else {}
        return await self.hp.http.request(method, path, json=body, headers=headers)


PUBLISH = {"event_type": "user.created", "payload": {"id": 1}}
#: (who, method, path, body): every kind of route -- writes, reads, dashboard, portal.
OUTAGE_ROUTES: list[tuple[str, str, str, Any]] = [
    ("admin", "POST", "/api/v1/projects/{pid}/events", PUBLISH),
    ("key", "POST", "/api/v1/projects/{pid}/events", PUBLISH),
    ("admin", "GET", "/api/v1/projects/{pid}/events", None),
    ("key", "GET", "/api/v1/projects/{pid}/deliveries", None),
    ("admin", "GET", "/api/v1/projects/{pid}/endpoints/{eid}", None),
    ("admin", "POST", "/api/v1/projects/{pid}/endpoints", {"url": "http://127.0.0.1:9/x"}),
    ("admin", "GET", "/api/v1/projects", None),
    ("browser", "GET", "/", None),
    ("browser", "GET", "/projects/{pid}/endpoints", None),
    ("browser", "GET", "/projects/{pid}/endpoints/{eid}", None),
    ("browser", "GET", "{portal}/events", None),
]


def assert_outage_answer(r: httpx.Response, status: int, route: Any) -> None:
    assert r.status_code == status, (route, r.status_code, r.text[:300])
    assert int(r.headers["retry-after"]) > 0, route
    if route[0] == "browser":
        assert r.headers["content-type"].startswith("text/html"), route
        assert "database" in r.text.lower() and f"HTTP {status}" in r.text, route
        return
    body = r.json()
    assert body["error"] == ("database_full" if status == 507 else "database_unavailable")
    assert "database" in body["message"], body


def keepalive_pair(base_url: str, body: dict[str, Any], path: str) -> tuple[int, int, bool]:
    """Two requests on one http.client connection: the failed one, then /healthz."""
    url = httpx.URL(base_url)
    conn = http.client.HTTPConnection(url.host, url.port, timeout=30)
    try:
        headers = {"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"}
        conn.request("POST", path, body=json.dumps(body), headers=headers)
        first = conn.getresponse()
        first.read()
        sock = conn.sock
        kept = sock is not None and first.getheader("connection", "").lower() != "close"
        conn.request("GET", "/healthz")
        second = conn.getresponse()
        second.read()
        return first.status, second.status, kept and conn.sock is sock
    finally:
        conn.close()


async def wait_ready(hp: Hookpost) -> None:
    """/readyz answers 200 again (within 10 s)."""
    for _ in range(200):
        r = await hp.http.get("/readyz")
        if r.status_code == 200:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"still not ready: {r.text}")


# -- PostgreSQL cut mid-run ------------------------------------------------------------


@pytest.fixture
async def pg_database(pg_template: str) -> AsyncIterator[str]:
    name = f"hookpost_cut_{os.getpid()}_{free_port()}"
    await asyncio.to_thread(_pg_exec, f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    yield name
    await asyncio.to_thread(_pg_exec, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def _publisher(hp: Hookpost, pid: str, stop: asyncio.Event, out: list[Any]) -> None:
    """About 50 publishes a second until told to stop (at most 2000)."""
    for i in range(2000):
        if stop.is_set():
            return
        r = await hp.http.post(
            f"/api/v1/projects/{pid}/events",
            json={**PUBLISH, "event_id": f"evt-run-{i}"},
        )
        out.append((r.status_code, f"evt-run-{i}", r.headers.get("retry-after")))
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("mode", ["reset", "refuse", "hang", "stall"])
async def test_postgres_cut_answers_503_and_loses_nothing(
    mode: str, pg_database: str, receiver: Receiver
) -> None:
    proxy = CutProxy()
    await proxy.start()
    url = _pg_url(pg_database).replace(":5432/", f":{proxy.port}/")
    publisher: asyncio.Task[None] | None = None
    try:
        # A claim the cut interrupted may have committed unseen: its lease
        # (5 s of the test's clock) expires and the delivery goes out again.
        async for hp in start_hookpost(
            url,
            ManualClock(),
            store_options={"connect_timeout": 2.0, "command_timeout": 3.0},
            lease_seconds=5,
        ):
            async with httpx.AsyncClient(base_url=hp.base_url, timeout=30) as browser:
                site = Site(hp, browser)
                await site.setup(receiver.url())
                answers: list[Any] = []
                stop = asyncio.Event()
                publisher = asyncio.create_task(_publisher(hp, site.pid, stop, answers))
                await asyncio.sleep(0.3)
                with captured_logs() as cap:
                    await proxy.cut(mode)
                    await asyncio.sleep(0.3)
                    for route in OUTAGE_ROUTES:
                        assert_outage_answer(await site.call(*route), 503, route)
                    first, second, kept = await asyncio.to_thread(
                        keepalive_pair, hp.base_url, PUBLISH, f"/api/v1/projects/{site.pid}/events"
                    )
                    assert (first, second, kept) == (503, 200, True)
                    r = await hp.http.get("/readyz")
                    assert r.status_code == 503 and r.json()["checks"]["database"] == "unreachable"
                    burst = await asyncio.gather(
                        *(
                            site.call("admin", "POST", OUTAGE_ROUTES[0][2], PUBLISH)
                            for _ in range(20)
                        )
                    )
                    assert {b.status_code for b in burst} == {503}
                    await asyncio.sleep(0.5)
                    assert_quiet_log(cap, len(answers) + len(OUTAGE_ROUTES) + 22)
                await proxy.restore()
                await wait_ready(hp)
                await asyncio.sleep(0.3)
                stop.set()
                await publisher
                statuses = {a[0] for a in answers}
                assert statuses <= {202, 503}, statuses
                assert 503 in statuses and answers[-1][0] == 202, answers[-5:]
                assert all(a[2] for a in answers if a[0] == 503)
                accepted = [a[1] for a in answers if a[0] == 202]
                await hp.advance(6)
                for event_id in accepted:
                    r = await hp.http.get(f"/api/v1/projects/{site.pid}/events/{event_id}")
                    assert r.status_code == 200, (event_id, r.text)
                got = await receiver.wait_for(len(accepted), timeout=60)
                delivered = {
                    v for g in got for k, v in g.headers.items() if k.lower() == "webhook-id"
                }
                assert set(accepted) <= delivered
                for route in OUTAGE_ROUTES:
                    r = await site.call(*route)
                    assert r.status_code < 400, (route, r.status_code, r.text[:300])
    finally:
        if publisher is not None and not publisher.done():
            publisher.cancel()  # a failed assertion left it running
        await proxy.close()


# -- SQLite on a full disk -----------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs (needs root; skipped where mounting is not permitted)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def empty_wal(database: Path) -> None:
    """Copy the ``-wal`` log back and truncate it to 0 bytes, so every later write
    needs new disk space.

    The server's background checkpointer (``store/_checkpoint``) copies the log
    back while it runs; the next write then starts the log over *inside* the
    file's existing blocks, and succeeds on a full disk -- rightly, it is
    durable. Which writes that is depends on when a pass ran, so the test takes
    the reuse away before filling the disk.
    """
    with contextlib.closing(sqlite3.connect(database, timeout=10)) as db:
        busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    assert busy == 0
    assert Path(f"{database}-wal").stat().st_size == 0


def fill(directory: Path) -> Path:
    """Write a file until the disk is full (bounded by the disk's size)."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for _ in range(4096):
            try:
                os.write(fd, b"\0" * 4096)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                return filler
    finally:
        os.close(fd)
    raise AssertionError("the disk did not fill")


#: (who, method, path, body): the writes a full disk refuses, API and dashboard.
FULL_DISK_ROUTES: list[tuple[str, str, str, Any]] = [
    ("admin", "POST", "/api/v1/projects/{pid}/events", {**PUBLISH, "payload": {"x": "y" * 3000}}),
    ("key", "POST", "/api/v1/projects/{pid}/events", PUBLISH),
    ("admin", "POST", "/api/v1/projects/{pid}/endpoints", {"url": "http://127.0.0.1:9/x"}),
    ("admin", "PATCH", "/api/v1/projects/{pid}/endpoints/{eid}", {"description": "x" * 900}),
    ("admin", "POST", "/api/v1/projects", {"name": "another"}),
]


async def test_sqlite_full_disk_answers_507_and_recovers(
    small_disk: Path, clock: ManualClock, receiver: Receiver
) -> None:
    url = f"sqlite:///{small_disk}/hookpost.db"
    await asyncio.to_thread(upgrade, url)
    async for hp in start_hookpost(url, clock, workers=False):
        async with httpx.AsyncClient(base_url=hp.base_url, timeout=30) as browser:
            site = Site(hp, browser)
            await site.setup(receiver.url())
            before = await hp.publish(site.pid, event_id="evt-before")
            assert (await hp.http.get("/readyz")).status_code == 200
            await asyncio.to_thread(empty_wal, small_disk / "hookpost.db")
            filler = fill(small_disk)
            with captured_logs() as cap:
                r = await hp.http.get("/readyz")  # before any write failed
                assert r.status_code == 503 and "full" in r.json()["checks"]["database"]
                for route in FULL_DISK_ROUTES:
                    assert_outage_answer(await site.call(*route), 507, route)
                burst = await asyncio.gather(  # the group commit, many at once
                    *(
                        site.call("admin", "POST", FULL_DISK_ROUTES[0][2], FULL_DISK_ROUTES[0][3])
                        for _ in range(20)
                    )
                )
                assert {b.status_code for b in burst} == {507}
                page = await browser.get("/")
                csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
                r = await browser.post(
                    "/projects",
                    data={"name": "x" * 200, "csrf": csrf},
                    headers={"Accept": "text/html"},
                )
                assert_outage_answer(r, 507, ("browser", "POST", "/projects", None))
                first, second, kept = await asyncio.to_thread(
                    keepalive_pair,
                    hp.base_url,
                    FULL_DISK_ROUTES[0][3],
                    f"/api/v1/projects/{site.pid}/events",
                )
                assert (first, second, kept) == (507, 200, True)
                r = await hp.http.get("/readyz")
                assert r.status_code == 503
                assert r.json()["checks"]["database"].startswith("writes failing")
                # Reads still work on a full disk.
                r = await hp.http.get(f"/api/v1/projects/{site.pid}/events/{before['id']}")
                assert r.status_code == 200
                assert_quiet_log(cap, len(FULL_DISK_ROUTES) + 24)
            filler.unlink()
            await wait_ready(hp)
            for route in FULL_DISK_ROUTES:
                r = await site.call(*route)
                assert r.status_code < 300, (route, r.status_code, r.text[:300])
            events = (await hp.http.get(f"/api/v1/projects/{site.pid}/events")).json()["data"]
            assert {"evt-before"} <= {e["id"] for e in events}
