"""The acting identity: per task, restored after ``acting_as``, SYSTEM by default."""

from __future__ import annotations

import asyncio

from hookpost.domain import SYSTEM, Actor, acting_as, current_actor, set_actor


def test_default_is_system() -> None:
    assert current_actor() == SYSTEM


def test_acting_as_restores_the_previous_actor() -> None:
    alice = Actor("operator", id="op_1", label="alice@example.com", address="127.0.0.1")
    bob = Actor("token", id="op_2", label="hpu_3f9a")
    with acting_as(alice):
        assert current_actor() is alice
        with acting_as(bob):
            assert current_actor() is bob
        assert current_actor() is alice
    assert current_actor() == SYSTEM


def test_concurrent_tasks_never_see_each_others_actor() -> None:
    seen: dict[str, str] = {}

    async def request(name: str, pause: float) -> None:
        set_actor(Actor("api_key", id=name, label=name))
        await asyncio.sleep(pause)
        seen[name] = current_actor().id

    async def main() -> None:
        await asyncio.gather(request("a", 0.02), request("b", 0.0), request("c", 0.01))
        assert current_actor() == SYSTEM  # the tasks' values never leak into the parent

    asyncio.run(main())
    assert seen == {"a": "a", "b": "b", "c": "c"}
