"""The audit log's store side: an entry commits with its change or not at all.

:func:`hookpost.store._audit.audit` writes on the caller's connection, so an
entry is part of the change's transaction: rolled back with it, and never
written for a change that fails. Who acted comes from the task's actor. Both
backends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from hookpost.core.clock import ManualClock
from hookpost.domain import SHELL, Actor, NotFound, acting_as
from hookpost.store import AuditFilter, Store
from hookpost.store._audit import audit
from hookpost.store.models import audit_log


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
