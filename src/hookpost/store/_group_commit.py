"""Group commit: concurrent publishes written in one transaction, with one fsync.

SQLite has one writer and every commit waits for the disk; publishing one
event per commit caps a server at a few hundred events a second. Requests
queue here; one task writes whatever has queued up in a single transaction
and answers each request after that commit. If a batch fails, its requests
are retried one by one, so one bad request fails alone -- unless the
database itself is unavailable or full: then every request of the batch gets
that error at once (an answer of 503 or 507).

This module knows nothing of SQL: the store hands it the two writes
(:meth:`EventsMixin._publish_batch` and ``_publish_one`` in
:mod:`hookpost.store._events`). Both backends group publishes: on PostgreSQL
the commit is not the cost, but each publish's own round trips (a handful of
statements through the async driver) were, in the API's CPU. There several
batches are written at once (``concurrency``), so a stalled or lock-waiting
transaction holds back only its own batch, as one publish per transaction did.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from hookpost.store.outage import DatabaseHealth

__all__ = ["GroupCommit", "PublishRequest", "Published"]

#: A publish's answer: the event, how many deliveries it has, whether it is new.
Published = tuple[dict[str, Any], int, bool]


@dataclass(frozen=True, slots=True)
class PublishRequest:
    """One event to publish (see ``Store.publish``)."""

    project_id: str
    event_type: str
    payload: str
    event_id: str | None
    only_endpoint: str | None
    trace_context: str | None = None


#: Requests queued together (one publish, or one batch) and the future of their answers.
_Waiting = tuple[list[PublishRequest], asyncio.Future[list[Published]]]


class GroupCommit:
    """The queue of waiting publishes and the task that commits them in batches."""

    MAX_BATCH = 256

    def __init__(
        self,
        write_batch: Callable[[list[PublishRequest]], Awaitable[list[Published]]],
        write_one: Callable[[PublishRequest], Awaitable[Published]],
        health: DatabaseHealth,
        *,
        concurrency: int = 1,
    ) -> None:
        self._write_batch = write_batch
        self._write_one = write_one
        self._health = health
        #: Batches being written at once: 1 on SQLite (one writer); more on PostgreSQL,
        #: so one stalled transaction does not hold every publish behind it.
        self._concurrency = concurrency
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[_Waiting] | None = None
        self._task: asyncio.Task[None] | None = None
        self._writing: set[asyncio.Task[None]] = set()

    async def submit(self, request: PublishRequest) -> Published:
        (result,) = await self.submit_many([request])
        return result

    async def submit_many(self, requests: list[PublishRequest]) -> list[Published]:
        """Publish these together: never split between two transactions."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._queue is None or self._task is None or self._task.done():
            self._loop = loop
            self._queue = asyncio.Queue()
            self._task = loop.create_task(self._run(self._queue), name="hookpost-group-commit")
        future: asyncio.Future[list[Published]] = loop.create_future()
        self._queue.put_nowait((requests, future))
        return await future

    async def _run(self, queue: asyncio.Queue[_Waiting]) -> None:
        slots = asyncio.Semaphore(self._concurrency)
        while True:
            # A slot first, then the batch: what queues while the slots are busy
            # goes into the next transaction together.
            await slots.acquire()
            batch = [await queue.get()]
            size = len(batch[0][0])
            while size < self.MAX_BATCH and not queue.empty():
                batch.append(queue.get_nowait())
                size += len(batch[-1][0])
            task = asyncio.create_task(self._commit(batch))
            self._writing.add(task)
            task.add_done_callback(self._writing.discard)
            task.add_done_callback(lambda _: slots.release())

    async def _commit(self, batch: list[_Waiting]) -> None:
        try:
            results = await self._write_batch([r for rs, _ in batch for r in rs])
        except Exception as exc:
            if self._health.note(exc, "a publish (group commit)") is not None:
                # The database is down or full: one by one would fail the
                # same way, a transaction each. Every request hears why.
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                return
            for requests, future in batch:
                try:
                    answers = [await self._write_one(r) for r in requests]
                except Exception as exc:
                    if not future.done():
                        future.set_exception(exc)
                else:
                    if not future.done():
                        future.set_result(answers)
            return
        each = iter(results)
        for requests, future in batch:
            mine = [next(each) for _ in requests]
            if not future.done():
                future.set_result(mine)

    async def close(self) -> None:
        for writing in list(self._writing):
            writing.cancel()
        task, self._task = self._task, None
        if task is not None and not task.done():
            with contextlib.suppress(asyncio.CancelledError, RuntimeError):
                task.cancel()
                if task.get_loop() is asyncio.get_running_loop():
                    await task
