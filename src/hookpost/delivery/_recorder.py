"""The recorder: attempts' outcomes to the database, many per write.

Every finished attempt is :meth:`Recorder.put` on a queue; :meth:`Recorder.run`
takes what has gathered (up to 512, after waiting ``coalesce_seconds`` for
more unless the outcome gates its endpoint's queue) and records it with one
``Store.record``. A database that is away is retried with backoff; a row the
database refuses never comes back here (the store records it without its
request and response). After each batch the claim loop is told
(``recorded``), which frees the slots and may claim again at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from hookpost.domain import HealthPolicy, Outcome
from hookpost.observability import metrics
from hookpost.store import RecordIncomplete, Store

log = logging.getLogger("hookpost.dispatcher")

#: Outcomes recorded by one write at most.
RECORD_BATCH = 512
#: Waits between tries of a batch the database did not take; then the leases expire.
_RETRY_DELAYS: tuple[float | None, ...] = (0.1, 0.5, 2.0, 5.0, None)


def log_outcomes(batch: list[Outcome]) -> None:
    """One line per attempt at debug, per failure at info; ids only, no bodies."""
    debug = log.isEnabledFor(logging.DEBUG)
    for o in batch:
        if o.success and not debug:
            continue
        fields = {
            "delivery_id": o.delivery_id,
            "event_id": o.event_id,
            "endpoint_id": o.endpoint_id,
            "attempt": o.number,
            "status_code": o.status_code,
            "duration_ms": round(o.duration_ms, 1),
            "delivery_status": o.status,
        }
        if o.success:
            log.debug("delivered", extra=fields)
        else:
            log.info("attempt failed: %s", o.error, extra=fields)


class Recorder:
    """Batches outcomes into ``Store.record`` calls.

    ``gates(outcome)`` says an outcome holds up its endpoint's queue (record it
    without coalescing); ``recorded(batch)`` runs after each batch, written or
    given up on.
    """

    def __init__(
        self,
        store: Store,
        policy: HealthPolicy,
        *,
        coalesce_seconds: float,
        stopping: asyncio.Event,
        gates: Callable[[Outcome], bool],
        recorded: Callable[[list[Outcome]], None],
    ) -> None:
        self.store = store
        self.policy = policy
        self.coalesce_seconds = coalesce_seconds
        self._stopping = stopping
        self._gates = gates
        self._recorded = recorded
        self._results: asyncio.Queue[Outcome] = asyncio.Queue()

    def put(self, outcome: Outcome) -> None:
        """Queue ``outcome`` (the queue is unbounded: this never waits)."""
        self._results.put_nowait(outcome)

    async def drained(self) -> None:
        """Until every outcome put so far is recorded (or given up on)."""
        await self._results.join()

    async def run(self) -> None:
        """Record forever (a supervised task of the worker)."""
        while True:
            first = await self._results.get()
            coalesce = self.coalesce_seconds
            if self._results.qsize() < RECORD_BATCH and coalesce > 0 and not self._gates(first):
                await asyncio.sleep(coalesce)  # one write for many
            batch = [first]
            while len(batch) < RECORD_BATCH and not self._results.empty():
                batch.append(self._results.get_nowait())
            log_outcomes(batch)
            try:
                await self._record_with_retry(batch)
            finally:
                for _ in batch:
                    self._results.task_done()
                self._recorded(batch)

    async def _record_with_retry(self, batch: list[Outcome]) -> None:
        """Record, retrying only what the store could not write (the database was away).

        A row the database refuses does not come back here: the store records
        it without its request and response (``Store.record``).
        """
        for delay in _RETRY_DELAYS:
            try:
                await self.store.record(batch, self.policy)
                metrics.record_outcomes(batch)
                return
            except Exception as exc:
                cause: BaseException = exc
                if isinstance(exc, RecordIncomplete):
                    written = len(batch) - len(exc.remaining)
                    metrics.record_outcomes(batch[:written])
                    batch, cause = exc.remaining, exc.__cause__ or exc
                # A database outage is logged once per interval by the store's health.
                outage = self.store.health.note(cause, "recording attempts")
                if delay is None or self._stopping.is_set():
                    # The leases will expire and the deliveries will be retried.
                    if outage is None:
                        log.exception("recording %d attempts failed; retried later", len(batch))
                    return
                if outage is None:
                    log.warning("recording attempts failed; retrying in %.1fs", delay)
                await asyncio.sleep(delay)


__all__ = ["RECORD_BATCH", "Recorder", "log_outcomes"]
