"""The worker's side tasks are started by name, and any one ending is an error (``_tasks.py``)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from hookpost.delivery import TaskDied
from hookpost.delivery._tasks import Supervisor


async def forever() -> None:
    await asyncio.Event().wait()


async def test_a_task_that_raises_is_named_logged_and_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def boom() -> None:
        await asyncio.sleep(0.01)
        raise KeyError("lost")

    tasks = Supervisor()
    tasks.start("heartbeat", forever)
    tasks.start("jobs", boom)
    assert tasks.names == ["heartbeat", "jobs"]
    with caplog.at_level(logging.ERROR, logger="hookpost.dispatcher"):
        with pytest.raises(TaskDied, match="'jobs' task raised KeyError") as died:
            await asyncio.wait_for(tasks.watch(), 5)
    assert died.value.name == "jobs"
    assert isinstance(died.value.__cause__, KeyError)
    (record,) = caplog.records
    assert record.levelno == logging.ERROR and "'jobs' task ended" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is KeyError
    assert tasks.alive("heartbeat") and not tasks.alive("jobs")
    await tasks.stop()
    assert not tasks.alive("heartbeat")


async def test_a_task_that_returns_has_died_too() -> None:
    async def done() -> None:
        return None

    tasks = Supervisor()
    tasks.start("retention", done)
    with pytest.raises(TaskDied, match="'retention' task returned"):
        await asyncio.wait_for(tasks.watch(), 5)
    await tasks.stop()


async def test_names_are_unique_and_stop_ends_everything() -> None:
    tasks = Supervisor()
    tasks.start("listen", forever)
    with pytest.raises(ValueError, match="listen"):
        tasks.start("listen", forever)
    extra = asyncio.create_task(forever())
    watching = asyncio.create_task(tasks.watch())
    await asyncio.sleep(0.01)
    assert not watching.done()  # nothing died
    watching.cancel()
    await tasks.stop(extra)
    assert extra.cancelled() and not tasks.alive("listen") and tasks.names == []


async def test_nothing_to_watch_waits() -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(Supervisor().watch(), 0.05)
