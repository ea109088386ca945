"""What each API-key scope can see, route by route and field by field.

A ``publish`` key must read nothing stored: not through the routes it may not
call (403, whatever the id), and not through the one it may -- a repeated
``event_id`` answers with what this caller sent plus the first event's id,
sequence and delivery count. ``read`` keys see every GET and write nothing;
``full`` keys everything. The stored data carries marker strings, and every
answer (body and headers) is searched for the markers its scope may not see.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from hookpost.services.events import NOT_THE_SCHEMA
from tests.conftest import Hookpost

#: Planted in everything stored; a scope that may not read it must never get it back.
STORED = "stored-marker-7f3a"


def client(hp: Hookpost, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=hp.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )


async def new_key(hp: Hookpost, pid: str, scope: str) -> str:
    r = await hp.http.post(f"/api/v1/projects/{pid}/api-keys", json={"scope": scope})
    assert r.status_code == 201, r.text
    return str(r.json()["key"])


def answer_text(r: httpx.Response) -> str:
    return r.text + "\n".join(f"{k}: {v}" for k, v in r.headers.items())


async def stocked_project(hp: Hookpost) -> dict[str, Any]:
    """A project whose every kind of row carries the ``STORED`` marker."""
    pid, full = await hp.project()
    ep = await hp.endpoint(
        pid,
        f"http://127.0.0.1:9/{STORED}",
        description=STORED,
        headers={"X-Team": STORED},
        filter={"tag": {"$neq": STORED}},
    )
    r = await hp.http.post(
        f"/api/v1/projects/{pid}/event-types",
        json={"name": "order.paid", "description": STORED, "schema": {"type": "object"}},
    )
    assert r.status_code == 201, r.text
    r = await hp.http.post(
        f"/api/v1/projects/{pid}/profiles",
        json={"name": "mine", "definition": {"header": "X-Sig"}},
    )
    assert r.status_code == 201, r.text
    event = await hp.publish(
        pid, "order.paid", payload={"card": STORED}, event_id=f"evt-{STORED}-1"
    )
    (delivery,) = await hp.deliveries(pid)
    r = await hp.http.post(f"/api/v1/projects/{pid}/recover", json={"since": "2020-01-01T00:00Z"})
    assert r.status_code == 202, r.text
    keys = {s: await new_key(hp, pid, s) for s in ("read", "publish")}
    return {
        "pid": pid,
        "full": full,
        "ep": ep["id"],
        "event": event["id"],
        "delivery": delivery["id"],
        "job": r.json()["id"],
        **keys,
    }


#: (method, path under /api/v1/projects/{pid}, body): every project route.
ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "", None),
    ("PATCH", "", {"name": "x"}),
    ("GET", "/api-keys", None),
    ("POST", "/api-keys", {"scope": "full"}),
    ("GET", "/endpoints", None),
    ("GET", "/endpoints/{ep}", None),
    ("POST", "/endpoints", {"url": "http://127.0.0.1:9/new"}),
    ("PATCH", "/endpoints/{ep}", {"description": "y"}),
    ("POST", "/endpoints/{ep}/rotate-secret", {}),
    ("POST", "/endpoints/{ep}/recover", {"since": "2020-01-01T00:00Z"}),
    ("POST", "/endpoints/{ep}/test", {}),
    ("POST", "/endpoints/{ep}/release-held", None),
    ("GET", "/events", None),
    ("GET", "/events/{event}", None),
    ("GET", "/deliveries", None),
    ("GET", "/deliveries/{delivery}", None),
    ("POST", "/deliveries/{delivery}/resend", None),
    ("GET", "/event-types", None),
    ("GET", "/event-types/order.paid", None),
    ("POST", "/event-types", {"name": "other.thing"}),
    ("POST", "/event-types/seed", {"provider": "byl"}),
    ("GET", "/profiles", None),
    ("GET", "/profiles/mine", None),
    ("POST", "/profiles", {"name": "more", "definition": {"header": "X-S"}}),
    ("POST", "/recover", {"since": "2020-01-01T00:00Z"}),
    ("GET", "/jobs", None),
    ("GET", "/jobs/{job}", None),
    ("POST", "/portal-link", {"scope": "manage"}),
    ("DELETE", "/event-types/order.paid", None),
    ("DELETE", "/profiles/mine", None),
    ("DELETE", "/endpoints/{ep}", None),
]


def may(scope: str, method: str) -> bool:
    return scope == "full" or (scope == "read" and method == "GET")


@pytest.mark.parametrize("scope", ["publish", "read"])
async def test_a_scope_gets_403_with_nothing_stored_on_routes_it_may_not_call(
    hookpost_noworkers: Hookpost, scope: str
) -> None:
    hp = hookpost_noworkers
    p = await stocked_project(hp)
    async with client(hp, p[scope]) as c:
        for method, template, body in ROUTES:
            path = f"/api/v1/projects/{p['pid']}" + template.format(**p)
            r = await c.request(method, path, json=body)
            text = answer_text(r)
            if may(scope, method):
                assert r.status_code == 200, (method, template, r.text)
                continue
            assert r.status_code == 403, (scope, method, template, r.text)
            assert STORED not in text, (scope, method, template)
            for secret in (p["ep"], p["event"], p["delivery"], p["job"]):
                assert secret not in r.text, (method, template)
            # Not an oracle either: an id that does not exist answers the same.
            missing = f"/api/v1/projects/{p['pid']}" + template.format(
                ep="ep_nope", event="nope", delivery="dlv_nope", job="job_nope", pid=p["pid"]
            )
            other = await c.request(method, missing, json=body)
            assert (other.status_code, other.json()) == (r.status_code, r.json())
            # A malformed body is refused for the scope first, not described.
            bad = await c.request(method, path, json={"unknown": STORED} if body else None)
            assert bad.status_code == 403 and STORED not in bad.text, (method, template)


# -- publishing an event_id seen before ------------------------------------------

FIRST = {"card": f"{STORED}-4242", "owner": "first-caller"}

#: (who published first, the repeat's event_type, the repeat's payload); all but the
#: identical repeat are a 409 that must quote nothing of the first event either.
REPEATS = [
    ("full", "order.paid", {"card": "mine"}),  # same type, other payload
    ("full", "order.refunded", {"n": 1}),  # other type
    ("full", "order.paid", FIRST),  # the very same body: still only echoes it
    ("publish", "order.paid", FIRST),  # the same, first sent by the publish key itself
    ("publish", "order.paid", {}),  # the key's own earlier event, other payload
    ("admin", "user.created", {"a": [1, 2]}),
]


@pytest.mark.parametrize(("first_by", "event_type", "payload"), REPEATS)
async def test_a_publish_key_repeating_an_event_id_reads_nothing_of_the_first(
    hookpost_noworkers: Hookpost, first_by: str, event_type: str, payload: dict[str, Any]
) -> None:
    hp = hookpost_noworkers
    pid, full = await hp.project()
    await hp.endpoint(pid, "http://127.0.0.1:9/a")
    keys = {"full": full, "publish": await new_key(hp, pid, "publish"), "read": ""}
    eid = "evt-repeat-1"
    first_body = {"event_type": "order.paid", "payload": FIRST, "event_id": eid}
    if first_by == "admin":
        first = await hp.http.post(f"/api/v1/projects/{pid}/events", json=first_body)
    else:
        async with client(hp, keys[first_by]) as c:
            first = await c.post(f"/api/v1/projects/{pid}/events", json=first_body)
    assert first.status_code == 202, first.text
    async with client(hp, keys["publish"]) as c:
        r = await c.post(
            f"/api/v1/projects/{pid}/events",
            json={"event_type": event_type, "payload": payload, "event_id": eid},
        )
    if (event_type, payload) != ("order.paid", FIRST):
        # A different event under a used id: a 409 that quotes nothing of the first.
        assert r.status_code == 409, r.text
        assert STORED not in answer_text(r) and "first-caller" not in r.text
        assert "order.paid" not in r.json()["message"]
        assert len(await hp.deliveries(pid)) == 1
        return
    assert r.status_code == 200, r.text
    got = r.json()
    assert got == {
        "id": eid,
        "event_type": event_type,
        "payload": payload,
        "sequence": first.json()["sequence"],
        "deliveries": 1,
    }
    # Nothing was created, and a key that may read events still gets the first event.
    async with client(hp, full) as c:
        again = await c.post(
            f"/api/v1/projects/{pid}/events",
            json={"event_type": event_type, "payload": payload, "event_id": eid},
        )
    assert again.status_code == 200
    assert again.json()["payload"] == FIRST and again.json()["event_type"] == "order.paid"
    assert again.json()["created_at"] == first.json()["created_at"]
    assert len(await hp.deliveries(pid)) == 1


async def test_a_publish_key_racing_a_full_key_for_one_event_id_reads_nothing(
    hookpost_noworkers: Hookpost,
) -> None:
    """Concurrent publishes of one id meet in one group commit (SQLite) or a unique
    violation (PostgreSQL): whichever wins, the publish key sees only its own body."""
    hp = hookpost_noworkers
    pid, full = await hp.project()
    publisher = await new_key(hp, pid, "publish")
    async with client(hp, full) as f, client(hp, publisher) as p:
        for n in range(6):
            eid = f"evt-race-{n}"
            url = f"/api/v1/projects/{pid}/events"
            mine = {"event_type": "a.b", "payload": {"n": n}, "event_id": eid}
            theirs = {"event_type": "a.b", "payload": {"card": STORED}, "event_id": eid}
            rf, rp = await asyncio.gather(f.post(url, json=theirs), p.post(url, json=mine))
            # Different payloads under one id: one is stored, the other a 409.
            assert {rf.status_code, rp.status_code} == {409, 202}, (rf.text, rp.text)
            assert STORED not in answer_text(rp), rp.text
            if rp.status_code == 202:
                assert rp.json()["payload"] == {"n": n} and rp.json()["id"] == eid


# -- what the routes a scope may call show, field by field ---------------------------

#: The secret header planted in the stocked project's second endpoint.
HEADER_VALUE = "Bearer rcv-cred-7f3a"


async def _secrets_of(hp: Hookpost, p: dict[str, Any]) -> list[str]:
    """A second endpoint with a secret header; every string no GET answer may carry."""
    r = await hp.http.post(
        f"/api/v1/projects/{p['pid']}/endpoints",
        json={"url": "http://127.0.0.1:9/cred", "headers": {"Authorization": HEADER_VALUE}},
    )
    assert r.status_code == 201, r.text
    p["ep2"] = r.json()["id"]
    signing = str(r.json()["secret"])
    return [signing, signing.removeprefix("whsec_"), HEADER_VALUE, p["full"], p["read"]]


#: (GET path, fields the answer must have, fields it must not have)
FIELDS: list[tuple[str, set[str], set[str]]] = [
    ("/endpoints/{ep2}", {"headers", "secret_headers", "url"}, {"secret", "old_secrets"}),
    ("/endpoints", {"data"}, set()),
    ("/api-keys", {"data"}, set()),
    ("/events/{event}", {"payload", "sequence"}, set()),
    ("/deliveries/{delivery}", {"attempts"}, set()),
]


@pytest.mark.parametrize("scope", ["admin", "full", "read"])
async def test_no_get_answer_carries_a_signing_secret_key_or_secret_header(
    hookpost_noworkers: Hookpost, scope: str
) -> None:
    hp = hookpost_noworkers
    p = await stocked_project(hp)
    secrets = await _secrets_of(hp, p)
    http = hp.http if scope == "admin" else client(hp, p[scope])
    try:
        gets = [t for m, t, _ in ROUTES if m == "GET"]
        for template in [*gets, "/endpoints/{ep2}"]:
            r = await http.get(f"/api/v1/projects/{p['pid']}" + template.format(**p))
            assert r.status_code == 200, (template, r.text)
            for secret in secrets:
                assert secret not in answer_text(r), (scope, template)
        for template, has, lacks in FIELDS:
            got = (await http.get(f"/api/v1/projects/{p['pid']}" + template.format(**p))).json()
            assert has <= set(got) and not lacks & set(got), (template, got)
            for row in got.get("data", []):
                assert not {"secret", "key", "key_hash", "hash"} & set(row), (template, row)
        ep2 = (await http.get(f"/api/v1/projects/{p['pid']}/endpoints/{p['ep2']}")).json()
        assert ep2["headers"] == {"Authorization": "[redacted]"}
        assert ep2["secret_headers"] == ["Authorization"]
    finally:
        if http is not hp.http:
            await http.aclose()


# -- the portal's two scopes ------------------------------------------------------------


@pytest.mark.parametrize("scope", ["view", "manage"])
async def test_portal_pages_show_their_scope_and_no_secret(
    hookpost_noworkers: Hookpost, scope: str
) -> None:
    hp = hookpost_noworkers
    p = await stocked_project(hp)
    signing, _, header, full, read = await _secrets_of(hp, p)
    r = await hp.http.post(f"/api/v1/projects/{p['pid']}/portal-link", json={"scope": scope})
    link = r.json()["url"]
    pages = ["", "/endpoints", "/endpoints/{ep2}", "/event-types", "/events", "/deliveries"]
    pages += ["/deliveries/{delivery}", "/failed"]
    async with httpx.AsyncClient(timeout=30) as c:
        seen = ""
        for page in pages:
            r = await c.get(link + page.format(**p))
            assert r.status_code == 200, (scope, page)
            for secret in (signing, header, full, read):
                assert secret not in r.text, (scope, page)
            seen += r.text
        assert STORED in seen  # the project's own data is what the portal is for
        endpoint_page = (await c.get(f"{link}/endpoints/{p['ep2']}")).text
        assert ("Reveal secret" in endpoint_page) is (scope == "manage")
        assert "Reveal secret headers" not in endpoint_page  # the operator's alone
        edit = await c.get(f"{link}/endpoints/{p['ep2']}/edit")
        assert edit.status_code == (200 if scope == "manage" else 403)
        assert header not in edit.text
        token_match = [ln for ln in endpoint_page.splitlines() if 'name="csrf"' in ln]
        token = token_match[0].split('value="')[1].split('"')[0] if token_match else "x"
        reveal = await c.post(f"{link}/endpoints/{p['ep2']}/reveal-secret", data={"csrf": token})
        if scope == "manage":
            assert reveal.status_code == 200 and signing in reveal.text
        else:
            assert reveal.status_code == 403 and signing not in reveal.text
        assert header not in reveal.text
        r = await c.post(f"{link}/endpoints/{p['ep2']}/reveal-headers", data={"csrf": token})
        assert r.status_code in (403, 404, 405) and header not in r.text


# -- a refusal by the catalog's schema ------------------------------------------------

#: (schema planted with the marker, a payload it refuses, the field the 422 names)
SCHEMA_REFUSALS: list[tuple[dict[str, Any], dict[str, Any], str]] = [
    (
        {"properties": {"plan": {"enum": ["gold", f"{STORED}-plan"]}}},
        {"plan": "tin"},
        "payload.plan",
    ),
    ({"properties": {"sku": {"pattern": f"^{STORED}-[0-9]+$"}}}, {"sku": "x"}, "payload.sku"),
    ({"required": [f"{STORED}_id"]}, {}, "payload"),
    ({"properties": {"n": {"const": STORED}}}, {"n": 1}, "payload.n"),
    (
        {"properties": {STORED: {"type": "integer"}}, "additionalProperties": False},
        {"other": 1},
        "payload",
    ),
    ({"properties": {"n": {"maximum": 7317}}}, {"n": 9999}, "payload.n"),
]


@pytest.mark.parametrize(("schema", "payload", "field"), SCHEMA_REFUSALS)
async def test_a_publish_key_refused_by_the_catalog_is_not_told_the_schema(
    hookpost_noworkers: Hookpost, schema: dict[str, Any], payload: dict[str, Any], field: str
) -> None:
    hp = hookpost_noworkers
    pid, full = await hp.project()
    r = await hp.http.post(
        f"/api/v1/projects/{pid}/event-types", json={"name": "order.paid", "schema": schema}
    )
    assert r.status_code == 201, r.text
    publisher = await new_key(hp, pid, "publish")
    body = {"event_type": "order.paid", "payload": payload}
    async with client(hp, publisher) as c:
        r = await c.post(f"/api/v1/projects/{pid}/events", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == field
    assert STORED not in r.text and "7317" not in r.text, r.text
    async with client(hp, full) as c:  # a key that reads the catalog is told why
        r = await c.post(f"/api/v1/projects/{pid}/events", json=body)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == field
    assert r.json()["detail"][0]["message"] != NOT_THE_SCHEMA
    async with client(hp, full) as c:
        assert (await c.get(f"/api/v1/projects/{pid}/events")).json()["data"] == []
