"""``hookpost.Client`` and ``hookpost.AsyncClient`` against a real server and receiver."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

import hookpost
from hookpost import AsyncClient, Client, HookpostError
from hookpost.verify import verify
from tests.conftest import ADMIN, Hookpost, Receiver


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: the client talks to the server over HTTP, so the storage backend
    is not what is under test here (test_api_input.py covers both backends)."""
    return sqlite_url


def test_public_names() -> None:
    assert hookpost.Client is Client
    assert hookpost.AsyncClient is AsyncClient
    assert issubclass(HookpostError, Exception)


async def test_async_client_end_to_end(hookpost: Hookpost, receiver: Receiver) -> None:
    async with AsyncClient(hookpost.base_url, token=ADMIN) as admin:
        project = await admin.create_project("acme")
        other = await admin.create_project("other")
    pid, key = project["id"], project["api_key"]
    assert project["name"] == "acme" and key

    async with AsyncClient(hookpost.base_url, token=key) as hp:
        ep = await hp.create_endpoint(pid, receiver.url("/c"), event_types=["user.*"])
        assert ep["secret"].startswith("whsec_")
        assert ep["event_types"] == ["user.*"]

        ev = await hp.publish(pid, "user.created", {"n": 1}, event_id="evt_c1")
        assert ev["id"] == "evt_c1" and ev["deliveries"] == 1
        skipped = await hp.publish(pid, "invoice.paid", {"n": 2})
        assert skipped["deliveries"] == 0

        (req,) = await receiver.wait_for(1)
        event = verify(req.body, req.headers, ep["secret"], now=hookpost.clock.now())
        assert event["data"] == {"n": 1}

        publisher = await hp.create_api_key(pid, scope="publish", name="billing")
        assert publisher["key"] and publisher["scope"] == "publish"
        keys = await hp.list_api_keys(pid)
        assert publisher["id"] in [k["id"] for k in keys["data"]]
        assert all("key" not in k for k in keys["data"])
        async with AsyncClient(hookpost.base_url, token=publisher["key"]) as pub:
            with pytest.raises(HookpostError) as denied:
                await pub.list_deliveries(pid)
            assert denied.value.status == 403
        revoked = await hp.revoke_api_key(pid, publisher["id"])
        assert revoked["revoked_at"] is not None

        page = await hp.list_deliveries(pid)
        assert [d["event_id"] for d in page["data"]] == ["evt_c1"]
        assert page["next_cursor"] is None
        dlv_id = page["data"][0]["id"]
        detail = await _until_async(hp, pid, dlv_id, lambda d: d["status"] == "succeeded")
        (att,) = detail["attempts"]
        assert att["status_code"] == 200 and att["number"] == 1
        assert att["request_body"].encode() == req.body

        resent = await hp.resend(pid, dlv_id)
        assert resent["id"] == dlv_id
        second = (await receiver.wait_for(2))[1]
        assert second.body == req.body
        assert second.headers["webhook-id"] == "evt_c1"
        detail = await _until_async(hp, pid, dlv_id, lambda d: len(d["attempts"]) == 2)
        assert [a["number"] for a in detail["attempts"]] == [1, 2]

        filtered = await hp.list_deliveries(pid, status="succeeded", endpoint_id=ep["id"])
        assert [d["id"] for d in filtered["data"]] == [dlv_id]

        # pages: iterate follows next_cursor to the end
        for i in range(4):
            await hp.create_endpoint(pid, receiver.url(f"/more{i}"))
        seen = [e["id"] async for e in hp.iterate(hp.list_endpoints, pid, limit=2)]
        assert len(seen) == 5 and len(set(seen)) == 5 and ep["id"] in seen
        first_page = await hp.list_endpoints(pid, limit=2)
        assert len(first_page["data"]) == 2 and first_page["next_cursor"]
        events = [e["id"] async for e in hp.iterate(hp.list_events, pid, limit=1, order="asc")]
        assert events[0] == "evt_c1" and len(events) == 2

        # errors carry the status and the server's JSON
        with pytest.raises(HookpostError) as err:
            await hp.get_delivery(pid, "dlv_nope")
        assert err.value.status == 404
        with pytest.raises(HookpostError) as err:
            await hp.create_endpoint(pid, "ftp://example.com/hook")
        assert err.value.status == 422
        assert "url" in err.value.body["message"]
        assert "url" in str(err.value)
        with pytest.raises(HookpostError) as err:
            await hp.publish(pid, "not a type", {})
        assert err.value.status == 422
        with pytest.raises(HookpostError) as err:
            await hp.get_project(other["id"])  # another tenant's project: 404, not 403
        assert err.value.status == 404
        with pytest.raises(HookpostError) as err:
            await hp.create_project("nope")
        assert err.value.status == 403
    async with AsyncClient(hookpost.base_url, token="wrong") as bad:
        with pytest.raises(HookpostError) as err:
            await bad.list_projects()
        assert err.value.status == 401


