"""Timing follows the schedule, not a poll tick.

Two kinds of bug, each tried over a table on SQLite and PostgreSQL with real
HTTP to receivers on 127.0.0.1:

* A receiver's ``Retry-After`` may lengthen the scheduled wait, never shorten
  it: whatever the status (429/502/503/504 overload backoff or not), the form
  (seconds, HTTP date, past date, garbage) and the schedule (default or the
  endpoint's own), the next attempt is no sooner than the schedule says. With
  ``Retry-After: 1`` on every answer, the eight default attempts used to be
  spent in about 8 s; they span days, as the schedule does.
* The dispatcher sleeps until the next delivery is due and is woken when a
  result frees another one, instead of waiting for its next poll (1 s here, the
  default): a retry due in 0.3 s goes out within 0.3-0.5 s, a fifo endpoint and
  a one-at-a-time endpoint drain their queues in well under a second, a rate
  limit's tokens are used as they refill -- and an idle worker with blocked
  work does not spin.

Retry-After tests move a ManualClock; the timing tests need a clock that runs.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import AsyncIterator
from datetime import datetime
from email.utils import formatdate
from typing import Any

import pytest
from aiohttp import web

from hookpost.core.clock import ManualClock
from hookpost.domain import DEFAULT_MAX_ATTEMPTS, DEFAULT_SCHEDULE
from hookpost.store import Store
from tests.conftest import Hookpost, Receiver, start_hookpost
from tests.helpers.api import due_in

# -- Retry-After never shortens the schedule ---------------------------------


# The pure rule is pinned in tests/unit/test_retry_after.py; here it is over HTTP.

#: (status, Retry-After: a number of seconds from now, or a literal), schedule, lo, hi
ANSWERS: list[tuple[int, float | str, list[float] | None, float, float]] = [
    (503, "1", None, 10, 12),
    (429, "1", None, 10, 12),
    (502, "2", None, 10, 12),
    (504, "0", None, 10, 12),
    (500, "1", None, 5, 6),
    (503, 2.0, None, 10, 12),  # as an HTTP date two seconds ahead
    (503, -600.0, None, 10, 12),  # an HTTP date in the past
    (503, "later", None, 10, 12),
    (503, "120", None, 120, 120),
    (429, "999999", None, 3600, 3600),
    (500, "1", [60], 60, 72),
    (503, "1", [60], 120, 144),
    (500, "100", [60], 100, 100),
]


@pytest.mark.parametrize(("status", "after", "schedule", "lo", "hi"), ANSWERS)
async def test_retry_after_lengthens_never_shortens(
    hookpost: Hookpost,
    receiver: Receiver,
    status: int,
    after: float | str,
    schedule: list[float] | None,
    lo: float,
    hi: float,
) -> None:
    now = hookpost.clock.now()
    value = after if isinstance(after, str) else formatdate(now + after, usegmt=True)

    async def answer(request: web.Request, n: int) -> web.Response:
        # A webhook-delivery header other than "abort" changes nothing.
        headers = {"Retry-After": value, "webhook-delivery": "retry"}
        return web.Response(status=status, headers=headers)

    pid, _ = await hookpost.project()
    fields: dict[str, Any] = {"retry_schedule": schedule} if schedule else {}
    await hookpost.endpoint(pid, receiver.on("/busy", answer), **fields)
    await hookpost.publish(pid)
    (d,) = await hookpost.deliveries(pid)
    d = await hookpost.attempted(pid, d["id"], 1)
    assert d["status"] == "pending"
    assert lo - 1.5 <= due_in(d, now) <= hi + 0.5, d  # HTTP dates have whole seconds


async def test_retry_after_1_does_not_burn_the_schedule(
    hookpost: Hookpost, receiver: Receiver
) -> None:
    """The reported case: 503 + Retry-After: 1 to everything, all eight attempts."""

    async def busy(request: web.Request, n: int) -> web.Response:
        return web.Response(status=503, headers={"Retry-After": "1"})

    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, receiver.on("/busy", busy))
    start = hookpost.clock.now()
    await hookpost.publish(pid)
    (d,) = await hookpost.deliveries(pid)
    for n in range(1, DEFAULT_MAX_ATTEMPTS):
        d = await hookpost.attempted(pid, d["id"], n)
        assert d["status"] == "pending", d
        hookpost.clock.set(datetime.fromisoformat(d["next_attempt_at"]).timestamp() + 0.001)
        hookpost.wake()
    d = await hookpost.attempted(pid, d["id"], DEFAULT_MAX_ATTEMPTS)
    assert d["status"] == "failed"
    span = hookpost.clock.now() - start
    assert span >= 2 * sum(DEFAULT_SCHEDULE)  # overload: twice each step
    assert span >= 1.5 * 86400


# -- the dispatcher wakes when work is due -------------------------------------


class LiveClock(ManualClock):
    """A clock that runs (the dispatcher's sleeps are real here)."""

    def now(self) -> float:
        return time.time()


POLL = 1.0  # the default poll interval: what the wake-ups must beat


def _load() -> float:
    """Runnable processes per core right now: 1 on a machine that is not overloaded.

    The limits below are the issue's, for such a machine. On a shared one (here
    at times eight test sessions on two cores, where one PostgreSQL round trip
    took 10-20 ms and a fifo event 70-170 ms) they stretch with the load; a
    poll-tick bug costs a whole poll interval per event, beyond any of that.
    """
    return max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))


