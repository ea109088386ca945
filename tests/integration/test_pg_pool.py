"""PostgreSQL: a pooled connection the server has closed is replaced when it is taken.

The store checks each connection it takes from the pool (``_backend``'s checkout
hook): one the server ended -- a restart, ``pg_terminate_backend``, a cut -- is
discarded with the rest of the pool, and the publish, claim and record that took
it run on a fresh one instead of failing.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import asyncpg
import pytest

from hookpost.core.clock import ManualClock
from hookpost.core.crypto import SecretBox
from hookpost.domain import DeliveryStatus, Outcome
from hookpost.store import Store
from tests.conftest import POSTGRES_URL, TEST_SECRET_KEY, _pg_exec, _pg_url
from tests.helpers.database import project_with_endpoint


@pytest.fixture
async def pg_url(pg_template: str) -> AsyncIterator[str]:
    name = f"hookpost_pool_{os.getpid()}"
    await asyncio.to_thread(_pg_exec, f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    yield _pg_url(name)
    await asyncio.to_thread(_pg_exec, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def _end_sessions(url: str) -> int:
    """End every session of the database but the caller's (what a restart does to them)."""
    conn = await asyncpg.connect(POSTGRES_URL, timeout=10)
    try:
        ended = await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            url.rpartition("/")[2],
        )
    finally:
        await conn.close()
    return int(ended)


async def test_connections_the_server_closed_are_replaced(pg_url: str) -> None:
    clock = ManualClock()
    store = Store.from_url(pg_url, clock, box=SecretBox.from_text(TEST_SECRET_KEY))
    try:
        pid = await project_with_endpoint(store)
        await store.publish(pid, "a.b", "{}", "before")
        assert await _end_sessions(pg_url) >= 1
        await asyncio.sleep(0.2)  # the FIN reaches the pooled connections

        event, deliveries, created = await store.publish(pid, "a.b", "{}", "after")
        assert (event["id"], deliveries, created) == ("after", 1, True)
        assert await _end_sessions(pg_url) >= 1
        await asyncio.sleep(0.2)
        jobs = (await store.claim(10, 90)).jobs
        assert sorted(j.event.id for j in jobs) == ["after", "before"]
        assert await _end_sessions(pg_url) >= 1
        await asyncio.sleep(0.2)
        await store.record([_succeeded(j.delivery_id, j.lease, clock.now()) for j in jobs])
        page = await store.list_deliveries(pid, limit=10, cursor=None)
        assert {d["status"] for d in page.data} == {"succeeded"}
    finally:
        await store.close()


def _succeeded(delivery_id: str, lease: str, now: float) -> Outcome:
    return Outcome(
        delivery_id=delivery_id,
        lease=lease,
        number=1,
        started_at=now,
        url="http://127.0.0.1:9/hook",
        request_headers={},
        request_body="{}",
        status_code=200,
        response_headers={},
        response_body="",
        duration_ms=1.0,
        error=None,
        status=DeliveryStatus.SUCCEEDED,
        next_attempt_at=None,
        success=True,
    )
