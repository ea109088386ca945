"""The event-type catalog: provider seeds, and JSON Schemas enforced on publish."""

from __future__ import annotations

from tests.conftest import Hookpost


async def test_seed_galaxyjoy_and_byl(hookpost_noworkers: Hookpost) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    r = await hp.http.post(
        f"/api/v1/projects/{pid}/event-types/seed", json={"provider": "galaxyjoy"}
    )
    assert r.status_code == 201, r.text
    names = {e["name"] for e in r.json()["data"]}
    assert {"user.created", "user.updated-ekyc", "user.deleted"} <= names
    r = await hp.http.post(f"/api/v1/projects/{pid}/event-types/seed", json={"provider": "byl"})
    assert r.status_code == 201
    again = await hp.http.post(f"/api/v1/projects/{pid}/event-types/seed", json={"provider": "byl"})
    assert again.status_code == 201  # seeding twice refreshes, it does not fail
    listed = (
        await hp.http.get(f"/api/v1/projects/{pid}/event-types", params={"limit": 100})
    ).json()
    assert {e["name"] for e in listed["data"]} == names | {"invoice.paid", "checkout.completed"}
    bad = await hp.http.post(f"/api/v1/projects/{pid}/event-types/seed", json={"provider": "acme"})
    assert bad.status_code == 422 and "provider" in bad.json()["message"]


async def test_schema_enforced_on_publish(hookpost_noworkers: Hookpost) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    schema = {
        "type": "object",
        "required": ["amount", "currency"],
        "properties": {"amount": {"type": "integer", "minimum": 0}, "currency": {"type": "string"}},
    }
    r = await hp.http.post(
        f"/api/v1/projects/{pid}/event-types",
        json={"name": "invoice.paid", "description": "paid", "schema": schema},
    )
    assert r.status_code == 201, r.text
    assert r.json()["schema"] == schema
    dup = await hp.http.post(f"/api/v1/projects/{pid}/event-types", json={"name": "invoice.paid"})
    assert dup.status_code == 409

    url = f"/api/v1/projects/{pid}/events"
    bad = await hp.http.post(
        url, json={"event_type": "invoice.paid", "payload": {"amount": -1, "currency": "MNT"}}
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["field"] == "payload.amount"
    missing = await hp.http.post(url, json={"event_type": "invoice.paid", "payload": {"amount": 5}})
    assert missing.status_code == 422 and "currency" in missing.json()["message"]
    assert (await hp.http.get(url)).json()["data"] == []  # nothing half-written
    ok = await hp.http.post(
        url, json={"event_type": "invoice.paid", "payload": {"amount": 5, "currency": "MNT"}}
    )
    assert ok.status_code == 202
    other = await hp.http.post(url, json={"event_type": "not.in.catalog", "payload": {}})
    assert other.status_code == 202  # the catalog documents; it does not fence off new types

    r = await hp.http.delete(f"/api/v1/projects/{pid}/event-types/invoice.paid")
    assert r.status_code == 204
    now_ok = await hp.http.post(url, json={"event_type": "invoice.paid", "payload": {"amount": -1}})
    assert now_ok.status_code == 202


async def test_invalid_schema_rejected(hookpost_noworkers: Hookpost) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    r = await hp.http.post(
        f"/api/v1/projects/{pid}/event-types",
        json={"name": "a.b", "schema": {"type": "no-such-type"}},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"].startswith("schema")
    assert (await hp.http.get(f"/api/v1/projects/{pid}/event-types")).json()["data"] == []
