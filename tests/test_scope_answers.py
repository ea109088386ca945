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

#: (who published first, the repeat's event_type, the repeat's payload)
REPEATS = [
    ("full", "order.paid", {"card": "mine"}),  # same type, other payload
    ("full", "order.refunded", {"n": 1}),  # other type
    ("full", "order.paid", FIRST),  # the very same body: still only echoes it
    ("publish", "order.paid", {}),  # the key's own earlier event
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
    assert r.status_code == 200, r.text
    got = r.json()
    assert got == {
        "id": eid,
        "event_type": event_type,
        "payload": payload,
        "sequence": first.json()["sequence"],
        "deliveries": 1,
    }
    if payload != FIRST:
        assert STORED not in answer_text(r) and "first-caller" not in r.text
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
            assert {rf.status_code, rp.status_code} == {200, 202}, (rf.text, rp.text)
            assert STORED not in answer_text(rp), rp.text
            assert rp.json()["payload"] == {"n": n} and rp.json()["id"] == eid
