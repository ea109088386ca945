"""A worker whose side task dies stops, says so, and hands its deliveries back.

The recorder and the maintenance loops (heartbeat, jobs, retention, listen)
run beside the claim loop. One that ended used to end silently: a dead
recorder left every delivery ``delivering`` until its lease expired (and the
worker's shutdown waited forever for outcomes nobody recorded); a dead
listener just stopped the wake-ups. Each test here breaks one task of a real
worker on SQLite and PostgreSQL and checks that ``Dispatcher.run`` logs an
error naming it and raises :class:`TaskDied` -- after a clean shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from hookpost.delivery import Dispatcher, TaskDied, _recorder
from hookpost.domain import Outcome
from tests.conftest import Hookpost, Receiver


def _errors(caplog: pytest.LogCaptureFixture, task: str) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.levelno == logging.ERROR and f"{task!r} task ended" in r.getMessage()
    ]


async def test_a_dead_recorder_stops_the_worker_and_hands_back_its_lease(
    hookpost_noworkers: Hookpost,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    await hp.endpoint(pid, receiver.on("/hook", [200]))
    await hp.publish(pid)

    def broken(batch: list[Outcome]) -> None:
        raise RuntimeError("a bug in the recorder")

    monkeypatch.setattr(_recorder, "log_outcomes", broken)
    dispatcher = Dispatcher(hp.store, hp.settings, clock=hp.clock)
    with caplog.at_level(logging.ERROR, logger="hookpost.dispatcher"):
        with pytest.raises(TaskDied, match="'recorder' task raised RuntimeError"):
            await asyncio.wait_for(dispatcher.run(), 15)
    assert len(_errors(caplog, "recorder")) == 1
    assert len(receiver.requests) == 1  # sent, never recorded
    (delivery,) = await hp.deliveries(pid)
    # Not left "delivering" until the lease expires: handed back, due now.
    assert delivery["status"] == "pending"
    assert delivery["attempt_count"] == 0


async def test_a_dead_listener_stops_the_worker(
    hookpost_noworkers: Hookpost,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    await hp.endpoint(pid, receiver.on("/hook", [200]))
    await hp.publish(pid)

    class Broken:
        async def ensure(self) -> bool:
            await asyncio.sleep(0.2)  # alive long enough to deliver
            raise ConnectionResetError("the wake-up channel broke")

        async def close(self) -> None:
            pass

    def listener(url: str, on_notify: Any) -> Broken:
        return Broken()

    monkeypatch.setattr(hp.store, "listener", listener)
    dispatcher = Dispatcher(hp.store, hp.settings, clock=hp.clock)
    with caplog.at_level(logging.ERROR, logger="hookpost.dispatcher"):
        with pytest.raises(TaskDied, match="'listen' task raised ConnectionResetError"):
            await asyncio.wait_for(dispatcher.run(), 15)
    assert len(_errors(caplog, "listen")) == 1
    # Until then it worked, and what it sent it recorded before stopping.
    (delivery,) = await hp.deliveries(pid)
    assert (delivery["status"], delivery["attempt_count"]) == ("succeeded", 1)


async def test_stop_still_ends_the_worker_quietly(
    hookpost_noworkers: Hookpost, caplog: pytest.LogCaptureFixture
) -> None:
    hp = hookpost_noworkers
    dispatcher = Dispatcher(hp.store, hp.settings, clock=hp.clock)
    with caplog.at_level(logging.ERROR, logger="hookpost.dispatcher"):
        running = asyncio.create_task(dispatcher.run())
        await asyncio.sleep(0.2)
        dispatcher.stop()
        await asyncio.wait_for(running, 10)  # returns, raises nothing
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
