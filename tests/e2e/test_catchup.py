"""Catch-up polling never skips an event, however many publishers and API processes.

A receiver that missed webhooks follows ``GET …/events?order=asc&after=<the
largest sequence it has seen>``. That only works if sequences become visible
in order: an event with a smaller sequence must never appear after a reader
has already seen a larger one. Here several publishers write into one project
through one or two real ``hookpost serve --no-workers`` processes while a
reader follows the feed; every event must reach the reader exactly once, in
ascending order. Each event fans out to many (disabled) endpoints, so a
publish transaction stays open long enough for a race to show.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hookpost.core.clock import ManualClock
from hookpost.core.crypto import SecretBox
from hookpost.store import Store
from tests.conftest import TEST_SECRET_KEY
from tests.serveproc import Server


@pytest.fixture
def servers(db_url: str, tmp_path: Path) -> Iterator[list[Server]]:
    procs = [
        Server(db_url, tmp_path, "serve", "--no-workers", env={"HOOKPOST_LOG_LEVEL": "warning"})
        for _ in range(2)
    ]
    yield procs
    for p in procs:
        p.stop()


async def _project(c: httpx.AsyncClient, fanout: int) -> str:
    pid = str((await c.post("/api/v1/projects", json={"name": "catchup"})).json()["id"])
    for i in range(fanout):
        r = await c.post(
            f"/api/v1/projects/{pid}/endpoints",
            json={"url": f"http://127.0.0.1:9/h{i}", "enabled": False},
        )
        assert r.status_code == 201, r.text
    return pid


async def _follow(
    c: httpx.AsyncClient, pid: str, style: str, params: dict[str, Any], stop: asyncio.Event
) -> list[int]:
    """Every sequence the feed shows, in the order shown, until ``stop`` and one last read."""
    seen: list[int] = []
    cursor: str | None = None
    last = False
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        last = stop.is_set()
        query: dict[str, Any] = {"order": "asc", "limit": 200, **params}
        if style == "cursor" and cursor:
            query["cursor"] = cursor
        elif seen:
            query["after"] = seen[-1]
        r = await c.get(f"/api/v1/projects/{pid}/events", params=query)
        assert r.status_code == 200, r.text
        page = r.json()
        seen += [e["sequence"] for e in page["data"]]
        cursor = page["next_cursor"]
        if last and not cursor:
            return seen
    raise AssertionError("the reader did not finish")


# (API processes, publishers, events each, endpoints per event, reader style, filter)
CASES = [
    pytest.param(1, 12, 40, 40, "after", {}, id="one-process"),
    pytest.param(2, 12, 40, 40, "after", {}, id="two-processes"),
    pytest.param(2, 12, 40, 40, "cursor", {}, id="two-processes-next-cursor"),
    pytest.param(2, 8, 40, 0, "after", {}, id="two-processes-no-fanout"),
    pytest.param(2, 12, 40, 40, "after", {"event_type": "a.even"}, id="filtered-by-type"),
]


@pytest.mark.parametrize(("processes", "publishers", "each", "fanout", "style", "params"), CASES)
async def test_a_reader_following_after_sees_every_event_once(
    servers: list[Server],
    processes: int,
    publishers: int,
    each: int,
    fanout: int,
    style: str,
    params: dict[str, str],
) -> None:
    used = servers[:processes]
    for s in used:
        await s.start()
    clients = [s.client(timeout=120) for s in used]
    try:
        pid = await _project(clients[0], fanout)
        published: dict[int, str] = {}

        async def publisher(n: int) -> None:
            c = clients[n % len(clients)]
            for i in range(each):
                kind = "a.even" if i % 2 == 0 else "a.odd"
                body = {"event_type": kind, "payload": {"n": n, "i": i}}
                r = await c.post(f"/api/v1/projects/{pid}/events", json=body)
                assert r.status_code == 202, r.text
                published[r.json()["sequence"]] = kind

        stop = asyncio.Event()
        reader = asyncio.create_task(_follow(clients[-1], pid, style, params, stop))
        await asyncio.gather(*(publisher(n) for n in range(publishers)))
        stop.set()
        seen = await reader
    finally:
        for c in clients:
            await c.aclose()
    assert len(published) == publishers * each
    wanted = sorted(q for q, kind in published.items() if params.get("event_type", kind) == kind)
    assert seen == sorted(seen), "the feed went backwards"
    missed = sorted(set(wanted) - set(seen))
    assert not missed, f"the reader never saw {len(missed)} events: {missed[:10]}"
    assert seen == wanted  # and none twice


# (events published before the purge, purge batch size)
PURGES = [
    pytest.param(1, 1000, id="one-event"),
    pytest.param(5, 1000, id="five-events"),
    pytest.param(5, 2, id="five-events-small-batches"),
]


@pytest.mark.parametrize(("before", "batch"), PURGES)
async def test_a_purge_never_hands_a_seen_sequence_out_again(
    db_url: str, before: int, batch: int
) -> None:
    """SQLite numbers a new row one past the largest left: had retention deleted the
    newest event, the next one would take a sequence the reader already passed."""
    clock = ManualClock()
    store = Store.from_url(db_url, clock, box=SecretBox.from_text(TEST_SECRET_KEY))
    try:
        pid = (await store.create_project("retention"))[0]["id"]
        for i in range(before):
            await store.publish(pid, "a.b", f'{{"i":{i}}}')
        seen = await store.list_events(pid, limit=100, cursor=None, order="asc")
        last = seen.data[-1]["seq"]
        clock.advance(31 * 86400)
        removed = await store.purge(30 * 86400, batch=batch)
        assert removed["events"] == before - 1  # all but the newest
        new, _, _ = await store.publish(pid, "a.b", '{"new":true}')
        page = await store.list_events(pid, limit=100, cursor=None, after=last, order="asc")
        assert [e["id"] for e in page.data] == [new["id"]]
    finally:
        await store.close()
