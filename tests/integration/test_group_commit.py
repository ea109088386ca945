"""The group commit's scheduling, with writes the test controls (no database).

A publish that finds the writer free and nobody waiting writes its own
transaction in its own task -- no hand-off to a committing task and back, which
a lone publish used to pay; publishes arriving meanwhile wait and go together
into the next transaction, as many at once as the concurrency allows.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from hookpost.core.clock import ManualClock
from hookpost.store import Store
from hookpost.store._group_commit import GroupCommit, Published, PublishRequest
from hookpost.store.migrate import upgrade
from hookpost.store.outage import DatabaseHealth


def _request(n: int) -> PublishRequest:
    return PublishRequest("p", "a.b", f'{{"n":{n}}}', f"e{n}", None)


class _Writes:
    """Records each transaction (its requests and the task that wrote it); a gate
    holds the writes until the test opens it."""

    def __init__(self) -> None:
        self.batches: list[list[str | None]] = []
        self.tasks: list[asyncio.Task[Any] | None] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def batch(self, requests: list[PublishRequest]) -> list[Published]:
        self.batches.append([r.event_id for r in requests])
        self.tasks.append(asyncio.current_task())
        await self.gate.wait()
        return [({"id": r.event_id}, 1, True) for r in requests]

    async def one(self, request: PublishRequest) -> Published:
        return (await self.batch([request]))[0]


async def _one_writing_then(
    commit: GroupCommit, writes: _Writes, more: int
) -> list[asyncio.Task[Published]]:
    """e0 being written (held at the gate), then e1 .. e<more> submitted behind it."""
    writes.gate.clear()
    tasks = [asyncio.create_task(commit.submit(_request(0)))]
    await asyncio.sleep(0)
    tasks += [asyncio.create_task(commit.submit(_request(n))) for n in range(1, more + 1)]
    await asyncio.sleep(0.01)
    return tasks


async def test_a_lone_publish_is_written_in_its_own_task() -> None:
    writes = _Writes()
    commit = GroupCommit(writes.batch, writes.one, DatabaseHealth())
    (answer,) = await commit.submit_many([_request(1)])
    assert answer == ({"id": "e1"}, 1, True)
    assert writes.tasks == [asyncio.current_task()]


async def test_publishes_arriving_during_a_write_go_together_into_the_next() -> None:
    writes = _Writes()
    commit = GroupCommit(writes.batch, writes.one, DatabaseHealth())
    tasks = await _one_writing_then(commit, writes, 5)
    assert writes.batches == [["e0"]]  # the others wait for the writer
    writes.gate.set()
    answers = await asyncio.gather(*tasks)
    assert writes.batches == [["e0"], ["e1", "e2", "e3", "e4", "e5"]]
    assert [a[0]["id"] for a in answers] == [f"e{n}" for n in range(6)]
    assert (await commit.submit(_request(6)))[0] == {"id": "e6"}  # the writer is free again
    assert writes.tasks[-1] is asyncio.current_task()


async def test_as_many_transactions_at_once_as_the_concurrency_allows() -> None:
    writes = _Writes()
    commit = GroupCommit(writes.batch, writes.one, DatabaseHealth(), concurrency=2)
    writes.gate.clear()
    tasks = [asyncio.create_task(commit.submit(_request(n))) for n in range(4)]
    await asyncio.sleep(0.01)
    assert writes.batches == [["e0"], ["e1"]]
    writes.gate.set()
    await asyncio.gather(*tasks)
    assert writes.batches == [["e0"], ["e1"], ["e2", "e3"]]


async def test_a_failed_batch_is_retried_one_by_one_so_one_bad_request_fails_alone() -> None:
    writes = _Writes()

    async def batch(requests: list[PublishRequest]) -> list[Published]:
        if len(requests) > 1:
            raise ValueError("one of them is bad")
        return await writes.batch(requests)

    async def one(request: PublishRequest) -> Published:
        if request.event_id == "e2":
            raise ValueError("e2 is bad")
        return await writes.one(request)

    commit = GroupCommit(batch, one, DatabaseHealth())
    tasks = await _one_writing_then(commit, writes, 3)
    writes.gate.set()
    answers = await asyncio.gather(*tasks, return_exceptions=True)
    ids = [a if isinstance(a, BaseException) else a[0]["id"] for a in answers]
    assert ids[:2] == ["e0", "e1"] and ids[3] == "e3"
    assert isinstance(ids[2], ValueError)


async def test_close_cancels_the_waiting_publishes() -> None:
    writes = _Writes()
    commit = GroupCommit(writes.batch, writes.one, DatabaseHealth())
    first, waiting = await _one_writing_then(commit, writes, 1)
    await commit.close()
    await asyncio.sleep(0)
    assert waiting.cancelled()
    first.cancel()


async def test_a_publish_waits_while_another_write_holds_the_writer(tmp_path: Path) -> None:
    """The writer connection is taken from the pool at once when it is free, and
    waited for (SQLAlchemy's pool, in a greenlet) while another transaction has it."""
    url = f"sqlite:///{tmp_path}/hookpost.db"
    await asyncio.to_thread(upgrade, url)
    store = Store.from_url(url, ManualClock())
    try:
        project, _key = await store.create_project("p")
        async with store.writer.begin():
            publish = asyncio.create_task(store.publish(project["id"], "a.b", "{}", "evt-1"))
            await asyncio.sleep(0.1)
            assert not publish.done()
        _event, _count, created = await asyncio.wait_for(publish, 10)
        assert created
        _event, _count, created = await store.publish(project["id"], "a.b", "{}", "evt-2")
        assert created
    finally:
        await store.close()
