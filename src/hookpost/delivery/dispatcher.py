"""The dispatcher: the worker that turns pending deliveries into HTTP requests.

    claim (a batch, leased) -> attempt (prepare, send, classify, decide) -> record (batched)

:class:`Dispatcher` is the worker's face (``hookpost serve`` and ``hookpost
worker`` build one, tests drive it) and the place its parts meet:

- :mod:`~hookpost.delivery._loop`: the claim loop and its slots;
- :mod:`~hookpost.delivery._attempt`: one attempt, prepare -> send ->
  classify -> decide (the meaning of an answer is :mod:`hookpost.domain`'s);
- :mod:`~hookpost.delivery._recorder`: outcomes to the database in batches;
- :mod:`~hookpost.delivery._tasks`: the recorder and the maintenance loops
  (heartbeat, jobs, retention, listen), started by name and watched -- one
  that dies stops the worker with an error instead of leaving it half alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from hookpost.config import Settings
from hookpost.core.clock import Clock, SystemClock
from hookpost.delivery._attempt import Attempts
from hookpost.delivery._loop import ClaimLoop
from hookpost.delivery._recorder import Recorder
from hookpost.delivery._tasks import Listening, Liveness, Maintenance, Supervisor, TaskDied
from hookpost.delivery.sender import Sender
from hookpost.domain import ClaimedDelivery, Outcome
from hookpost.store import Store

log = logging.getLogger("hookpost.dispatcher")


class Dispatcher:
    def __init__(
        self,
        store: Store,
        settings: Settings | None = None,
        *,
        clock: Clock | None = None,
        sender: Sender | None = None,
    ) -> None:
        self.store = store
        self.settings = settings or Settings()
        self.clock: Clock = clock or store.clock or SystemClock()
        self.sender = sender or Sender.from_settings(self.settings)
        self.policy = self.settings.health_policy
        self._stopping = asyncio.Event()
        self._attempts = Attempts(self.sender, self.clock, self.settings.default_timeout_seconds)
        self._loop = ClaimLoop(
            store,
            self.settings,
            clock=self.clock,
            policy=self.policy,
            stopping=self._stopping,
            attempt=self._attempts.attempt,
            record=self._record,
        )
        self._recorder = Recorder(
            store,
            self.policy,
            coalesce_seconds=self.settings.coalesce_seconds,
            stopping=self._stopping,
            gates=self._loop.slots.gates,
            recorded=self._loop.recorded,
        )
        self._maintenance = Maintenance(
            store, self.settings, wake=self.wake, leases=self._loop.slots.lease_tokens
        )

    @property
    def last_tick(self) -> float:
        """monotonic time of the last claim-loop turn; /readyz reports a stall."""
        return self._loop.last_tick

    @property
    def worker(self) -> str | None:
        """This worker's id in its lease tokens, while it holds its lock (see :meth:`run`)."""
        return self._loop.worker

    # -- control -------------------------------------------------------------

    def wake(self) -> None:
        """New work may be due: claim now instead of at the next poll."""
        self._loop.wake()

    def stop(self) -> None:
        self._stopping.set()
        self._loop.stop()

    async def run(self) -> None:
        """Run until :meth:`stop`; then finish in-flight requests and record them.

        Shutdown is bounded: requests still running after the grace period are
        cancelled and their deliveries handed back as pending, so another
        worker takes them at once instead of waiting for the lease to expire.
        If a supervised task dies, the worker shuts down the same way and
        raises :class:`~hookpost.delivery._tasks.TaskDied`.
        """
        await self.sender.start()
        presence = self.store.presence(self.settings.database_url)
        self._loop.worker = None if presence is None else await presence.acquire()
        await self._maintenance.reclaim()
        listener = self.store.listener(self.settings.database_url, self.wake)
        tasks = self._start_tasks(presence, listener)
        claiming = asyncio.create_task(self._loop.run(), name="hookpost-claim")
        watching = asyncio.create_task(tasks.watch(), name="hookpost-supervisor")
        try:
            await asyncio.wait({claiming, watching}, return_when=asyncio.FIRST_COMPLETED)
            if watching.done():
                self.stop()
                await asyncio.wait({claiming})
                watching.result()  # raises TaskDied
            claiming.result()
        finally:
            for t in (claiming, watching):
                t.cancel()
            await asyncio.gather(claiming, watching, return_exceptions=True)
            await self._loop.finish(self.settings.shutdown_grace_seconds)
            if tasks.alive("recorder"):
                await self._recorder.drained()
            due_query = self._loop.due_query
            await tasks.stop(*([due_query] if due_query is not None else []))
            leases = self._loop.slots.lease_tokens()
            if leases:
                with contextlib.suppress(Exception):
                    await self.store.release_leases(leases)
            if listener is not None:
                await listener.close()
            if presence is not None:
                await presence.close()
            await self.sender.close()

    def _start_tasks(self, presence: Liveness | None, listener: Listening | None) -> Supervisor:
        """The recorder and the maintenance loops, each by name (see ``_tasks``)."""
        tasks = Supervisor()
        m = self._maintenance
        tasks.start("recorder", self._recorder.run)
        tasks.start("heartbeat", lambda: m.heartbeat(presence))
        tasks.start("jobs", m.jobs)
        if self.settings.retention_days > 0 or self.settings.audit_retention_days > 0:
            tasks.start("retention", m.retention)
        if listener is not None:
            tasks.start("listen", lambda: m.listen(listener))
        return tasks

    async def run_once(self) -> int:
        """Claim one batch, deliver it and record it (for tests and tools)."""
        await self.sender.start()
        claim = await self.store.claim(
            self.settings.claim_batch, self.settings.lease_seconds, policy=self.policy
        )
        jobs = claim.jobs
        outcomes = await asyncio.gather(*(self.attempt(j) for j in jobs))
        await self.store.record(outcomes, self.policy)
        return len(jobs)

    async def attempt(self, job: ClaimedDelivery) -> Outcome:
        """One attempt of a claimed delivery (not recorded)."""
        return await self._attempts.attempt(job)

    def _record(self, outcome: Outcome) -> None:
        self._recorder.put(outcome)


__all__ = ["Dispatcher", "TaskDied"]
