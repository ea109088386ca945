"""SQLite's publish transaction as one synchronous function on the writer's thread.

``Writer.run_sqlite`` runs the whole transaction (``BEGIN IMMEDIATE``, the
statements, ``COMMIT``) in one hop to the aiosqlite thread. What it must keep
from the SQLAlchemy path it replaces: it waits for another process's write lock
instead of failing, commits all or nothing, and hands the driver's errors on as
SQLAlchemy's, so an outage is still a 503/507 and a lost ``event_id`` race still
an ``IntegrityError`` the store answers with the first event.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import exc as sa_exc

from hookpost.core.clock import ManualClock
from hookpost.store import Store
from hookpost.store._backend import Writer
from hookpost.store.migrate import upgrade
from hookpost.store.outage import classify


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    url = f"sqlite:///{tmp_path}/hookpost.db"
    await asyncio.to_thread(upgrade, url)
    s = Store.from_url(url, ManualClock())
    try:
        yield s
    finally:
        await s.close()


def _other_process(store: Store) -> sqlite3.Connection:
    """A connection of its own to the same file, as another process would have."""
    path = store.database_file()
    assert path is not None
    return sqlite3.connect(path, isolation_level=None)


def _count(store: Store, table: str) -> int:
    with contextlib.closing(_other_process(store)) as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


async def test_a_publish_waits_for_another_process_lock_then_commits_once(store: Store) -> None:
    project, _key = await store.create_project("p")
    other = _other_process(store)
    other.execute("BEGIN IMMEDIATE")
    publish = asyncio.create_task(store.publish(project["id"], "a.b", '{"n":1}', "evt-1"))
    await asyncio.sleep(0.1)
    assert not publish.done()  # waiting for the lock, not failed
    other.execute("COMMIT")
    other.close()
    event, deliveries, created = await publish
    assert (event["id"], deliveries, created) == ("evt-1", 0, True)
    again = await store.publish(project["id"], "a.b", '{"n":1}', "evt-1")
    assert again[0]["seq"] == event["seq"] and again[2] is False
    assert _count(store, "events") == 1


def _insert_then(fail: BaseException) -> Callable[[sqlite3.Connection], Any]:
    def work(db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO projects (id, name, created_at) VALUES ('proj_x', 'x', 0)")
        raise fail

    return work


#: (what the transaction's work raises, what the caller gets, is it an outage)
FAILURES: list[tuple[BaseException, type[BaseException], str | None]] = [
    (sqlite3.IntegrityError("UNIQUE constraint failed"), sa_exc.IntegrityError, None),
    (sqlite3.OperationalError("database or disk is full"), sa_exc.OperationalError, "full"),
    (sqlite3.OperationalError("disk I/O error"), sa_exc.OperationalError, "storage"),
    (ValueError("a bug in the work"), ValueError, None),
]


@pytest.mark.parametrize(("raised", "expected", "outage"), FAILURES)
async def test_a_failing_transaction_writes_nothing_and_says_why(
    store: Store, raised: BaseException, expected: type[BaseException], outage: str | None
) -> None:
    with pytest.raises(expected) as caught:
        await store.writer.run_sqlite(_insert_then(raised))
    assert _count(store, "projects") == 0  # rolled back
    found = classify(caught.value)
    assert (found.kind if found else None) == outage
    if outage is not None:
        assert store.health.last_failure is not None
    # The connection is usable again: the next transaction commits.
    await store.writer.run_sqlite(
        lambda db: db.execute("INSERT INTO projects (id, name, created_at) VALUES ('p2', 'y', 0)")
    )
    assert _count(store, "projects") == 1


async def test_a_lock_held_past_the_timeout_is_database_locked(store: Store) -> None:
    other = _other_process(store)
    other.execute("BEGIN IMMEDIATE")
    try:
        writer = Writer(store.engine, timeout=0.05, health=store.health)
        with pytest.raises(sa_exc.OperationalError, match="locked"):
            await writer.run_sqlite(lambda db: db.execute("SELECT 1"))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert store.health.last_failure is not None
