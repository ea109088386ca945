"""End-to-end delivery over real HTTP: publish -> sign -> send -> retry -> log."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import standardwebhooks
from aiohttp import web

from tests.conftest import Hookpost, Receiver, free_port


async def test_delivered_and_verified_by_standardwebhooks(
    hookpost: Hookpost, receiver: Receiver
) -> None:
    pid, _ = await hookpost.project()
    ep = await hookpost.endpoint(pid, receiver.url())
    assert ep["secret"].startswith("whsec_")
    ev = await hookpost.publish(pid, payload={"name": "Zoë", "n": 1}, event_id="evt_1")
    assert ev["id"] == "evt_1" and ev["deliveries"] == 1
    (req,) = await receiver.wait_for(1)
    parsed = standardwebhooks.Webhook(ep["secret"]).verify(req.body, req.headers)
    assert parsed["type"] == "user.created"
    assert parsed["data"] == {"name": "Zoë", "n": 1}
    assert req.headers["webhook-id"] == "evt_1"
    # compact, non-ASCII kept as UTF-8, key order kept
    assert b'"data":{"name":"Zo\xc3\xab","n":1}' in req.body
    (dlv,) = await hookpost.deliveries(pid)
    done = await hookpost.wait_status(pid, dlv["id"], "succeeded")
    assert done["attempt_count"] == 1
    (att,) = done["attempts"]
    assert att["status_code"] == 200
    assert att["request_body"].encode() == req.body
    assert att["request_headers"]["webhook-signature"] == req.headers["webhook-signature"]
    assert att["response_body"] == "answer 200"
    assert att["duration_ms"] > 0


async def test_fan_out_respects_subscriptions_and_enabled(
    hookpost: Hookpost, receiver: Receiver
) -> None:
    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, receiver.url("/all"))
    await hookpost.endpoint(pid, receiver.url("/users"), event_types=["user.*"])
    await hookpost.endpoint(pid, receiver.url("/invoices"), event_types=["invoice.paid"])
    await hookpost.endpoint(pid, receiver.url("/off"), enabled=False)
    ev = await hookpost.publish(pid, "user.created")
    assert ev["deliveries"] == 3  # two to send, one held for the disabled endpoint
    await receiver.wait_for(2)
    await asyncio.sleep(0.2)
    assert sorted(r.path for r in receiver.requests) == ["/all", "/users"]
    assert [d["status"] for d in await hookpost.deliveries(pid, status="held")] == ["held"]


async def test_retry_after_500_resends_identical_bytes(
    hookpost: Hookpost, receiver: Receiver
) -> None:
    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, receiver.on("/flaky", [500, 200]))
    before = hookpost.clock.now()
    await hookpost.publish(pid, event_id="evt_retry")
    await receiver.wait_for(1)
    (dlv,) = await hookpost.deliveries(pid)
    d = await hookpost.wait_status(pid, dlv["id"], "pending", attempts=1)
    assert d["attempt_count"] == 1
    due = datetime.fromisoformat(d["next_attempt_at"]).timestamp()
    assert before + 4 <= due <= before + 6.1  # 5 s +- 20% jitter
    await asyncio.sleep(0.2)
    assert len(receiver.requests) == 1  # not before its time
    await hookpost.advance(6.1)
    await receiver.wait_for(2)
    d = await hookpost.wait_status(pid, dlv["id"], "succeeded")
    first, second = receiver.requests
    assert first.body == second.body
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == "evt_retry"
    assert [a["status_code"] for a in d["attempts"]] == [500, 200]
    assert [a["number"] for a in d["attempts"]] == [1, 2]
    assert d["attempts"][0]["error"] == "unsuccessful status 500"
    assert d["attempts"][0]["response_body"] == "answer 500"


async def test_timeout_is_a_recorded_failure(hookpost: Hookpost, receiver: Receiver) -> None:
    async def hang(request: web.Request, n: int) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(status=200)

    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, receiver.on("/slow", hang), timeout_seconds=1)
    await hookpost.publish(pid)
    (dlv,) = await hookpost.deliveries(pid)
    d = await hookpost.wait_status(pid, dlv["id"], "pending", timeout=8, attempts=1)
    (att,) = d["attempts"]
    assert att["error"] == "timeout after 1s"
    assert att["status_code"] is None
    assert 900 <= att["duration_ms"] < 4000


async def test_redirect_is_a_failure_and_not_followed(
    hookpost: Hookpost, receiver: Receiver
) -> None:
    async def redirect(request: web.Request, n: int) -> web.Response:
        raise web.HTTPMovedPermanently(location=receiver.url("/elsewhere"))

    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, receiver.on("/moved", redirect))
    await hookpost.publish(pid)
    (dlv,) = await hookpost.deliveries(pid)
    d = await hookpost.wait_status(pid, dlv["id"], "pending", attempts=1)
    assert d["last_status_code"] == 301
    await asyncio.sleep(0.2)
    assert receiver.at("/elsewhere") == []


async def test_refused_connection_is_recorded(hookpost: Hookpost) -> None:
    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, f"http://127.0.0.1:{free_port()}/nobody")
    await hookpost.publish(pid)
    (dlv,) = await hookpost.deliveries(pid)
    d = await hookpost.wait_status(pid, dlv["id"], "pending", attempts=1)
    assert d["attempts"][0]["error"].startswith("connection refused")


async def test_exhaustion_then_resend(hookpost: Hookpost, receiver: Receiver) -> None:
    pid, _ = await hookpost.project()
    url = receiver.on("/down", [500, 500, 500, 200])
    await hookpost.endpoint(pid, url, max_attempts=3)
    await hookpost.publish(pid)
    (dlv,) = await hookpost.deliveries(pid)
    for n in (1, 2):
        await receiver.wait_for(n)
        await hookpost.wait_status(pid, dlv["id"], "pending", attempts=n)
        await hookpost.advance(400)  # past the 5 s and 5 min steps, with jitter
    await receiver.wait_for(3)
    d = await hookpost.wait_status(pid, dlv["id"], "failed")
    assert d["attempt_count"] == 3 and d["next_attempt_at"] is None
    await hookpost.advance(10**6)
    await asyncio.sleep(0.2)
    assert len(receiver.requests) == 3  # failed means no more attempts

    r = await hookpost.http.post(f"/api/v1/projects/{pid}/deliveries/{dlv['id']}/resend")
    assert r.status_code == 202, r.text
    await receiver.wait_for(4)
    d = await hookpost.wait_status(pid, dlv["id"], "succeeded")
    assert [a["status_code"] for a in d["attempts"]] == [500, 500, 500, 200]


async def test_resend_of_a_failing_delivery_makes_one_attempt(
    hookpost: Hookpost, receiver: Receiver
) -> None:
    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, receiver.on("/dead", [500]), max_attempts=1)
    await hookpost.publish(pid)
    (dlv,) = await hookpost.deliveries(pid)
    await hookpost.wait_status(pid, dlv["id"], "failed")
    r = await hookpost.http.post(f"/api/v1/projects/{pid}/deliveries/{dlv['id']}/resend")
    assert r.status_code == 202
    await receiver.wait_for(2)
    d = await hookpost.wait_status(pid, dlv["id"], "failed")
    assert d["attempt_count"] == 2


async def test_recover_resends_failed_since(hookpost: Hookpost, receiver: Receiver) -> None:
    pid, _ = await hookpost.project()
    ep = await hookpost.endpoint(pid, receiver.on("/r", [500, 500, 200]), max_attempts=1)
    other = await hookpost.endpoint(pid, receiver.on("/other", [500]), max_attempts=1)
    since = datetime.now(UTC) - timedelta(minutes=1)
    await hookpost.publish(pid, event_id="a")
    await hookpost.publish(pid, event_id="b")
    await receiver.wait_for(2, "/r")
    for d in await hookpost.deliveries(pid):
        await hookpost.wait_status(pid, d["id"], "failed")
    r = await hookpost.http.post(
        f"/api/v1/projects/{pid}/endpoints/{ep['id']}/recover", json={"since": since.isoformat()}
    )
    assert r.status_code == 202, r.text
    assert r.json()["recovered"] == 2 and r.json()["total"] == 2
    await receiver.wait_for(4, "/r")
    job = (await hookpost.http.get(f"/api/v1/projects/{pid}/jobs/{r.json()['id']}")).json()
    assert (job["status"], job["done"]) == ("succeeded", 2)
    for d in await hookpost.deliveries(pid, endpoint_id=ep["id"]):
        await hookpost.wait_status(pid, d["id"], "succeeded")
    for d in await hookpost.deliveries(pid, endpoint_id=other["id"]):
        assert d["status"] == "failed"  # another endpoint's failures are left alone
    assert len(receiver.at("/other")) == 2

    later = datetime.now(UTC) + timedelta(minutes=1)
    r = await hookpost.http.post(
        f"/api/v1/projects/{pid}/endpoints/{other['id']}/recover", json={"since": later.isoformat()}
    )
    assert r.json()["recovered"] == 0 and r.json()["status"] == "succeeded"


async def test_idempotent_publish(hookpost: Hookpost, receiver: Receiver) -> None:
    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, receiver.url())
    body = {"event_type": "user.created", "payload": {"v": 1}, "event_id": "once"}
    first = await hookpost.http.post(f"/api/v1/projects/{pid}/events", json=body)
    assert first.status_code == 202
    again = await hookpost.http.post(f"/api/v1/projects/{pid}/events", json=body)
    assert again.status_code == 200
    assert again.json()["payload"] == {"v": 1}
    assert again.json()["deliveries"] == 1
    # Another payload under the same id is a conflict (test_api_answers.py has the table).
    other = await hookpost.http.post(
        f"/api/v1/projects/{pid}/events", json={**body, "payload": {"v": 2}}
    )
    assert other.status_code == 409
    await receiver.wait_for(1)
    await asyncio.sleep(0.2)
    assert len(receiver.requests) == 1
    assert len(await hookpost.deliveries(pid)) == 1
    # concurrent repeats: still one event, one delivery
    body["event_id"] = "race"
    answers = await asyncio.gather(
        *(hookpost.http.post(f"/api/v1/projects/{pid}/events", json=body) for _ in range(10))
    )
    assert sorted(a.status_code for a in answers) == [200] * 9 + [202]
    assert len(await hookpost.deliveries(pid, event_id="race")) == 1


async def test_send_test_event_to_one_endpoint(hookpost: Hookpost, receiver: Receiver) -> None:
    pid, _ = await hookpost.project()
    ep = await hookpost.endpoint(pid, receiver.url("/t"))
    await hookpost.endpoint(pid, receiver.url("/not-me"))
    r = await hookpost.http.post(f"/api/v1/projects/{pid}/endpoints/{ep['id']}/test", json={})
    assert r.status_code == 202, r.text
    assert r.json()["deliveries"] == 1
    (req,) = await receiver.wait_for(1)
    assert req.path == "/t"
    assert json.loads(req.body)["type"] == "hookpost.test"
    await asyncio.sleep(0.1)
    assert receiver.at("/not-me") == []


async def test_custom_headers_sent(hookpost: Hookpost, receiver: Receiver) -> None:
    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, receiver.url(), headers={"X-Tenant": "acme"})
    await hookpost.publish(pid)
    (req,) = await receiver.wait_for(1)
    assert req.headers["X-Tenant"] == "acme"
    assert req.headers["Content-Type"] == "application/json"


async def test_slow_endpoint_does_not_block_healthy_one(
    hookpost: Hookpost, receiver: Receiver
) -> None:
    async def hang(request: web.Request, n: int) -> web.Response:
        await asyncio.sleep(3)
        return web.Response(status=200)

    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, receiver.on("/slow", hang), timeout_seconds=5)
    await hookpost.endpoint(pid, receiver.url("/fast"))
    for i in range(20):
        await hookpost.publish(pid, event_id=f"e{i}")
    await receiver.wait_for(20, "/fast", timeout=2.5)


async def test_one_publish_batch_mixes_projects_repeats_filters_and_disabled(
    hookpost: Hookpost, receiver: Receiver
) -> None:
    """The set-based batch behind group commit gives each request what publishing
    it alone would: repeats (stored earlier or earlier in the batch) answer with
    the first event, filters and subscriptions apply per project, and disabled
    endpoints get a held delivery."""
    from hookpost.store._group_commit import PublishRequest

    p1, _ = await hookpost.project()
    p2, _ = await hookpost.project()
    on = await hookpost.endpoint(p1, receiver.url("/all"))
    big = await hookpost.endpoint(p1, receiver.url("/big"), filter={"amount": {"$gt": 10}})
    off = await hookpost.endpoint(p1, receiver.url("/off"), enabled=False)
    await hookpost.endpoint(p2, receiver.url("/x"), event_types=["x.*"])
    old = await hookpost.publish(p1, "a.b", payload={"amount": 1}, event_id="old")
    assert old["deliveries"] == 2
    batch = [
        PublishRequest(p1, "a.b", '{"amount":5}', "old", None),
        PublishRequest(p1, "a.b", '{"amount":50}', "n1", None),
        PublishRequest(p1, "a.b", '{"amount":99}', "n1", None),
        PublishRequest(p2, "x.y", "{}", None, None),
        PublishRequest(p2, "z.y", "{}", "n2", None),
    ]
    results = await hookpost.store._publish_batch(batch)
    assert [(e["id"], n, created) for e, n, created in results] == [
        ("old", 2, False),
        ("n1", 3, True),
        ("n1", 3, False),
        (results[3][0]["id"], 1, True),
        ("n2", 0, True),
    ]
    assert results[0][0]["payload"] == '{"amount":1}'  # the first event, not the repeat
    assert results[2][0]["payload"] == '{"amount":50}'
    assert results[3][0]["id"].startswith("msg_") and results[3][0]["project_id"] == p2
    n1 = {d["endpoint_id"]: d["status"] for d in await hookpost.deliveries(p1, event_id="n1")}
    assert set(n1) == {on["id"], big["id"], off["id"]}
    assert n1[off["id"]] == "held"
    await receiver.wait_for(2, "/all")  # "old" and "n1"; "/big" only "n1"
    await receiver.wait_for(1, "/big")
    assert len(await hookpost.deliveries(p2)) == 1
    seqs = [e["seq"] for e, _n, created in results if created]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
