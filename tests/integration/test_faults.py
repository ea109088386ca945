"""Delivery under real-world faults, over real HTTP on 127.0.0.1.

Receivers that answer 503 with Retry-After, 429, 410, 201 to a 200-only
endpoint, abort, reset the connection, close mid-body, go down and come back;
the circuit breaker, automatic disabling and release, FIFO under retries,
payload filters and shared rate limits.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from hookpost.core.clock import ManualClock
from hookpost.store import Store
from tests.conftest import Hookpost, Receiver, free_port, start_hookpost
from tests.helpers.api import due_in as _due_in


async def _attempted(hp: Hookpost, pid: str, did: str, n: int) -> dict[str, object]:
    return await hp.attempted(pid, did, n)


async def test_retry_after_and_overload_backoff(hookpost: Hookpost, receiver: Receiver) -> None:
    async def busy(request: web.Request, n: int) -> web.Response:
        return web.Response(status=503, headers={"Retry-After": "120"})

    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, receiver.on("/busy", busy), event_types=["a.*"])
    await hookpost.endpoint(pid, receiver.on("/429", [429]), event_types=["b.*"])
    await hookpost.publish(pid, "a.x")
    await hookpost.publish(pid, "b.x")
    await receiver.wait_for(2)
    now = hookpost.clock.now()
    (a,) = await hookpost.deliveries(pid, event_type="a.x")
    (b,) = await hookpost.deliveries(pid, event_type="b.x")
    a = await _attempted(hookpost, pid, a["id"], 1)
    b = await _attempted(hookpost, pid, b["id"], 1)
    assert 119 <= _due_in(a, now) <= 121  # the receiver's word, no jitter
    assert 8 - 0.1 <= _due_in(b, now) <= 12 + 0.1  # twice the 5 s step, +-20%


async def test_410_disables_holds_and_release(hookpost: Hookpost, receiver: Receiver) -> None:
    pid, _ = await hookpost.project()
    ep = await hookpost.endpoint(pid, receiver.on("/gone", [410, 200]))
    await hookpost.publish(pid, event_id="first")
    (d,) = await hookpost.deliveries(pid)
    d = await _attempted(hookpost, pid, d["id"], 1)
    assert d["status"] == "held"
    got = (await hookpost.http.get(f"/api/v1/projects/{pid}/endpoints/{ep['id']}")).json()
    assert got["enabled"] is False
    assert "410" in got["health"]["disabled_reason"]
    ev = await hookpost.publish(pid, event_id="while-disabled")
    assert ev["deliveries"] == 1
    await asyncio.sleep(0.2)
    assert len(receiver.requests) == 1  # held, not sent, not dropped
    url = f"/api/v1/projects/{pid}/endpoints/{ep['id']}"
    assert (await hookpost.http.post(url + "/release-held")).status_code == 409
    # A resend while the endpoint is disabled is held too, not left pending.
    r = await hookpost.http.post(f"/api/v1/projects/{pid}/deliveries/{d['id']}/resend")
    assert r.status_code in (200, 202), r.text
    assert r.json()["status"] == "held"
    r = await hookpost.http.patch(url, json={"enabled": True})
    assert r.status_code == 200 and r.json()["health"]["disabled_reason"] is None
    r = await hookpost.http.post(url + "/release-held")
    assert r.json() == {"released": 2}
    await receiver.wait_for(3)
    ids = sorted(r.headers["webhook-id"] for r in receiver.requests[1:])
    assert ids == ["first", "while-disabled"]


async def test_abort_header_and_200_only_rule(hookpost: Hookpost, receiver: Receiver) -> None:
    async def abort(request: web.Request, n: int) -> web.Response:
        return web.Response(status=500, headers={"webhook-delivery": "abort"})

    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, receiver.on("/abort", abort), event_types=["a.*"])
    await hookpost.endpoint(
        pid,
        receiver.on("/created", [201]),
        event_types=["b.*"],
        success_rule="200",
        retry_schedule=[60],
        max_attempts=3,
    )
    await hookpost.publish(pid, "a.x")
    await hookpost.publish(pid, "b.x")
    (a,) = await hookpost.deliveries(pid, event_type="a.x")
    (b,) = await hookpost.deliveries(pid, event_type="b.x")
    a = await _attempted(hookpost, pid, a["id"], 1)
    assert a["status"] == "failed" and "abort" in a["last_error"]
    now = hookpost.clock.now()
    b = await _attempted(hookpost, pid, b["id"], 1)
    assert b["status"] == "pending" and b["last_status_code"] == 201
    assert 48 - 0.1 <= _due_in(b, now) <= 72 + 0.1  # the endpoint's own schedule


async def test_broken_connections_are_recorded(hookpost: Hookpost, receiver: Receiver) -> None:
    async def reset(request: web.Request, n: int) -> web.Response:
        assert request.transport is not None
        request.transport.close()
        await asyncio.sleep(1)
        return web.Response(status=200)

    async def mid_body(request: web.Request, n: int) -> web.StreamResponse:
        resp = web.StreamResponse(status=200, headers={"Content-Length": "1000"})
        await resp.prepare(request)
        await resp.write(b"x" * 10)
        assert request.transport is not None
        request.transport.close()
        return resp

    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, receiver.on("/reset", reset), event_types=["a.*"])
    await hookpost.endpoint(pid, receiver.on("/mid", mid_body), event_types=["b.*"])
    await hookpost.publish(pid, "a.x")
    await hookpost.publish(pid, "b.x")
    for t, needle in (("a.x", "disconnected"), ("b.x", "broken")):
        (d,) = await hookpost.deliveries(pid, event_type=t)
        d = await _attempted(hookpost, pid, d["id"], 1)
        assert d["status"] == "pending"
        assert needle in d["attempts"][0]["error"], d["attempts"][0]


async def test_receiver_down_then_back(hookpost: Hookpost) -> None:
    port = free_port()
    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, f"http://127.0.0.1:{port}/hook")
    await hookpost.publish(pid, event_id="late")
    (d,) = await hookpost.deliveries(pid)
    d = await _attempted(hookpost, pid, d["id"], 1)
    assert d["attempts"][0]["error"].startswith("connection refused")
    got: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        got.append(request.headers["webhook-id"])
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await hookpost.advance(7)
        await hookpost.wait_status(pid, d["id"], "succeeded")
        assert got == ["late"]
    finally:
        await runner.cleanup()


async def test_fifo_order_under_retries(hookpost: Hookpost, receiver: Receiver) -> None:
    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, receiver.on("/fifo", [500, 200]), ordering="fifo")
    for i in range(4):
        await hookpost.publish(pid, event_id=f"e{i}")
    await receiver.wait_for(1)
    await asyncio.sleep(0.3)
    assert [r.headers["webhook-id"] for r in receiver.requests] == ["e0"]  # the rest wait
    await hookpost.advance(7)
    await receiver.wait_for(5)
    assert [r.headers["webhook-id"] for r in receiver.requests] == ["e0", "e0", "e1", "e2", "e3"]


async def test_filters_at_fan_out(hookpost: Hookpost, receiver: Receiver) -> None:
    pid, _ = await hookpost.project()
    await hookpost.endpoint(
        pid, receiver.url("/mine"), filter={"to": {"$in": ["0xabc", "0xdef"]}, "amount": {"$gt": 0}}
    )
    hit = await hookpost.publish(pid, "transaction.confirmed", payload={"to": "0xabc", "amount": 5})
    miss = await hookpost.publish(
        pid, "transaction.confirmed", payload={"to": "0x999", "amount": 5}
    )
    assert (hit["deliveries"], miss["deliveries"]) == (1, 0)
    r = await hookpost.http.post(
        f"/api/v1/projects/{pid}/endpoints",
        json={"url": receiver.url(), "filter": {"to": {"$regex": "x"}}},
    )
    assert r.status_code == 422
    assert "to.$regex" in r.json()["message"] and r.json()["detail"][0]["field"] == "filter"
    (req,) = await receiver.wait_for(1)
    assert req.headers["webhook-id"] == hit["id"]


async def test_rate_limit_is_enforced(hookpost: Hookpost, receiver: Receiver) -> None:
    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, receiver.url("/slowly"), rate_limit=2)
    for i in range(6):
        await hookpost.publish(pid, event_id=f"r{i}")
    await receiver.wait_for(2)
    await asyncio.sleep(0.4)
    assert len(receiver.requests) == 2  # a burst of one second's worth, then the clock must move
    await hookpost.advance(1.0)
    await receiver.wait_for(4)
    await asyncio.sleep(0.3)
    assert len(receiver.requests) == 4
    await hookpost.advance(1.0)
    await receiver.wait_for(6)


@pytest.fixture
async def guarded(db_url: str, clock: ManualClock) -> AsyncIterator[tuple[Hookpost, str]]:
    """A server with a low breaker threshold, quick auto-disable and an operations project."""
    store = Store.from_url(db_url, clock)
    ops, _ = await store.create_project("operations")
    await store.close()
    async for hp in start_hookpost(
        db_url,
        clock,
        breaker_threshold=3,
        breaker_cooldown_seconds=30,
        disable_after_seconds=100,
        operations_project=ops["id"],
    ):
        yield hp, ops["id"]


async def test_circuit_breaker_holds_then_probes(
    guarded: tuple[Hookpost, str], receiver: Receiver
) -> None:
    hp, _ = guarded
    pid, _ = await hp.project()
    ep = await hp.endpoint(pid, receiver.on("/flaky", [500, 500, 500, 200]))
    for i in range(3):
        await hp.publish(pid, event_id=f"f{i}")
        await receiver.wait_for(i + 1)
    url = f"/api/v1/projects/{pid}/endpoints/{ep['id']}"
    for _ in range(100):
        health = (await hp.http.get(url)).json()["health"]
        if health["circuit"] == "open":
            break
        await asyncio.sleep(0.02)
    assert health["circuit"] == "open" and health["consecutive_failures"] == 3
    await hp.publish(pid, event_id="held-by-breaker")
    await hp.advance(10)  # the first failures' retries are due, but the circuit holds them
    await asyncio.sleep(0.3)
    assert len(receiver.requests) == 3
    (d,) = await hp.deliveries(pid, event_id="held-by-breaker")
    assert d["attempt_count"] == 0  # holding burns no attempts
    await hp.advance(25)  # past the cool-down: one probe, it succeeds, the circuit closes
    await receiver.wait_for(7)
    assert (await hp.http.get(url)).json()["health"]["circuit"] == "closed"
    assert sorted(r.headers["webhook-id"] for r in receiver.requests[3:]) == [
        "f0",
        "f1",
        "f2",
        "held-by-breaker",
    ]


async def test_auto_disable_emits_operational_event(
    guarded: tuple[Hookpost, str], receiver: Receiver
) -> None:
    hp, ops = guarded
    await hp.endpoint(ops, receiver.url("/ops"), event_types=["endpoint.*", "delivery.*"])
    pid, _ = await hp.project()
    ep = await hp.endpoint(pid, receiver.on("/dead", [500]))
    await hp.publish(pid, event_id="doomed")
    (d,) = await hp.deliveries(pid)
    await _attempted(hp, pid, d["id"], 1)
    await hp.advance(60)
    await _attempted(hp, pid, d["id"], 2)
    await hp.advance(400)  # past the 5 min step; failing for > 100 s now
    d = await _attempted(hp, pid, d["id"], 3)
    got = (await hp.http.get(f"/api/v1/projects/{pid}/endpoints/{ep['id']}")).json()
    assert got["enabled"] is False
    assert "failing continuously" in got["health"]["disabled_reason"]
    assert d["status"] == "held"
    (note,) = await receiver.wait_for(1, "/ops")
    body = note.body.decode()
    assert '"type":"endpoint.disabled"' in body and ep["id"] in body


async def test_project_wide_recover_job(hookpost: Hookpost, receiver: Receiver) -> None:
    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, receiver.on("/a", [500]), max_attempts=1)
    await hookpost.endpoint(pid, receiver.on("/b", [500]), max_attempts=1)
    for i in range(3):
        await hookpost.publish(pid, event_id=f"p{i}")
    await receiver.wait_for(6)
    for d in await hookpost.deliveries(pid):
        await hookpost.wait_status(pid, d["id"], "failed")
    receiver.on("/a", [200])
    receiver.on("/b", [200])
    r = await hookpost.http.post(
        f"/api/v1/projects/{pid}/recover", json={"since": "2000-01-01T00:00:00Z"}
    )
    assert r.status_code == 202, r.text
    assert r.json()["total"] == 6 and r.json()["kind"] == "recover"
    await receiver.wait_for(12)
    for _ in range(100):
        job = (await hookpost.http.get(f"/api/v1/projects/{pid}/jobs/{r.json()['id']}")).json()
        if job["status"] == "succeeded":
            break
        await asyncio.sleep(0.02)
    assert (job["status"], job["done"], job["total"]) == ("succeeded", 6, 6)
    for d in await hookpost.deliveries(pid):
        await hookpost.wait_status(pid, d["id"], "succeeded")
    listed = (await hookpost.http.get(f"/api/v1/projects/{pid}/jobs")).json()["data"]
    assert [j["id"] for j in listed] == [job["id"]]


def _gated(release: asyncio.Event, inflight: dict[str, int], then_wait: float = 0.0) -> Any:
    """A handler that answers 200 once ``release`` is set, counting requests in flight."""

    async def handler(request: web.Request, n: int) -> web.Response:
        inflight["now"] += 1
        inflight["max"] = max(inflight["max"], inflight["now"])
        try:
            await release.wait()
            await asyncio.sleep(then_wait)
        finally:
            inflight["now"] -= 1
        return web.Response(status=200)

    return handler


async def test_endpoint_concurrency_cap_does_not_starve_others(
    hookpost: Hookpost, receiver: Receiver
) -> None:
    release = asyncio.Event()
    inflight = {"now": 0, "max": 0}
    slow = _gated(release, inflight)
    pid, _ = await hookpost.project()
    await hookpost.endpoint(
        pid, receiver.on("/capped", slow), event_types=["slow.*"], max_concurrency=2
    )
    await hookpost.endpoint(pid, receiver.url("/healthy"), event_types=["fast.*"])
    for i in range(30):
        await hookpost.publish(pid, "slow.x", event_id=f"s{i}")
    for i in range(30):
        await hookpost.publish(pid, "fast.x", event_id=f"f{i}")
    await receiver.wait_for(30, "/healthy", timeout=5)  # flows while /capped is stuck
    assert inflight["max"] == 2
    release.set()
    await receiver.wait_for(30, "/capped", timeout=15)
    assert inflight["max"] == 2


async def test_concurrency_window_starts_small_and_widens_with_successes(
    hookpost: Hookpost, receiver: Receiver
) -> None:
    """An endpoint with the default cap (32) that has not answered yet gets two
    requests in flight, not 32; once it answers, its window widens past two."""
    release = asyncio.Event()
    inflight = {"now": 0, "max": 0}
    gated = _gated(release, inflight, then_wait=0.05)  # slow: a wide window gets used
    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, receiver.on("/new", gated), event_types=["slow.*"])
    await hookpost.endpoint(pid, receiver.url("/healthy"), event_types=["fast.*"])
    for i in range(40):
        await hookpost.publish(pid, "slow.x", event_id=f"s{i}")
    for i in range(10):
        await hookpost.publish(pid, "fast.x", event_id=f"f{i}")
    await receiver.wait_for(10, "/healthy", timeout=5)
    await asyncio.sleep(0.3)  # time for more claims: the window must hold
    assert inflight["max"] == 2
    release.set()
    await receiver.wait_for(40, "/new", timeout=15)
    assert inflight["max"] > 2


def test_window_arithmetic() -> None:
    from hookpost.domain import Windows

    w = Windows(2, size=2)
    assert w.allowance("a", 32) == 2
    assert w.allowance("a", 1) == 1  # never above the endpoint's own cap
    for _ in range(3):
        w.observe("a", True, 32)
    assert w.allowance("a", 32) == 5
    assert w.allowance("a", 4) == 4
    for _ in range(40):
        w.observe("a", True, 32)
    assert w.allowance("a", 32) == 32  # up to the cap, no further
    w.observe("a", False, 32)
    assert w.allowance("a", 32) == 16
    for _ in range(10):
        w.observe("a", False, 32)
    assert w.allowance("a", 32) == 1  # halved, never below one
    w.observe("b", True, 32)
    w.observe("c", True, 32)  # "a" is the least recently used: forgotten
    assert w.allowance("a", 32) == 2
    assert w.allowance("b", 32) == 3
