"""The claim loop's look-up of the next due time, left running when news woke the loop.

``ClaimLoop._next_due`` starts ``Store.next_due_at`` as a task and returns as soon
as the loop is woken, leaving the query to a later idle turn. During a database
outage that query fails; if nobody reads it (the loop claimed on, replaced it, or
stopped), asyncio used to log "Task exception was never retrieved" when the task
was collected: an error line in the middle of an outage the store already reports
once per interval (``tests/integration/test_db_outage.py`` counts the lines).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math
from typing import Any

import pytest

from hookpost.config import Settings
from hookpost.core.clock import ManualClock
from hookpost.delivery._loop import ClaimLoop, _WokenUp
from hookpost.domain import HealthPolicy, Outcome


class _Health:
    def note(self, _exc: BaseException, _what: str) -> None:
        return None


class _AwayStore:
    """A store whose next-due query fails a moment after it starts."""

    health = _Health()

    async def next_due_at(self, after: float | None = None) -> float | None:
        await asyncio.sleep(0.01)
        raise OSError("the database is away")


async def _never(*_args: Any) -> Any:
    raise AssertionError("not called")


def _never_recorded(*_args: Any) -> None:
    raise AssertionError("not called")


@pytest.mark.parametrize("then", ["replaced", "abandoned"])
async def test_a_failed_due_query_nobody_reads_logs_nothing(
    caplog: pytest.LogCaptureFixture, then: str
) -> None:
    loop = ClaimLoop(
        _AwayStore(),  # type: ignore[arg-type]
        Settings(),
        clock=ManualClock(),
        policy=HealthPolicy(),
        stopping=asyncio.Event(),
        attempt=_never,
        record=_never_recorded,
    )
    loop.wake()  # news already: the query is left running
    with pytest.raises(_WokenUp):
        await loop._next_due(0.0, 1.0)
    first = loop.due_query
    assert first is not None and not first.done()
    await asyncio.sleep(0.05)  # ...and fails, unread
    assert first.done()
    if then == "replaced":  # the next idle turn starts a new query
        loop.wake()
        with pytest.raises(_WokenUp):
            await loop._next_due(0.0, 1.0)
        assert loop.due_query is not first
        await asyncio.sleep(0.05)
    loop.due_query = None
    with caplog.at_level(logging.ERROR, "asyncio"):
        del first
        gc.collect()
        await asyncio.sleep(0)
    assert "never retrieved" not in caplog.text


class _QuerylessStore:
    """A store whose claims read the next due time themselves (SQLite's do)."""

    health = _Health()

    async def next_due_at(self, after: float | None = None) -> float | None:
        raise AssertionError("the claim said when the next delivery is due")


def _queryless_loop() -> ClaimLoop:
    """A loop at clock time 1000 with a 1 s poll, over a store that never queries."""
    return ClaimLoop(
        _QuerylessStore(),  # type: ignore[arg-type]
        Settings(poll_interval=1.0),
        clock=ManualClock(1000.0),
        policy=HealthPolicy(),
        stopping=asyncio.Event(),
        attempt=_never,
        record=_never_recorded,
    )


@pytest.mark.parametrize(("next_due", "wake_at"), [(1000.25, 1000.25), (math.inf, 1001.0)])
async def test_an_idle_turn_after_a_claim_that_read_the_next_due_time_asks_nothing(
    next_due: float, wake_at: float
) -> None:
    loop = _queryless_loop()
    idle = asyncio.create_task(loop._idle(999.0, next_due))
    await asyncio.sleep(0)
    # Asleep until then (or the poll interval): a retry recorded as due sooner wakes it.
    assert not idle.done() and loop.due_query is None
    assert loop._wake_at == wake_at
    loop.wake()
    await idle
    assert loop._wake_at == -math.inf


def _retry(due: float) -> Outcome:
    return Outcome(
        delivery_id="d", lease="l", number=1, started_at=0.0, url="http://x", request_headers={},
        request_body="", status_code=503, response_headers=None, response_body=None,
        duration_ms=1.0, error=None, status="pending", next_attempt_at=due, endpoint_id="ep",
        success=False, endpoint_was_failing=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("next_due", "recorded", "wake_at"),
    [
        (math.inf, 1000.2, 1000.2),  # the claim read before the retry was written
        (1000.5, 1000.2, 1000.2),
        (1000.1, 1000.2, 1000.1),  # the claim's own is sooner
        (math.inf, 1003.0, 1001.0),  # later than the poll: the poll
    ],
)
async def test_a_retry_recorded_between_the_claim_and_the_idle_turn_is_not_slept_through(
    next_due: float, recorded: float, wake_at: float
) -> None:
    loop = _queryless_loop()
    # The claim began (``run`` resets what was seen) and read the next due time; then
    # an attempt in flight before it recorded a retry, and only then does the loop idle.
    loop._due_seen = math.inf
    loop.recorded([_retry(recorded)])
    idle = asyncio.create_task(loop._idle(999.0, next_due))
    await asyncio.sleep(0)
    assert not idle.done() and loop._wake_at == wake_at
    loop.wake()
    await idle
