"""API answers people understand, over real HTTP.

- A body whose Content-Type is not JSON gets a 415 that says to send JSON with
  ``Content-Type: application/json`` -- on every route that takes a JSON body
  (read from the OpenAPI spec, so a new route is covered), for each of the
  content types people send by mistake.
- A pattern mismatch (an event type, a subscription, an event id) is told in
  words, never as the regular expression.
- A repeated ``event_id`` with a different type or payload is a 409 naming
  ``event_id`` and what differs, and creates nothing; an identical repeat
  (key order and spacing aside) keeps its 200. Both backends, and concurrent
  publishes (the SQLite group commit answers repeats inside one batch).
- A private destination's refusal names ``HOOKPOST_ALLOWED_NETWORKS``.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest

from hookpost.core.clock import ManualClock
from tests.conftest import Hookpost, start_hookpost

NOT_JSON = [
    ("application/x-www-form-urlencoded", b"name=acme"),  # curl -d without -H
    ("application/x-www-form-urlencoded", b'{"name": "acme"}'),
    ("text/plain", b'{"name": "acme"}'),
    ("text/plain; charset=utf-8", b"hello"),
    ("multipart/form-data; boundary=xyz", b'--xyz\r\nContent-Disposition: form-data; name="a"'),
    ("application/xml", b"<name>acme</name>"),
    ("application/octet-stream", b"\x00\x01\x02"),
]


def _json_body_routes(spec: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if "application/json" in (op.get("requestBody") or {}).get("content", {})
    ]


async def test_a_body_that_is_not_json_is_told_the_content_type(sqlite_api: Hookpost) -> None:
    hp = sqlite_api
    pid, _ = await hp.project()
    endpoint = await hp.endpoint(pid, "http://127.0.0.1:9/hook")
    ids = {"project_id": pid, "endpoint_id": endpoint["id"]}
    routes = _json_body_routes((await hp.http.get("/openapi.json")).json())
    assert len(routes) >= 14, routes  # every JSON-body route of the API, today 14
    # Personal tokens are issued to an operator's own token only: the admin token is
    # refused there whatever the body (403 before the body is read). Checked, so the
    # exemption cannot hide a route.
    operator_only = {("POST", "/api/v1/tokens")}
    for method, template in operator_only:
        r = await hp.http.request(method, template, json={"name": "x"})
        assert r.status_code == 403 and "personal token" in r.json()["message"], r.text
    for method, template in routes:
        path = template.format(**ids)
        if (method, template) in operator_only:
            continue
        for content_type, body in NOT_JSON:
            r = await hp.http.request(
                method, path, content=body, headers={"Content-Type": content_type}
            )
            where = f"{method} {template} with {content_type}"
            assert r.status_code == 415, (where, r.status_code, r.text)
            got = r.json()
            assert got["error"] == "unsupported_media_type", where
            assert "Content-Type: application/json" in got["message"], where
            assert content_type.split(";")[0] in got["message"], where
            assert got["detail"][0]["field"] == "body", where
    # Nothing was created by any of them: still one project, one endpoint.
    assert len((await hp.http.get("/api/v1/projects")).json()["data"]) == 1
    assert len((await hp.http.get(f"/api/v1/projects/{pid}/endpoints")).json()["data"]) == 1


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({"Content-Type": "application/json"}, b'{"name": "acme"}', 201),
        ({"Content-Type": "application/json; charset=utf-8"}, b'{"name": "acme"}', 201),
        ({"Content-Type": "application/merge-patch+json"}, b'{"name": "acme"}', 201),
        ({}, b'{"name": "acme"}', 415),  # no Content-Type at all: told to send one
        ({}, b"name=acme", 415),
        ({"Content-Type": "application/json"}, b"name=acme", 400),
        ({"Content-Type": "application/json"}, b'{"name": ', 400),
        ({"Content-Type": "application/json"}, b'"acme"', 422),  # JSON, but not an object
        ({"Content-Type": "application/json"}, b"[1]", 422),
    ],
)
async def test_json_content_types_and_bad_json(
    sqlite_api: Hookpost, headers: dict[str, str], body: bytes, status: int
) -> None:
    r = await sqlite_api.http.post("/api/v1/projects", content=body, headers=headers)
    assert r.status_code == status, r.text
    if status == 400:
        assert r.json()["error"] == "invalid_json"
    if status in (400, 415):
        assert "Content-Type: application/json" in r.json()["message"]
    if status == 422:
        assert r.json()["message"] == "body: must be a JSON object", r.text
    if not headers:
        assert "this request has no Content-Type" in r.json()["message"]


@pytest.mark.parametrize(
    ("path", "body", "field", "words"),
    [
        (
            "/events",
            {"event_type": "user created", "payload": {}},
            "event_type",
            "like user.created",
        ),
        ("/events", {"event_type": "user..created", "payload": {}}, "event_type", "single dots"),
        ("/events", {"event_type": ".x", "payload": {}}, "event_type", "no dot at either end"),
        ("/event-types", {"name": "bad/name"}, "name", "like user.created"),
        (
            "/events",
            {"event_type": "a.b", "payload": {}, "event_id": "has space"},
            "event_id",
            "only letters, digits",
        ),
        (
            "/endpoints",
            {"url": "https://h.example/", "event_types": ["us er"]},
            "event_types.0",
            "user.*",
        ),
        ("/profiles", {"name": "Has Caps", "signature_header": "X-S"}, "name", "lowercase"),
    ],
)
async def test_patterns_are_said_in_words(
    sqlite_api: Hookpost, path: str, body: dict[str, Any], field: str, words: str
) -> None:
    pid, _ = await sqlite_api.project()
    r = await sqlite_api.http.post(f"/api/v1/projects/{pid}{path}", json=body)
    assert r.status_code == 422, r.text
    got = r.json()
    fields = {d["field"]: d["message"] for d in got["detail"]}
    assert field in fields, got
    assert words in fields[field], got
    # No regular expression leaks into what a person reads.
    assert "pattern" not in got["message"] and not re.search(r"\^\[|\]\+|\$'", got["message"])


# -- repeated event_id: both backends (the db_url fixture) --------------------------


async def _counts(hp: Hookpost, pid: str) -> tuple[int, int]:
    events = (await hp.http.get(f"/api/v1/projects/{pid}/events")).json()["data"]
    deliveries = await hp.deliveries(pid)
    return len(events), len(deliveries)


async def test_repeated_event_id(hookpost_noworkers: Hookpost) -> None:
    hp = hookpost_noworkers
    pid, key = await hp.project()
    await hp.endpoint(pid, "http://127.0.0.1:9/hook")
    url = f"/api/v1/projects/{pid}/events"
    first = {"event_type": "invoice.paid", "payload": {"id": 7, "amount": 10}, "event_id": "inv7"}
    r = await hp.http.post(url, json=first)
    assert r.status_code == 202, r.text
    assert await _counts(hp, pid) == (1, 1)

    # Identical repeats -- also with the payload's keys in another order -- answer 200.
    same = {**first, "payload": {"amount": 10, "id": 7}}
    for body in (first, same):
        r = await hp.http.post(url, json=body)
        assert r.status_code == 200, r.text
        assert r.json()["id"] == "inv7" and r.json()["deliveries"] == 1
    raw = b'{ "event_id" : "inv7", "payload" : {"amount":10,  "id":7}, "event_type":"invoice.paid"}'
    r = await hp.http.post(url, content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text

    cases = [
        ({**first, "event_type": "invoice.failed"}, "a different event_type;"),
        ({**first, "payload": {"id": 7, "amount": 11}}, "a different payload;"),
        ({**first, "payload": {"id": 7, "amount": 10.0}}, "a different payload;"),
        ({**first, "payload": {"id": 7}}, "a different payload;"),
        (
            {**first, "event_type": "invoice.failed", "payload": {}},
            "a different event_type and payload;",
        ),
    ]
    publish_key = (
        await hp.http.post(f"/api/v1/projects/{pid}/api-keys", json={"scope": "publish"})
    ).json()["key"]
    for token in (None, key, publish_key):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        for body, says in cases:
            r = await hp.http.post(url, json=body, headers=headers)
            assert r.status_code == 409, (body, r.text)
            got = r.json()
            assert got["error"] == "conflict"
            assert got["message"].startswith("event_id: 'inv7' was already used"), got
            assert says in got["message"], got
            assert got["detail"] == [
                {"field": "event_id", "message": got["message"], "type": "conflict"}
            ]
            # The first event's content is not quoted back.
            assert "invoice.paid" not in got["message"] and "10" not in got["message"]
    assert await _counts(hp, pid) == (1, 1), "a conflicting repeat created something"
    stored = (await hp.http.get(f"{url}/inv7")).json()
    assert stored["event_type"] == "invoice.paid" and stored["payload"] == first["payload"]


async def test_concurrent_repeats_of_one_event_id(hookpost_noworkers: Hookpost) -> None:
    """Sent at once (one SQLite group commit, or racing PostgreSQL transactions):
    one event is created, identical repeats get 200, different ones 409."""
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    await hp.endpoint(pid, "http://127.0.0.1:9/hook")
    url = f"/api/v1/projects/{pid}/events"
    body = {"event_type": "user.created", "payload": {"n": 1}, "event_id": "race"}
    other = {**body, "payload": {"n": 2}}
    answers = await asyncio.gather(
        *(hp.http.post(url, json=body if i % 2 == 0 else other) for i in range(12))
    )
    codes = [r.status_code for r in answers]
    assert codes.count(202) == 1, codes
    winner = json.loads(next(r.text for r in answers if r.status_code == 202))["payload"]
    for r, sent in zip(answers, [body if i % 2 == 0 else other for i in range(12)], strict=True):
        if r.status_code == 202:
            continue
        expected = 200 if sent["payload"] == winner else 409
        assert r.status_code == expected, (sent, r.status_code, r.text)
    assert await _counts(hp, pid) == (1, 1)


async def test_private_address_refusal_names_the_setting(
    sqlite_url: str, clock: ManualClock
) -> None:
    from tests.fakedns import FakeResolver

    resolver = FakeResolver({"internal.example": ["10.1.2.3"]})
    async for hp in start_hookpost(
        sqlite_url, clock, workers=False, allowed_networks="", resolver=resolver
    ):
        pid, _ = await hp.project()
        for url in ("http://10.0.0.5/hook", "http://127.0.0.1:9/hook", "http://internal.example/"):
            r = await hp.http.post(f"/api/v1/projects/{pid}/endpoints", json={"url": url})
            assert r.status_code == 422, r.text
            message = r.json()["detail"][0]["message"]
            assert r.json()["detail"][0]["field"] == "url"
            assert "HOOKPOST_ALLOWED_NETWORKS" in message, message


async def test_a_new_event_is_answered_as_it_is_stored(hookpost_noworkers: Hookpost) -> None:
    """The 202 answer is written by hand around the stored payload text (no second encoding,
    no response-model pass): it must be EventAccepted exactly, whatever the payload holds."""
    hp = hookpost_noworkers
    pid, _key = await hp.project()
    await hp.endpoint(pid, "http://127.0.0.1:9/hook")
    payload = {"name": "Zoë \"quoted\" \\ \u2028", "f": 1.5, "e": 1e16, "big": 10**20,
               "nested": {"a": [1, None, True, -0.0]}, "": {}}  # fmt: skip
    r = await hp.http.post(
        f"/api/v1/projects/{pid}/events",
        json={"event_type": "odd.event", "payload": payload,
              "event_id": "ans-1"},
    )  # fmt: skip
    assert r.status_code == 202, r.text
    assert r.headers["content-type"] == "application/json"
    stored = (await hp.http.get(f"/api/v1/projects/{pid}/events/ans-1")).json()
    assert r.json() == {**stored, "deliveries": 1}
    assert list(r.json()) == ["id", "event_type", "payload", "sequence", "created_at",
                              "timestamp", "deliveries"]  # fmt: skip
    assert r.json()["payload"] == payload
