"""The audit log's store side: an entry commits with its change or not at all.

:func:`hookpost.store._audit.audit` writes on the caller's connection, so an
entry is part of the change's transaction: rolled back with it, and never
written for a change that fails. Who acted comes from the task's actor. Both
backends.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from hookpost.core.clock import ManualClock
from hookpost.domain import SHELL, Actor, NotFound, acting_as
from hookpost.store import AuditFilter, Store
from hookpost.store._audit import audit
from hookpost.store.models import audit_log
from tests.conftest import start_hookpost

DAY = 86400.0


@pytest.fixture
async def store(db_url: str, clock: ManualClock) -> AsyncIterator[Store]:
    """A store on a migrated database of each backend."""
    s = Store.from_url(db_url, clock)
    yield s
    await s.close()


async def count(store: Store) -> int:
    async with store.reader.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(audit_log))).scalar_one())


async def test_an_entry_is_written_with_its_change_and_rolled_back_with_it(store: Store) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with store.writer.begin() as conn:
            await audit(conn, 1.0, "project.update", "project", "proj_x", after={"name": "n"})
            raise Boom
    assert await count(store) == 0
    async with store.writer.begin() as conn:
        row = await audit(conn, 1.0, "project.update", "project", "proj_x", after={"name": "n"})
    assert await count(store) == 1
    assert row["actor_kind"] == "system"  # nobody set an actor: hookpost itself


async def test_the_actor_is_the_tasks_and_a_failed_change_writes_nothing(store: Store) -> None:
    who = Actor("operator", id="op_1", label="ada@example.com", address="192.0.2.7")
    with acting_as(who):
        project, _key = await store.create_project("acme")
        with pytest.raises(NotFound):
            await store.update_project("proj_missing", "x")
        with pytest.raises(NotFound):
            await store.delete_endpoint(project["id"], "ep_missing")
    with acting_as(SHELL):
        await store.update_project(project["id"], "acme-2")
    page = await store.list_audit(AuditFilter(), limit=10, cursor=None)
    assert [(e["action"], e["actor_kind"], e["actor_label"]) for e in page.data] == [
        ("project.update", "shell", "shell"),
        ("project.create", "operator", "ada@example.com"),
    ]
    created = page.data[1]
    assert (created["actor_id"], created["address"]) == ("op_1", "192.0.2.7")
    assert page.data[0]["before"] == {"name": "acme"}
    assert page.data[0]["after"] == {"name": "acme-2"}


async def test_an_unknown_action_is_refused_before_anything_is_written(store: Store) -> None:
    with pytest.raises(ValueError, match="unknown audit action"):
        await store.record_audit("project.explode", "project", "proj_x")
    assert await count(store) == 0


async def test_purge_removes_only_entries_past_the_cutoff_in_batches(
    store: Store, clock: ManualClock
) -> None:
    for n in range(3):
        await store.record_audit("project.update", "project", f"proj_{n}")
    clock.advance(10 * DAY)
    await store.record_audit("project.update", "project", "proj_new")
    assert await store.purge_audit(5 * DAY, batch=1) == 3  # batch=1: the loop must go on
    page = await store.list_audit(AuditFilter(), limit=10, cursor=None)
    assert [e["object_id"] for e in page.data] == ["proj_new"]
    assert await store.purge_audit(5 * DAY) == 0


async def test_the_workers_purge_the_log_on_its_own_longer_setting(
    db_url: str, clock: ManualClock
) -> None:
    """Data retention off (0 keeps everything) while the audit log's is on: only entries go."""
    async for hp in start_hookpost(
        db_url, clock, retention_days=0, audit_retention_days=1, purge_interval_seconds=0.05
    ):
        pid, _ = await hp.project()
        await hp.endpoint(pid, "http://127.0.0.1:9/x")
        hp.clock.advance(2 * DAY)
        await hp.http.patch(f"/api/v1/projects/{pid}", json={"name": "later"})
        deadline = time.monotonic() + 10
        while True:
            page = await hp.store.list_audit(AuditFilter(), limit=10, cursor=None)
            if [e["action"] for e in page.data] == ["project.update"]:
                break
            assert time.monotonic() < deadline, [e["action"] for e in page.data]
            await asyncio.sleep(0.05)
        assert (await hp.http.get(f"/api/v1/projects/{pid}/endpoints")).json()["data"]


@pytest.mark.parametrize(
    "address",
    [
        "2001:db8:85a3:0:0:8a2e:370:7334",  # an ordinary address: kept as it is
        "a" * 65,  # one over the column
        "203.0.113.9, " * 40,  # X-Forwarded-For as claimed behind FORWARDED_ALLOW_IPS=*
    ],
)
async def test_an_address_longer_than_the_column_still_lets_the_change_through(
    store: Store, address: str
) -> None:
    """The address is what the client (or a proxy it passed through) said: a change
    made from a long one is still made and audited, not a PostgreSQL 500."""
    with acting_as(Actor("admin", label="admin token", address=address)):
        project, _key = await store.create_project("acme")
    page = await store.list_audit(AuditFilter(object_id=project["id"]), limit=10, cursor=None)
    (entry,) = page.data
    assert entry["address"] == address[:64]


async def test_revoking_a_revoked_key_again_writes_no_second_entry(store: Store) -> None:
    """Revoking is idempotent (the key keeps its first revocation time): the log says
    the key was revoked once, not once per repeated request."""
    project, _key = await store.create_project("acme")
    row, _secret = await store.create_api_key(project["id"], "full", "ci")
    for _ in range(3):
        revoked = await store.revoke_api_key(project["id"], row["id"])
        assert revoked["revoked_at"] is not None
    page = await store.list_audit(AuditFilter(action="api_key.revoke"), limit=10, cursor=None)
    (entry,) = page.data
    assert entry["object_id"] == row["id"]
    assert entry["before"] == {"revoked_at": None}
