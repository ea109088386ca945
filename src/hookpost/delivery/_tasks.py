"""The worker's side tasks, started by name and watched: one dying stops the worker.

Beside the claim loop a worker runs a few loops of its own:

- ``recorder`` writes attempts' outcomes (:mod:`hookpost.delivery._recorder`);
- ``heartbeat`` extends this worker's leases, keeps its proof of life, and
  hands deliveries leased by dead workers back at once (:meth:`Maintenance.heartbeat`);
- ``jobs`` runs queued bulk jobs (recover) in bounded batches;
- ``retention`` purges what is older than ``retention_days`` (and audit entries
  older than ``audit_retention_days``);
- ``listen`` keeps the cross-process wake-up channel open (LISTEN/NOTIFY, or
  SQLite's datagrams).

Each loop handles the failures it expects (the database away, a lock lost)
and goes on. One that ends anyway -- a bug, an error nobody foresaw -- used to
end silently: its exception sat in a task nobody awaited, and the worker went
on without heartbeats (its leases expired under it) or without recording
(every delivery sent again after the lease). Now :class:`Supervisor` notices
at once: it logs an error naming the task and :meth:`Supervisor.watch` raises
:class:`TaskDied`, which stops the worker (``Dispatcher.run`` finishes its
in-flight requests, hands back its leases and raises; ``hookpost worker``
exits non-zero).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from hookpost.config import Settings
from hookpost.store import Store

log = logging.getLogger("hookpost.dispatcher")

#: Seconds between checks that the wake-up listener is still connected.
LISTEN_CHECK_SECONDS = 5.0


class Liveness(Protocol):
    """A worker's proof of life (``Store.presence``): retaken by each heartbeat."""

    async def ensure(self) -> None: ...


class Listening(Protocol):
    """A wake-up channel (``Store.listener``): True while connected."""

    async def ensure(self) -> bool: ...


class TaskDied(RuntimeError):
    """A supervised task ended while the worker was running."""

    def __init__(self, name: str, cause: BaseException | None) -> None:
        how = "returned" if cause is None else f"raised {type(cause).__name__}: {cause}"
        super().__init__(f"the worker's {name!r} task {how}; stopping the worker")
        self.name = name


class Supervisor:
    """Named tasks that must run as long as the worker does."""

    def __init__(self, prefix: str = "hookpost") -> None:
        self.prefix = prefix
        self._tasks: dict[str, asyncio.Task[None]] = {}

    @property
    def names(self) -> list[str]:
        return list(self._tasks)

    def start(self, name: str, run: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Start ``run()`` as the task called ``name``."""
        if name in self._tasks:
            raise ValueError(f"a task named {name!r} is already running")
        self._tasks[name] = asyncio.create_task(run(), name=f"{self.prefix}-{name}")

    async def watch(self) -> None:
        """Wait until a task ends, log it as an error and raise :class:`TaskDied`.

        Never returns; cancelling it leaves the tasks running (:meth:`stop`
        ends them).
        """
        if not self._tasks:
            await asyncio.Future()  # nothing to watch: wait to be cancelled
        by_task = {task: name for name, task in self._tasks.items()}
        done, _ = await asyncio.wait(by_task, return_when=asyncio.FIRST_COMPLETED)
        task = next(iter(done))
        name = by_task[task]
        cause = None if task.cancelled() else task.exception()
        log.error(
            "the worker's %r task ended; stopping the worker",
            name,
            exc_info=(type(cause), cause, cause.__traceback__) if cause is not None else None,
        )
        raise TaskDied(name, cause) from cause

    def alive(self, name: str) -> bool:
        task = self._tasks.get(name)
        return task is not None and not task.done()

    async def stop(self, *also: asyncio.Task[Any]) -> None:
        """Cancel every task (and ``also``) and wait for them to end."""
        tasks: list[asyncio.Task[Any]] = [*self._tasks.values(), *also]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()


class Maintenance:
    """The worker's side loops (see the module docstring); ``wake`` nudges the claim loop."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        wake: Callable[[], None],
        leases: Callable[[], list[str]],
    ) -> None:
        self.store = store
        self.settings = settings
        self._wake = wake
        self._leases = leases

    async def heartbeat(self, presence: Liveness | None) -> None:
        """Keep this worker's leases, and take over those of workers found dead."""
        interval = max(self.settings.lease_seconds / 3, 0.05)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.store.extend_leases(self._leases(), self.settings.lease_seconds)
            except Exception as exc:
                if self.store.health.note(exc, "a lease heartbeat") is None:
                    log.warning("lease heartbeat failed", exc_info=True)
            if presence is not None:
                try:
                    await presence.ensure()
                except Exception as exc:  # never let it stop the heartbeat
                    if self.store.health.note(exc, "retaking the worker lock") is None:
                        log.warning("retaking the worker lock failed", exc_info=True)
            await self.reclaim()

    async def reclaim(self) -> None:
        """Deliveries leased by a worker whose process is gone are due now, not at
        lease expiry: a restarted ``hookpost serve`` resends them at once."""
        try:
            n = await self.store.reclaim_dead_leases()
        except Exception as exc:
            if self.store.health.note(exc, "reclaiming dead workers' leases") is None:
                log.warning("reclaiming the leases of dead workers failed", exc_info=True)
            return
        if n:
            log.info("reclaimed %d deliveries leased by workers that are gone", n)
            self._wake()

    async def jobs(self) -> None:
        """Run queued bulk jobs (recover) in bounded batches, one at a time."""
        while True:
            try:
                job = await self.store.claim_job(self.settings.lease_seconds)
                while job is not None and job["status"] == "running":
                    job = await self.store.run_job_batch(job, self.settings.lease_seconds)
                    self._wake()  # the recovered deliveries are due now
                    await asyncio.sleep(0)
                if job is not None:
                    continue  # there may be more queued
            except Exception as exc:
                if self.store.health.note(exc, "a bulk job step") is None:
                    log.warning("bulk job step failed; it will be resumed", exc_info=True)
            await asyncio.sleep(self.settings.poll_interval)

    async def retention(self) -> None:
        """Purge what is older than ``retention_days``, and audit entries older than
        ``audit_retention_days``, every ``purge_interval_seconds`` (0 keeps either);
        expired idempotency keys always."""
        days, audit_days = self.settings.retention_days, self.settings.audit_retention_days
        while True:
            await asyncio.sleep(self.settings.purge_interval_seconds)
            try:
                removed = await self.store.purge(days * 86400) if days > 0 else {}
                if audit_days > 0:
                    removed["audit_entries"] = await self.store.purge_audit(audit_days * 86400)
                removed["idempotency_keys"] = await self.store.purge_idempotency_keys()
                if any(removed.values()):
                    log.info("retention purge removed %s", removed)
            except Exception as exc:
                if self.store.health.note(exc, "the retention purge") is None:
                    log.warning("retention purge failed", exc_info=True)

    async def listen(self, listener: Listening) -> None:
        """Keep the wake-up listener connected; after a gap, claim in case news was missed."""
        while True:
            if await listener.ensure():
                self._wake()  # anything published while we were deaf
            await asyncio.sleep(LISTEN_CHECK_SECONDS)


__all__ = [
    "LISTEN_CHECK_SECONDS",
    "Listening",
    "Liveness",
    "Maintenance",
    "Supervisor",
    "TaskDied",
]
