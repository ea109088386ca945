"""Group commit: concurrent publishes written in one transaction, with one fsync.

SQLite has one writer and every commit waits for the disk; publishing one
event per commit caps a server at a few hundred events a second. Requests
that arrive while a transaction is being written wait here; when it ends,
whatever has queued up is written in a single transaction, and each request
is answered after that commit. A request that finds the writer free and
nobody waiting writes its own transaction at once. If a batch fails, its requests
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
import collections
import functools
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from hookpost.store.outage import DatabaseHealth

__all__ = ["GroupCommit", "PublishRequest", "Published"]

#: A publish's answer: the event, how many deliveries it has, whether it is new.
Published = tuple[dict[str, Any], int, bool]


class PublishRequest(NamedTuple):
    """One event to publish (see ``Store.publish``): a named tuple, made three times
    faster than a frozen dataclass -- a batch publish makes up to 500 of them."""

    project_id: str
    event_type: str
    payload: str
    event_id: str | None
    only_endpoint: str | None
    trace_context: str | None = None


#: Requests queued together (one publish, or one batch) and the future of their answers.
_Waiting = tuple[list[PublishRequest], asyncio.Future[list[Published]]]


class GroupCommit:
    """The waiting publishes, and the transactions that commit them in batches.

    No task waits for work: a publish that finds a writer free and nobody
    waiting writes its own transaction at once, in its own task (a lone
    publish -- one at a time, or the first after a pause -- pays no hand-off
    to another task and back); one that finds the writers busy waits, and
    when a transaction ends everything waiting by then (up to ``max_events``,
    :attr:`MAX_BATCH` unless the store says) is the next one's.
    """

    MAX_BATCH = 256

    def __init__(
        self,
        write_batch: Callable[[list[PublishRequest]], Awaitable[list[Published]]],
        write_one: Callable[[PublishRequest], Awaitable[Published]],
        health: DatabaseHealth,
        *,
        concurrency: int = 1,
        max_events: int = MAX_BATCH,
    ) -> None:
        self._write_batch = write_batch
        self._write_one = write_one
        self._health = health
        #: Batches being written at once: 1 on SQLite (one writer); more on PostgreSQL,
        #: so one stalled transaction does not hold every publish behind it.
        self._concurrency = concurrency
        #: The most events one transaction takes of those waiting (a batch publish
        #: larger than this still goes whole, alone).
        self._max_events = max_events
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: collections.deque[_Waiting] = collections.deque()
        #: Transactions being written now (at most ``concurrency``).
        self._active = 0
        self._epoch = 0
        self._writing: set[asyncio.Task[None]] = set()

    async def submit(self, request: PublishRequest) -> Published:
        (result,) = await self.submit_many([request])
        return result

    async def submit_many(self, requests: list[PublishRequest]) -> list[Published]:
        """Publish these together: never split between two transactions."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a store used on another event loop starts afresh
            self._reset(loop)
        future: asyncio.Future[list[Published]] = loop.create_future()
        if self._waiting or self._active >= self._concurrency:
            self._waiting.append((requests, future))
            return await future
        epoch = self._epoch
        self._active += 1
        try:
            await self._commit([(requests, future)])
        finally:
            if epoch == self._epoch:
                self._done()
        return future.result()

    def _reset(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self._loop, self._waiting, self._active = loop, collections.deque(), 0
        self._epoch += 1  # what was being written before is not counted any more

    def _done(self) -> None:
        """A transaction ended: the waiting publishes are the next ones'."""
        self._active -= 1
        while self._waiting and self._active < self._concurrency and self._loop is not None:
            batch = [self._waiting.popleft()]
            size = len(batch[0][0])
            while self._waiting and size + len(self._waiting[0][0]) <= self._max_events:
                batch.append(self._waiting.popleft())
                size += len(batch[-1][0])
            self._active += 1
            task = self._loop.create_task(self._commit(batch), name="hookpost-group-commit")
            self._writing.add(task)
            task.add_done_callback(functools.partial(self._finished, self._epoch))

    def _finished(self, epoch: int, task: asyncio.Task[None]) -> None:
        self._writing.discard(task)
        if epoch == self._epoch:
            self._done()

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
        for _, future in self._waiting:
            future.cancel()
        self._reset(None)
