"""A publish that loses the race with its project's deletion is a 404, not a 500.

The route checks the project exists before it publishes; a delete committed
in between makes the events' foreign key refuse the insert (an
``IntegrityError``, which the group commit answers one request at a time).
The store turns that into ``NotFound("project")`` -- what the route would
have said a moment later -- on both backends, for a single publish (with or
without an ``event_id``) and a batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from hookpost.core.clock import ManualClock
from hookpost.domain import NotFound
from hookpost.store import Store


@pytest.fixture
async def store(db_url: str, clock: ManualClock) -> AsyncIterator[Store]:
    s = Store.from_url(db_url, clock)
    yield s
    await s.close()


@pytest.mark.parametrize("event_id", [None, "evt_1"])
async def test_a_publish_into_a_deleted_project_is_not_found(
    store: Store, event_id: str | None
) -> None:
    project, _key = await store.create_project("acme")
    await store.delete_project(project["id"])
    with pytest.raises(NotFound, match="project"):
        await store.publish(project["id"], "a.b", "{}", event_id)
    with pytest.raises(NotFound, match="project"):
        await store.publish_many(project["id"], [("a.b", "{}", event_id), ("a.c", "{}", None)])


async def test_a_live_projects_publish_in_the_same_group_is_stored(store: Store) -> None:
    live, _ = await store.create_project("live")
    gone, _ = await store.create_project("gone")
    await store.delete_project(gone["id"])
    ok, refused = await asyncio.gather(
        store.publish(live["id"], "a.b", "{}", None),
        store.publish(gone["id"], "a.b", "{}", None),
        return_exceptions=True,
    )
    assert isinstance(refused, NotFound)
    assert not isinstance(ok, BaseException) and ok[2] is True  # created
