"""The embedded worker's death stops ``serve`` whatever killed it.

``create_app(on_worker_death=...)`` reports the dispatcher task's end: a
:class:`~hookpost.delivery.TaskDied` (a supervised task died, already logged)
and any other exception out of ``Dispatcher.run`` (its start-up, or a bug)
alike -- the latter wrapped in a ``TaskDied`` naming it -- so ``serve`` never
keeps answering 202 to events no worker of its own delivers.
"""

from __future__ import annotations

import asyncio

import pytest

from hookpost.api.app import create_app
from hookpost.config import Settings
from hookpost.delivery import Dispatcher, TaskDied
from tests.conftest import ADMIN, TEST_SECRET_KEY


@pytest.mark.parametrize(
    "death",
    [TaskDied("claim", RuntimeError("boom")), RuntimeError("a bug"), OSError("no sockets")],
)
async def test_any_death_of_the_dispatcher_is_reported(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, death: Exception
) -> None:
    async def dies(self: Dispatcher) -> None:
        raise death

    monkeypatch.setattr(Dispatcher, "run", dies)
    reported: list[TaskDied] = []
    settings = Settings(database_url=sqlite_url, admin_token=ADMIN, secret_key=TEST_SECRET_KEY)
    app = create_app(settings, run_workers=True, on_worker_death=reported.append)
    async with app.router.lifespan_context(app):
        for _ in range(100):
            if reported:
                break
            await asyncio.sleep(0.01)
    (died,) = reported
    assert isinstance(died, TaskDied)
    assert str(death) in str(died)
