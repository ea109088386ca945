"""The operations and error classes the client gained for issue 16, against a live server.

test_client.py walks the original publish/deliver flow; this covers what it
did not: project update, the event type catalog, custom profiles, jobs,
portal links, release-held, health/readiness/metrics, every delivery policy
field of an endpoint, and which exception each kind of failure raises.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from hookpost import (
    AsyncClient,
    Client,
    Conflict,
    ConnectionFailed,
    Forbidden,
    NotFound,
    RateLimited,
    Unauthorized,
    ValidationFailed,
)
from hookpost.core.clock import ManualClock
from tests.conftest import ADMIN, Hookpost, Receiver, free_port, start_hookpost

POLICY = {
    "retry_schedule": [1.0, 5.0, 30.0],
    "success_rule": "200",
    "rate_limit": 2.5,
    "max_concurrency": 3,
    "filter": {"amount": {"$gte": 100}},
    "ordering": "fifo",
    "max_attempts": 4,
    "timeout_seconds": 7.5,
    "headers": {"X-Tenant": "t1", "X-Api-Key": "k-123"},
    "secret_headers": ["X-Api-Key"],
    "description": "billing",
    "event_types": ["invoice.*"],
}


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: the client is under test, not the storage backend."""
    return sqlite_url


@pytest.fixture
async def limited(db_url: str, clock: ManualClock) -> AsyncIterator[Hookpost]:
    async for hp in start_hookpost(db_url, clock, workers=False, api_rate_limit=1.0):
        yield hp


async def test_every_endpoint_field_round_trips(hookpost: Hookpost, receiver: Receiver) -> None:
    async with AsyncClient(hookpost.base_url, token=ADMIN) as hp:
        pid = (await hp.create_project("fields"))["id"]
        ep = await hp.create_endpoint(pid, receiver.url("/f"), **POLICY)  # type: ignore[arg-type]
        got = await hp.get_endpoint(pid, ep["id"])
        plain = {k: v for k, v in POLICY.items() if k != "headers"}
        assert {k: got[k] for k in plain} == plain  # type: ignore[literal-required]
        assert got["headers"]["X-Tenant"] == "t1"
        assert got["headers"]["X-Api-Key"] != "k-123"  # a secret header: masked

        cleared = await hp.update_endpoint(
            pid, ep["id"], rate_limit=None, filter=None, retry_schedule=None, ordering="none"
        )
        assert cleared["rate_limit"] is None and cleared["filter"] is None
        assert cleared["retry_schedule"] is None and cleared["ordering"] == "none"
        assert cleared["max_concurrency"] == 3  # not named: unchanged