async def _until_async(
    hp: AsyncClient, pid: str, dlv_id: str, done: Any, timeout: float = 10
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        d = await hp.get_delivery(pid, dlv_id)
        if done(d):
            return dict(d)
        assert time.monotonic() < deadline, d
        await asyncio.sleep(0.03)


def _until(hp: Client, pid: str, dlv_id: str, done: Any, timeout: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        d = hp.get_delivery(pid, dlv_id)
        if done(d):
            return dict(d)
        assert time.monotonic() < deadline, d
        time.sleep(0.03)


async def test_sync_client_end_to_end(hookpost: Hookpost, receiver: Receiver) -> None:
    url = receiver.url("/s")
    now = hookpost.clock.now

    def scenario() -> dict[str, Any]:
        with Client(hookpost.base_url, token=ADMIN) as admin:
            project = admin.create_project("sync")
            assert any(p["id"] == project["id"] for p in admin.iterate(admin.list_projects))
        pid = project["id"]
        out: dict[str, Any] = {"pid": pid}
        with Client(hookpost.base_url, token=project["api_key"]) as hp:
            ep = hp.create_endpoint(
                pid, url, max_attempts=3, description="sync", event_types=["user.created"]
            )
            out["secret"] = ep["secret"]
            assert ep["max_attempts"] == 3 and ep["description"] == "sync"
            assert hp.get_endpoint(pid, ep["id"])["url"] == url

            ev = hp.publish(pid, "user.created", {"s": 1}, event_id="evt_s1")
            assert ev["deliveries"] == 1
            again = hp.publish(pid, "user.created", {"s": 1}, event_id="evt_s1")
            assert again["id"] == "evt_s1" and again["deliveries"] == 1  # idempotent

            (dlv,) = hp.list_deliveries(pid)["data"]
            d = _until(hp, pid, dlv["id"], lambda d: d["status"] == "succeeded")
            assert d["attempts"][0]["status_code"] == 200
            assert d["attempt_count"] == 1

            assert hp.resend(pid, dlv["id"])["id"] == dlv["id"]
            d = _until(hp, pid, dlv["id"], lambda d: len(d["attempts"]) == 2)
            assert d["attempts"][1]["status_code"] == 200

            for i in range(4):
                assert hp.publish(pid, "user.updated", {"i": i})["deliveries"] == 0
            ids = [e["id"] for e in hp.iterate(hp.list_events, pid, limit=2)]
            assert len(ids) == 5 and len(set(ids)) == 5 and ids[-1] == "evt_s1"
            assert hp.get_event(pid, "evt_s1")["payload"] == {"s": 1}

            updated = hp.update_endpoint(pid, ep["id"], enabled=False)
            assert updated["enabled"] is False
            off = hp.publish(pid, "user.created", {}, event_id="evt_off")
            held = hp.list_deliveries(pid, event_id="evt_off")["data"]
            assert [d["status"] for d in held] in ([], ["held"])  # never sent
            assert off["deliveries"] == len(held)

            for call, status in [
                (lambda: hp.get_endpoint(pid, "ep_nope"), 404),
                (lambda: hp.get_delivery(pid, "dlv_nope"), 404),
                (lambda: hp.create_endpoint(pid, "http://u:p@example.com/"), 422),
                (lambda: hp.update_endpoint(pid, ep["id"], max_attempts="many"), 422),
                (lambda: hp.list_deliveries(pid, status="exploded"), 422),
            ]:
                with pytest.raises(HookpostError) as err:
                    call()
                assert err.value.status == status, err.value.body
                assert isinstance(err.value.body, dict) and err.value.body["message"]

            assert hp.delete_endpoint(pid, ep["id"]) is None
            with pytest.raises(HookpostError) as err:
                hp.get_endpoint(pid, ep["id"])
            assert err.value.status == 404
        return out

    out = await asyncio.wait_for(asyncio.to_thread(scenario), 30)
    first, second = await receiver.wait_for(2, "/s")
    await asyncio.sleep(0.1)
    assert first.body == second.body
    assert verify(second.body, second.headers, out["secret"], now=now())["data"] == {"s": 1}
    assert len(receiver.at("/s")) == 2  # the repeat and the publish while disabled sent nothing
