"""The claim loop and its slots: how many requests go out, to whom, and when to look again.

Claiming is batched so the database sees a few statements per hundreds of
deliveries; sending is concurrent with a cap (``delivery_concurrency``), and a
slow request only occupies one slot. A retry is never a sleep: a failed
delivery goes back to the store with its next attempt time and its slot is
freed as soon as its outcome is recorded.

:class:`Slots` is the bookkeeping of what is in flight -- per lease (the
heartbeat extends them, shutdown hands them back), per endpoint (its
concurrency cap and :class:`~hookpost.domain.Windows`), and which endpoints
wait on a request to end (held back by a cap, or ordered ``fifo``).
:class:`ClaimLoop` claims into free slots, starts one task per delivery, and
sleeps until something can be due: the next scheduled delivery, news (a
publish, a freeing result), or the poll interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from hookpost.config import Settings
from hookpost.core.clock import Clock
from hookpost.domain import ClaimedDelivery, HealthPolicy, Outcome, Windows
from hookpost.observability import metrics
from hookpost.store import Store

log = logging.getLogger("hookpost.dispatcher")


class _WokenUp(Exception):
    """Woken while still looking for the next due time."""


class Slots:
    """This worker's requests in flight, and the endpoints waiting on them."""

    def __init__(self, initial_window: int, default_cap: int) -> None:
        self.inflight = 0
        #: Lease token -> deliveries of that claim still in flight (heartbeat, release).
        self.leases: Counter[str] = Counter()
        #: Endpoint id -> this worker's requests to it in flight (isolation cap).
        self.per_endpoint: Counter[str] = Counter()
        #: Endpoints the last claim left work behind for (busy or over their
        #: window): when one of their requests ends, claim again at once.
        self.held_back: set[str] = set()
        #: Ordered (fifo) endpoints with a request in flight: when it ends, the
        #: next event of that endpoint may go, so claim again at once.
        self.ordered: set[str] = set()
        #: Endpoint id -> its concurrency cap, as last seen in a claim.
        self.caps: dict[str, int] = {}
        self.default_cap = default_cap
        #: What each endpoint is granted of its cap now (slow start, halving).
        self.windows = Windows(initial_window)

    def lease_tokens(self) -> list[str]:
        return list(self.leases)

    def allowance(self, endpoint_id: str) -> int:
        cap = self.caps.get(endpoint_id, self.default_cap)
        return self.windows.allowance(endpoint_id, cap)

    def busy(self) -> list[str]:
        """Endpoints with as many requests in flight as their window allows."""
        return [ep for ep, n in self.per_endpoint.items() if n >= self.allowance(ep)]

    def take(self, jobs: list[ClaimedDelivery]) -> None:
        """Count a claim's jobs as in flight."""
        if jobs:
            self.leases[jobs[0].lease] += len(jobs)
        for job in jobs:
            self.inflight += 1
            ep = job.endpoint
            self.per_endpoint[ep.id] += 1
            self.caps[ep.id] = ep.max_concurrency or self.default_cap
            if ep.fifo:
                self.ordered.add(ep.id)

    def observe(self, outcome: Outcome) -> None:
        """Widen or halve the endpoint's window after an attempt."""
        ep_id = outcome.endpoint_id
        self.windows.observe(ep_id, outcome.success, self.caps.get(ep_id, 1))

    def release(self, leases: list[str], endpoint_ids: list[str]) -> None:
        self.inflight -= len(leases)
        self.leases.subtract(leases)
        self.leases += Counter()  # drop the leases that reached zero
        self.per_endpoint.subtract(endpoint_ids)
        self.per_endpoint += Counter()
        self.ordered.intersection_update(self.per_endpoint)

    def gates(self, outcome: Outcome) -> bool:
        """Is this the one request in flight to an endpoint whose other deliveries wait on it?

        Then nothing of that endpoint would join a coalesced write, and every
        millisecond waited delays its whole queue (a fifo endpoint sends one
        event per claim-send-record round).
        """
        ep = outcome.endpoint_id
        waiting = ep in self.ordered or ep in self.held_back
        return waiting and self.per_endpoint[ep] <= 1


