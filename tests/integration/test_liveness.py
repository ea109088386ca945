"""Whose leases a worker may reclaim: only those of workers whose lock is free.

Store-level and in one process (the subprocess tests are in test_crash.py): a
worker "dies" here the way a killed process does -- its PostgreSQL session ends,
or its file lock is dropped with the file left behind.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from hookpost.core.clock import ManualClock
from hookpost.core.crypto import SecretBox
from hookpost.store import Store
from hookpost.store._liveness import FilePresence, PgPresence, Presence
from tests.conftest import TEST_SECRET_KEY
from tests.helpers.database import project_with_endpoint


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    s = Store.from_url(db_url, ManualClock(), box=SecretBox.from_text(TEST_SECRET_KEY))
    yield s
    await s.close()


async def _die(presence: Presence) -> None:
    """What ``kill -9`` does to a worker's lock, without the tidy-up of close()."""
    if isinstance(presence, PgPresence):
        await presence._conn.close()  # the server ends the session: the lock is free
    elif isinstance(presence, FilePresence):
        assert presence._fd is not None
        os.close(presence._fd)  # the kernel drops the flock; the file stays
        presence._fd = None


async def _claim_one(store: Store, worker: str | None) -> tuple[str, str]:
    """A new project with one endpoint and one event, its delivery claimed: (project, delivery)."""
    pid = await project_with_endpoint(store)
    await store.publish(pid, "a.b", "{}")
    (job,) = (await store.claim(10, 90, worker=worker)).jobs
    return pid, job.delivery_id


# Workers holding one delivery each: (their fates, which get their delivery back).
CASES = [
    pytest.param(["anonymous"], [], id="plain-lease"),
    pytest.param(["alive"], [], id="live-worker"),
    pytest.param(["dead"], [0], id="dead-worker"),
    pytest.param(["alive", "dead", "alive"], [1], id="one-dead-among-live"),
    pytest.param(["dead", "dead"], [0, 1], id="two-dead"),
]


@pytest.mark.parametrize(("fates", "reclaimed"), CASES)
async def test_only_dead_workers_leases_are_reclaimed(
    store: Store, db_url: str, fates: list[str], reclaimed: list[int]
) -> None:
    presences: list[Presence] = []
    deliveries = []
    try:
        for fate in fates:
            worker = None
            if fate != "anonymous":
                presence = store.presence(db_url)
                assert presence is not None
                presences.append(presence)
                worker = await presence.acquire()
                assert worker is not None
            deliveries.append(await _claim_one(store, worker))
            if fate == "dead":
                await _die(presences[-1])
        assert await store.reclaim_dead_leases() == len(reclaimed)
        for i, (pid, dlv) in enumerate(deliveries):
            d = await store.get_delivery(pid, dlv)
            assert d["status"] == ("pending" if i in reclaimed else "delivering"), (i, d)
        assert await store.reclaim_dead_leases() == 0  # once
    finally:
        for p in presences:
            await p.close()


async def test_a_worker_whose_postgres_session_was_cut_takes_its_lock_again(
    store: Store, db_url: str
) -> None:
    if store.is_sqlite:
        pytest.skip("a file lock has no session to lose")
    presence = store.presence(db_url)
    assert isinstance(presence, PgPresence)
    try:
        worker = await presence.acquire()
        pid, dlv = await _claim_one(store, worker)
        await _die(presence)
        await presence.ensure()  # the heartbeat
        assert await store.reclaim_dead_leases() == 0
        assert (await store.get_delivery(pid, dlv))["status"] == "delivering"
    finally:
        await presence.close()
