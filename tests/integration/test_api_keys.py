"""Project API keys: shown once, stored hashed, scoped, revocable, isolated, rate-limited."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text

from hookpost.core.clock import ManualClock
from hookpost.web import scopes
from hookpost.web.ratelimit import AUTH_FAILURE_BURST, AUTH_FAILURES_PER_MINUTE, RateLimiter
from tests.conftest import ADMIN, Hookpost, start_hookpost


def client(hp: Hookpost, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=hp.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=10
    )


async def new_key(hp: Hookpost, pid: str, scope: str, name: str = "") -> dict[str, str]:
    r = await hp.http.post(f"/api/v1/projects/{pid}/api-keys", json={"scope": scope, "name": name})
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_scope_table() -> None:
    events = "/projects/{project_id}/events"
    assert scopes.allows("full", "DELETE", "/api/v1/projects/{project_id}")
    assert scopes.allows("read", "GET", events)
    assert not scopes.allows("read", "POST", events)
    assert scopes.allows("publish", "POST", events)
    assert not scopes.allows("publish", "GET", events)
    assert not scopes.allows("publish", "POST", "/api/v1/projects/{project_id}/endpoints")
    assert scopes.allows("publish", "POST", "/api/v1" + events)
    assert not scopes.allows("root", "GET", events)


def test_token_bucket() -> None:
    now = [0.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    assert [limiter.take("k") for _ in range(2)] == [0, 0]  # burst of one second's worth
    wait = limiter.take("k")
    assert wait == pytest.approx(0.5)
    assert limiter.retry_after(wait) == "1"
    assert limiter.take("other") == 0  # per key
    now[0] += 0.5
    assert limiter.take("k") == 0
    assert RateLimiter(0).take("k") == 0  # off


async def test_keys_are_shown_once_stored_hashed_and_scoped(
    hookpost_noworkers: Hookpost,
) -> None:
    hp = hookpost_noworkers
    pid, first = await hp.project()
    read = await new_key(hp, pid, "read", "dashboard")
    publish = await new_key(hp, pid, "publish", "billing backend")
    assert read["key"].startswith(read["prefix"]) and read["scope"] == "read"
    r = await hp.http.get(f"/api/v1/projects/{pid}/api-keys")
    listed = r.json()["data"]
    assert {k["scope"] for k in listed} == {"full", "read", "publish"}
    for key in (first, read["key"], publish["key"]):
        assert key not in r.text
        assert hashlib.sha256(key.encode()).hexdigest() not in r.text
    assert {"id", "name", "scope", "prefix", "created_at", "revoked_at"} == set(listed[0])
    async with hp.store.engine.connect() as conn:  # only hashes are stored
        stored = str((await conn.execute(text("SELECT * FROM api_keys"))).all())
    assert all(k not in stored for k in (first, read["key"], publish["key"]))

    ep = await hp.endpoint(pid, "http://127.0.0.1:9/hook")
    async with client(hp, read["key"]) as c:
        for path in ("endpoints", f"endpoints/{ep['id']}", "events", "deliveries", "api-keys"):
            assert (await c.get(f"/api/v1/projects/{pid}/{path}")).status_code == 200, path
        assert (await c.get("/api/v1/projects")).status_code == 200
        for method, path, body in [
            ("POST", "events", {"event_type": "a.b", "payload": {}}),
            ("POST", "endpoints", {"url": "http://127.0.0.1:9/x"}),
            ("PATCH", f"endpoints/{ep['id']}", {"enabled": False}),
            ("DELETE", f"endpoints/{ep['id']}", None),
            ("POST", "api-keys", {"scope": "full"}),
        ]:
            r = await c.request(method, f"/api/v1/projects/{pid}/{path}", json=body)
            assert r.status_code == 403 and "scope" in r.json()["message"], (method, path)
    async with client(hp, publish["key"]) as c:
        r = await c.post(
            f"/api/v1/projects/{pid}/events", json={"event_type": "a.b", "payload": {"n": 1}}
        )
        assert r.status_code == 202, r.text
        for path in ("events", f"events/{r.json()['id']}", "deliveries", "endpoints", ""):
            r = await c.get(f"/api/v1/projects/{pid}/{path}".rstrip("/"))
            assert r.status_code == 403, path
        r = await c.post(f"/api/v1/projects/{pid}/endpoints", json={"url": "http://127.0.0.1:9/"})
        assert r.status_code == 403
    # a full key manages keys; revocation takes effect at once and is idempotent
    async with client(hp, first) as c:
        r = await c.delete(f"/api/v1/projects/{pid}/api-keys/{read['id']}")
        assert r.status_code == 200 and r.json()["revoked_at"] is not None, r.text
        again = await c.delete(f"/api/v1/projects/{pid}/api-keys/{read['id']}")
        assert again.json()["revoked_at"] == r.json()["revoked_at"]
        r = await c.post(f"/api/v1/projects/{pid}/api-keys", json={"scope": "root"})
        assert r.status_code == 422 and r.json()["detail"][0]["field"] == "scope"
    async with client(hp, read["key"]) as c:
        assert (await c.get(f"/api/v1/projects/{pid}/endpoints")).status_code == 401


async def test_key_routes_are_tenant_isolated(hookpost_noworkers: Hookpost) -> None:
    hp = hookpost_noworkers
    a_id, a_key = await hp.project()
    b_id, b_key = await hp.project()
    b_extra = await new_key(hp, b_id, "read", "bravo-key-name")
    async with client(hp, a_key) as a:
        for method, path, body in [
            ("GET", f"/api/v1/projects/{b_id}/api-keys", None),
            ("POST", f"/api/v1/projects/{b_id}/api-keys", {"scope": "full"}),
            ("DELETE", f"/api/v1/projects/{b_id}/api-keys/{b_extra['id']}", None),
            ("DELETE", f"/api/v1/projects/{a_id}/api-keys/{b_extra['id']}", None),  # B's id
        ]:
            r = await a.request(method, path, json=body)
            assert r.status_code == 404, (method, path, r.text)
            assert "bravo-key-name" not in r.text and b_extra["prefix"] not in r.text
        listed = (await a.get(f"/api/v1/projects/{a_id}/api-keys")).json()["data"]
        assert len(listed) == 1 and b_extra["id"] not in str(listed)
    async with client(hp, b_extra["key"]) as b:  # B's key still works
        assert (await b.get(f"/api/v1/projects/{b_id}/endpoints")).status_code == 200
    assert (await hp.http.get(f"/api/v1/projects/{b_id}/api-keys")).json()["data"][0][
        "revoked_at"
    ] is None
    assert b_key  # B's own first key was never exposed to A


@pytest.fixture
async def limited(db_url: str, clock: ManualClock) -> AsyncIterator[Hookpost]:
    async for hp in start_hookpost(
        db_url, clock, workers=False, max_endpoints_per_project=2, api_rate_limit=1
    ):
        yield hp


async def test_endpoint_limit_and_rate_limit(limited: Hookpost) -> None:
    hp = limited
    pid, key = await hp.project()
    for i in range(2):
        await hp.endpoint(pid, f"http://127.0.0.1:9/{i}")
    r = await hp.http.post(f"/api/v1/projects/{pid}/endpoints", json={"url": "http://127.0.0.1:9/"})
    assert r.status_code == 409 and r.json()["error"] == "limit_reached", r.text
    assert "limit of 2 endpoints" in r.json()["message"]
    assert len((await hp.http.get(f"/api/v1/projects/{pid}/endpoints")).json()["data"]) == 2
    # one request per second per key (burst 1); the admin token is not limited
    async with client(hp, key) as c:
        assert (await c.get(f"/api/v1/projects/{pid}")).status_code == 200
        r = await c.get(f"/api/v1/projects/{pid}")
        assert r.status_code == 429 and r.json()["error"] == "rate_limited", r.text
        assert int(r.headers["Retry-After"]) >= 1
    other = await new_key(hp, pid, "read")
    async with client(hp, other["key"]) as c:
        assert (await c.get(f"/api/v1/projects/{pid}")).status_code == 200
    for _ in range(3):
        assert (await hp.http.get(f"/api/v1/projects/{pid}")).status_code == 200


async def test_token_guessing_is_slowed_per_client_address(hookpost_noworkers: Hookpost) -> None:
    hp = hookpost_noworkers
    t = [0.0]
    hp.app.state.auth_failures = RateLimiter.for_auth_failures(clock=lambda: t[0])
    async with httpx.AsyncClient(base_url=hp.base_url, timeout=30) as anon:
        for i in range(AUTH_FAILURE_BURST):
            r = await anon.get("/api/v1/projects", headers={"Authorization": f"Bearer hp_no{i}"})
            assert r.status_code == 401, (i, r.text)
        r = await anon.get("/api/v1/projects", headers={"Authorization": "Bearer hp_nope"})
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) >= 1
        assert "too many invalid tokens" in r.json()["message"]
        # Locked out means locked out: the right token waits too, and a missing
        # token (no guess) is still a plain 401.
        admin = {"Authorization": f"Bearer {ADMIN}"}
        assert (await anon.get("/api/v1/projects", headers=admin)).status_code == 429
        assert (await anon.get("/api/v1/projects")).status_code == 401
        t[0] += 60 / AUTH_FAILURES_PER_MINUTE
        assert (await anon.get("/api/v1/projects", headers=admin)).status_code == 200