class ClaimLoop:
    """Claims due deliveries into free slots and runs one attempt task per delivery.

    ``attempt`` turns a job into an outcome; ``record`` hands the outcome to
    the recorder (queued, never waiting), which calls :meth:`recorded` once it
    is written.
    """

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        clock: Clock,
        policy: HealthPolicy,
        stopping: asyncio.Event,
        attempt: Callable[[ClaimedDelivery], Awaitable[Outcome]],
        record: Callable[[Outcome], None],
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.policy = policy
        self._stopping = stopping
        self._attempt = attempt
        self._record = record
        self.slots = Slots(settings.endpoint_initial_concurrency, policy.endpoint_concurrency)
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        #: Clock time the idle loop means to wake at; a retry recorded as due
        #: sooner wakes it (see :meth:`_idle`).
        self._wake_at = -math.inf
        #: The last wake-up came from a result that freed work: claim without
        #: waiting to coalesce publishes (there are none to wait for).
        self._freed = False
        #: The idle loop's look-up of the next due time, if still running.
        self.due_query: asyncio.Task[float | None] | None = None
        #: The earliest retry recorded since the last claim began: a claim that read
        #: the next due time itself may have read before it committed (see :meth:`_idle`).
        self._due_seen = math.inf
        #: monotonic time of the last turn; /readyz reports a stall.
        self.last_tick = time.monotonic()
        #: This worker's id in its lease tokens, while it holds its lock.
        self.worker: str | None = None

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Make the loop end at its next turn (``stopping`` is already set)."""
        self._wake.set()
        self._room.set()

    async def run(self) -> None:
        s = self.settings
        slots = self.slots
        while not self._stopping.is_set():
            self.last_tick = time.monotonic()
            metrics.last_claim.set_to_current_time()
            metrics.inflight.set(slots.inflight)
            room = s.delivery_concurrency - slots.inflight
            if room <= 0:
                self._room.clear()
                # Bounded wait, so the loop keeps ticking (readiness) while full.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._room.wait(), s.poll_interval)
                continue
            self._wake.clear()
            busy = slots.busy()
            looked_at = self.clock.now()
            claimed_at = time.monotonic()
            self._due_seen = math.inf
            try:
                claim = await self.store.claim(
                    min(room, s.claim_batch),
                    s.lease_seconds,
                    inflight=slots.per_endpoint,
                    busy=busy,
                    policy=self.policy,
                    allowance=slots.windows.allowance,
                    worker=self.worker,
                )
            except Exception as exc:
                if self.store.health.note(exc, "a claim") is None:
                    log.exception("claiming deliveries failed; retrying shortly")
                await self._sleep(s.poll_interval)
                continue
            slots.held_back = claim.capped.union(busy)
            jobs = claim.jobs
            slots.take(jobs)
            for job in jobs:
                task = asyncio.create_task(self._deliver(job))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            if not jobs or not claim.more:
                # The queue is drained (or everything due is held back by
                # caps): wait for news or the next due delivery.
                await self._idle(looked_at, claim.next_due)
                await self._spaced(claimed_at)
                self._freed = False
            else:
                # Let the new requests start before claiming more.
                await asyncio.sleep(0)

    async def _spaced(self, claimed_at: float) -> None:
        """After news, claim at once -- unless the last claim was under
        ``coalesce_seconds`` ago: then wait out the rest, so one claim takes
        everything that arrives together under load.

        A fixed wait after every wake-up batched just as well under load, but
        added its whole length to every quiet event's publish-to-receipt time.
        A result that frees work (see :meth:`recorded`) never waits: there is
        nothing to gather for it.
        """
        coalesce = self.settings.coalesce_seconds
        if coalesce <= 0 or self._freed:
            return
        rest = claimed_at + coalesce - time.monotonic()
        if rest > 0:
            await asyncio.sleep(rest)

    async def finish(self, grace: float) -> None:
        """Wait up to ``grace`` seconds for requests in flight, then cancel the rest."""
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for t in pending:
            t.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _deliver(self, job: ClaimedDelivery) -> None:
        try:
            outcome = await self._attempt(job)
        except Exception:
            # A bug, not a delivery failure: leave the lease to expire so the
            # delivery is retried rather than lost.
            log.exception("delivery %s crashed", job.delivery_id)
            self._release([job.lease], [job.endpoint.id])
            return
        self.slots.observe(outcome)
        self._record(outcome)

    def _release(self, leases: list[str], endpoint_ids: list[str]) -> None:
        self.slots.release(leases, endpoint_ids)
        self._room.set()

    def recorded(self, batch: list[Outcome]) -> None:
        """The recorder wrote ``batch`` (or gave up on it): free its slots."""
        for o in batch:
            if o.next_attempt_at is not None and o.next_attempt_at < self._due_seen:
                self._due_seen = o.next_attempt_at
        if self._frees_work(batch):
            self._freed = True
            self._wake.set()
        self._release([o.lease for o in batch], [o.endpoint_id for o in batch])

    def _frees_work(self, batch: list[Outcome]) -> bool:
        """Does this batch of results make a delivery claimable before the loop would look?

        Yes for a result on an endpoint the last claim held back (a cap, a
        window) or on a fifo endpoint (its next event may go), and for a retry
        due before the idle loop means to wake.
        """
        slots = self.slots
        for o in batch:
            if o.endpoint_id in slots.held_back or o.endpoint_id in slots.ordered:
                return True
            if o.next_attempt_at is not None and o.next_attempt_at < self._wake_at:
                return True
        return False

    async def _idle(self, looked_at: float, next_due: float | None = None) -> None:
        """Sleep until the next delivery is due, news arrives, or a poll interval passes.

        A fixed poll made a retry due in 0.3 s go out at the next tick, up to a
        second late, and a fifo endpoint drain one event per tick. So the loop
        sleeps until the earliest delivery scheduled after ``looked_at`` (when
        the last claim looked; what was due before then and left behind is held
        back by a cap, a fifo head or an open circuit, and waiting for it would
        spin). What frees such deliveries wakes the loop instead: a result on a
        held-back or fifo endpoint, a retry recorded as due sooner than this
        sleep ends (:meth:`recorded`), a publish (NOTIFY or the in-process
        wake). The poll interval stays as the longest sleep, a safety net.

        ``next_due``: the claim's own reading of that time (``inf``: none), when
        it made one (SQLite); then there is no query. A retry recorded after the
        claim read it but before this turn began (the claim's answer and the
        record's reach the loop in either order) is in ``_due_seen``, the
        earliest retry recorded since the claim began; one recorded from here on
        compares against ``_wake_at``.
        """
        poll = self.settings.poll_interval
        # Set before looking: a retry recorded while the query runs compares
        # against this bound, one recorded before it is seen by the query.
        self._wake_at = self.clock.now() + poll
        if next_due is not None:
            soonest = min(next_due, self._due_seen)
            due: float | None = None if soonest == math.inf else soonest
        else:
            try:
                due = await self._next_due(looked_at, poll)
            except _WokenUp:
                self._wake_at = -math.inf
                return
        wait = poll if due is None else min(poll, max(0.0, due - self.clock.now()))
        if due is not None:
            self._wake_at = min(self.clock.now() + poll, due)
        await self._sleep(wait)
        self._wake_at = -math.inf

    async def _next_due(self, looked_at: float, poll: float) -> float | None:
        """The next due time after ``looked_at``; raises :class:`_WokenUp` if woken first.

        Under load the query can take longer than a result takes to arrive
        (a fifo endpoint waits on every one): the loop then claims at once and
        the query runs on, to be read by the next idle turn. That answer may
        be stale (an older ``looked_at``): at worst the loop claims once more.
        """
        query = self.due_query
        if query is None or query.done():
            query = asyncio.create_task(self.store.next_due_at(after=looked_at))
            # A query left running when the loop was woken may fail (the database
            # away) and be replaced, or outlive the loop, unread: mark its exception
            # retrieved, or asyncio logs "Task exception was never retrieved" at
            # collection -- an error line during an outage the store already reports.
            query.add_done_callback(_retrieved)
            self.due_query = query
        woken: asyncio.Task[Any] = asyncio.create_task(self._wake.wait())
        either: set[asyncio.Task[Any]] = {query, woken}
        try:
            await asyncio.wait(either, timeout=poll, return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
        if not query.done():
            raise _WokenUp
        self.due_query = None
        try:
            return query.result()
        except Exception as exc:
            if self.store.health.note(exc, "reading the next due time") is None:
                log.warning("reading the next due time failed; polling", exc_info=True)
            return None

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)


def _retrieved(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


__all__ = ["ClaimLoop", "Slots"]