async def test_catalog_profiles_jobs_portal_and_system(
    hookpost: Hookpost, receiver: Receiver
) -> None:
    async with AsyncClient(hookpost.base_url, token=ADMIN) as admin:
        created = await admin.create_project("before")
    pid = created["id"]
    async with AsyncClient(hookpost.base_url, token=created["api_key"]) as hp:
        renamed = await hp.update_project(pid, name="after")
        assert renamed["name"] == "after" and (await hp.get_project(pid))["name"] == "after"

        schema = {"type": "object", "required": ["amount"]}
        et = await hp.create_event_type(pid, "invoice.paid", description="paid", schema=schema)
        assert et["schema"] == schema and et["description"] == "paid"
        assert (await hp.get_event_type(pid, "invoice.paid"))["name"] == "invoice.paid"
        with pytest.raises(ValidationFailed) as invalid:
            await hp.publish(pid, "invoice.paid", {"no": "amount"})
        assert "payload" in " ".join(invalid.value.fields) + invalid.value.message
        seeded = await hp.seed_event_types(pid, "byl")
        assert seeded["data"]
        names = [t["name"] async for t in hp.iterate(hp.list_event_types, pid, limit=2)]
        assert "invoice.paid" in names and len(names) == len(set(names)) > 1
        assert await hp.delete_event_type(pid, "invoice.paid") is None
        with pytest.raises(NotFound):
            await hp.get_event_type(pid, "invoice.paid")

        definition = {"header": "X-Acme-Signature", "encoding": "base64"}
        prof = await hp.create_profile(pid, "acme", definition)
        assert prof["name"] == "acme"
        assert [p["name"] for p in (await hp.list_profiles(pid))["data"]] == ["acme"]
        assert (await hp.get_profile(pid, "acme"))["definition"]["header"] == "X-Acme-Signature"
        ep = await hp.create_endpoint(pid, receiver.url("/acme"), profile="acme", enabled=False)
        with pytest.raises(Conflict):  # in use by an endpoint
            await hp.delete_profile(pid, "acme")

        await hp.publish(pid, "user.created", {"id": 1})
        held = (await hp.list_deliveries(pid, status="held"))["data"]
        assert len(held) == 1
        await hp.update_endpoint(pid, ep["id"], enabled=True)
        released = await hp.release_held(pid, ep["id"])
        assert released["released"] == 1
        await receiver.wait_for(1)

        job = await hp.recover_project(pid, since="2000-01-01T00:00:00Z")
        assert job["kind"] and job["recovered"] == job["total"]
        jobs = (await hp.list_jobs(pid))["data"]
        assert [j["id"] for j in jobs] == [job["id"]]
        assert (await hp.get_job(pid, job["id"]))["id"] == job["id"]

        link = await hp.create_portal_link(pid, scope="manage", expires_in=600)
        assert link["scope"] == "manage" and "/portal/" in link["url"]
        assert (await hp.create_portal_link(pid))["scope"] == "view"

        assert await hp.health() == {"status": "ok"}
        ready = await hp.ready()
        assert ready["status"] == "ready" and ready["checks"]["database"] == "ok"
    async with AsyncClient(hookpost.base_url, token=ADMIN) as admin:
        assert "hookpost_" in await admin.metrics()
        renames = await admin.list_audit_log(project_id=pid, action="project.*")
        assert [e["after"] for e in renames["data"] if e["action"] == "project.update"] == [
            {"name": "after"}
        ]
        exported = await admin.export_audit_log(project_id=pid)
        assert {e["id"] for e in renames["data"]} <= {e["id"] for e in exported}
        assert exported[0]["at"] <= exported[-1]["at"]  # oldest first


async def test_each_failure_raises_its_class(limited: Hookpost) -> None:
    base = limited.base_url

    def scenario() -> None:
        with Client(base, token=ADMIN) as admin:
            project = admin.create_project("errors")
            pid = project["id"]
            reader = admin.create_api_key(pid, scope="read")
        with Client(base, token="nope", max_retries=0) as bad, pytest.raises(Unauthorized):
            bad.list_projects()
        with Client(base, token=reader["key"], max_retries=0) as ro, pytest.raises(Forbidden):
            ro.publish(pid, "user.created", {})
        with Client(base, token=ADMIN, max_retries=0) as hp:  # the admin is not rate-limited
            with pytest.raises(NotFound) as missing:
                hp.get_endpoint(pid, "ep_nope")
            assert missing.value.code == "not_found"
            with pytest.raises(ValidationFailed) as invalid:
                hp.create_endpoint(pid, "ftp://example.com/h", rate_limit=-1)
            assert set(invalid.value.fields) == {"url", "rate_limit"}
            hp.publish(pid, "user.created", {"a": 1}, event_id="evt_x")
            with pytest.raises(Conflict):
                hp.publish(pid, "user.created", {"a": 2}, event_id="evt_x")
        with Client(base, token=project["api_key"], max_retries=0) as hp:
            with pytest.raises(RateLimited) as limited_err:
                for _ in range(20):
                    hp.list_endpoints(pid)
            assert limited_err.value.retry_after and limited_err.value.retry_after >= 1
        with Client(f"http://127.0.0.1:{free_port()}", max_retries=1, backoff=0) as gone:
            with pytest.raises(ConnectionFailed) as refused:
                gone.health()
            assert "ConnectError" in str(refused.value)

    await asyncio.to_thread(scenario)
