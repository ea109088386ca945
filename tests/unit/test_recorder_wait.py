"""How long the recorder's first outcome waits for others before one ``Store.record``.

On SQLite each record is an fsync on the writer's one thread, and the claim
that sends the next event queues behind it: the recorder waits
``coalesce_seconds`` but at least ``RECORD_WAIT`` (20 ms), so at a few hundred
deliveries a second one write takes several results; ``coalesce_seconds=0``
still turns the wait off, and a result that holds up its endpoint's queue
(``gates``) is still written at once. The waits are read off a stand-in for
``asyncio.sleep``: no clock is involved.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hookpost.delivery import _recorder
from hookpost.delivery._recorder import RECORD_WAIT, Recorder
from hookpost.domain import DeliveryStatus, HealthPolicy, Outcome


class _Store:
    def __init__(self) -> None:
        self.batches: list[int] = []

    async def record(self, batch: list[Outcome], _policy: HealthPolicy) -> None:
        self.batches.append(len(batch))


def _outcome(n: int) -> Outcome:
    return Outcome(
        delivery_id=f"dlv_{n}", lease="l", number=1, started_at=0.0, url="http://x/",
        request_headers={}, request_body="", status_code=200, response_headers={},
        response_body="", duration_ms=1.0, error=None, status=DeliveryStatus.SUCCEEDED,
        next_attempt_at=None, endpoint_id="ep_1", success=True,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("coalesce", "gating", "waits"),
    [
        (0.005, False, [RECORD_WAIT]),  # the default: 20 ms, not 5
        (2.0, False, [2.0]),  # longer than the least: as configured
        (0.0, False, []),  # off
        (0.005, True, []),  # its endpoint's queue waits on it
    ],
)
async def test_the_first_outcome_waits_at_least_record_wait(
    monkeypatch: pytest.MonkeyPatch, coalesce: float, gating: bool, waits: list[float]
) -> None:
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(seconds: float, *args: Any) -> None:
        slept.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(_recorder.asyncio, "sleep", sleep)
    store = _Store()
    written = asyncio.Event()
    recorder = Recorder(
        store,  # type: ignore[arg-type]
        HealthPolicy(),
        coalesce_seconds=coalesce,
        stopping=asyncio.Event(),
        gates=lambda _o: gating,
        recorded=lambda _batch: written.set(),
    )
    await recorder.put(_outcome(1))
    await recorder.put(_outcome(2))
    task = asyncio.create_task(recorder.run())
    try:
        await asyncio.wait_for(written.wait(), 5)
    finally:
        task.cancel()
    assert slept == waits
    assert store.batches == [2]  # both outcomes, one write