@pytest.fixture
async def live(db_url: str) -> AsyncIterator[Hookpost]:
    async for hp in start_hookpost(db_url, LiveClock(), poll_interval=POLL):
        yield hp


def _reset(request: web.Request) -> None:
    assert request.transport is not None
    request.transport.close()


#: (status the receiver answers first, endpoint schedule): each retry is due
#: 0.3 to 0.36 s after the failure (jitter only lengthens).
SHORT_RETRIES: list[tuple[int | None, list[float]]] = [
    (500, [0.3]),
    (503, [0.15]),  # overload: twice the step
    (429, [0.15]),
    (None, [0.3]),  # the connection reset: no status at all
]


@pytest.mark.serial  # a real clock: intervals measured
@pytest.mark.parametrize(("status", "schedule"), SHORT_RETRIES)
async def test_short_retry_fires_on_schedule(
    live: Hookpost, receiver: Receiver, status: int | None, schedule: list[float]
) -> None:
    async def fail_once(request: web.Request, n: int) -> web.Response:
        if n > 0:
            return web.Response(status=200)
        if status is None:
            _reset(request)
            await asyncio.sleep(1)
        return web.Response(status=status or 500)

    pid, _ = await live.project()
    await live.endpoint(pid, receiver.on("/soon", fail_once), retry_schedule=schedule)
    await live.publish(pid)
    first, second = await receiver.wait_for(2, timeout=5)
    assert 0.3 <= second.at - first.at <= 0.3 + 0.2 * _load(), second.at - first.at


async def _gated_drain(hp: Hookpost, receiver: Receiver, n: int, **fields: Any) -> float:
    """Queue ``n`` events while the receiver holds the first; seconds to send the rest."""
    opened = asyncio.Event()

    async def gate(request: web.Request, i: int) -> web.Response:
        await opened.wait()
        return web.Response(status=200)

    pid, _ = await hp.project()
    await hp.endpoint(pid, receiver.on("/gate", gate), **fields)
    for i in range(n):
        await hp.publish(pid, event_id=f"ev-{i}")
    await receiver.wait_for(1, timeout=5)
    await asyncio.sleep(0.2)
    assert len(receiver.requests) == 1  # the others wait behind the first
    started = time.time()
    opened.set()
    got = await receiver.wait_for(n, timeout=0.6 * POLL * n)
    if fields.get("ordering") == "fifo":
        assert [r.headers["webhook-id"] for r in got] == [f"ev-{i}" for i in range(n)]
    return got[-1].at - started


@pytest.mark.serial  # a real clock: intervals measured
@pytest.mark.parametrize(
    "fields",
    [{"ordering": "fifo"}, {"max_concurrency": 1}],
    ids=["fifo", "one-at-a-time"],
)
async def test_queue_behind_one_request_drains_at_once(
    live: Hookpost, receiver: Receiver, fields: dict[str, Any]
) -> None:
    # Waiting a poll per event would take ~49 s; draining on each result's wake-up takes
    # ~1 s on an idle machine. 2.5 s leaves room for a slow VM (1.1-1.6 s measured here
    # idle, on this session's code and on the previous release's alike) and still fails
    # any drain that waits for polls.
    limit = min(2.5 * _load() ** 2, 0.5 * POLL * 49)
    assert await _gated_drain(live, receiver, 50, **fields) < limit


@pytest.mark.serial  # a real clock: intervals measured
async def test_rate_limit_tokens_used_as_they_refill(live: Hookpost, receiver: Receiver) -> None:
    """5/s: a burst of five, then one every 0.2 s -- not five at each poll tick."""
    pid, _ = await live.project()
    await live.endpoint(pid, receiver.on("/limited", [200]), rate_limit=5)
    for i in range(10):
        await live.publish(pid, event_id=f"ev-{i}")
    got = await receiver.wait_for(10, timeout=10)
    times = sorted(r.at for r in got)
    gaps = [b - a for a, b in itertools.pairwise(times[4:])]
    assert max(gaps) < 0.6, gaps
    assert times[-1] - times[0] < 1.6


@pytest.mark.serial  # a real clock: intervals measured
async def test_idle_worker_with_blocked_work_does_not_spin(
    live: Hookpost, receiver: Receiver
) -> None:
    """Due deliveries held back (a fifo head and a one-at-a-time endpoint hang)
    do not make the idle claim loop claim again and again."""
    hang = asyncio.Event()

    async def hanging(request: web.Request, n: int) -> web.Response:
        await hang.wait()
        return web.Response(status=200)

    pid, _ = await live.project()
    await live.endpoint(pid, receiver.on("/fifo", hanging), ordering="fifo", event_types=["a.*"])
    await live.endpoint(pid, receiver.on("/one", hanging), max_concurrency=1, event_types=["b.*"])
    for _ in range(5):
        await live.publish(pid, "a.x")
        await live.publish(pid, "b.x")
    await receiver.wait_for(2, timeout=5)
    store: Store = live.store
    claims = 0
    real_claim = store.claim

    async def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal claims
        claims += 1
        return await real_claim(*args, **kwargs)

    store.claim = counting  # type: ignore[method-assign]
    try:
        await asyncio.sleep(2.5)
    finally:
        store.claim = real_claim  # type: ignore[method-assign]
        hang.set()
    assert claims <= 3 * 2.5 / POLL + 2, claims
    assert len(receiver.requests) == 2


@pytest.mark.serial  # a real clock: intervals measured
async def test_a_quiet_event_is_claimed_without_the_coalescing_wait(
    db_url: str, receiver: Receiver
) -> None:
    """Claims after a wake-up are ``coalesce_seconds`` apart, not each that late: an
    event published after a quiet spell goes out at once. (A fixed wait after every
    wake-up added its whole length, 5 ms by default, to each quiet event.)"""
    coalesce = 2.0
    # The poll interval longer than the spacing: a poll's own (empty) claim is a claim
    # too, and with polls every second no claim would ever be 2 s old.
    async for live in start_hookpost(
        db_url, LiveClock(), poll_interval=5 * coalesce, coalesce_seconds=coalesce
    ):
        pid, _ = await live.project()
        await live.endpoint(pid, receiver.on("/quiet", [200]))
        # The set-up's own wake-up is answered by a claim up to one spacing later;
        # after two, the last claim is older than the spacing.
        await asyncio.sleep(2 * coalesce + 0.3)
        sent = time.time()
        await live.publish(pid)
        (got,) = await receiver.wait_for(1, timeout=10)
        assert got.at - sent < min(1.0 * _load(), 0.9 * coalesce)
