"""Bad input, authentication and tenant isolation over real HTTP.

Every rejected request must get a JSON error naming the offending field, never
a 500, and must leave nothing behind in the store.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hookpost.core.clock import ManualClock
from hookpost.verify import WebhookVerificationError, verify
from tests.conftest import Hookpost, Receiver, start_hookpost
from tests.helpers.api import expect_error, expect_field

VALID_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


async def count(hp: Hookpost, pid: str, what: str) -> int:
    r = await hp.http.get(f"/api/v1/projects/{pid}/{what}", params={"limit": 250})
    assert r.status_code == 200, r.text
    return len(r.json()["data"])


async def assert_nothing_written(hp: Hookpost, pid: str) -> None:
    assert await count(hp, pid, "endpoints") == 0
    assert await count(hp, pid, "events") == 0
    assert await count(hp, pid, "deliveries") == 0


# -- malformed bodies ----------------------------------------------------------


async def test_malformed_json_is_400_naming_body(hookpost_noworkers: Hookpost) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    json_ct = {"content-type": "application/json"}
    for path in (f"/api/v1/projects/{pid}/events", f"/api/v1/projects/{pid}/endpoints"):
        for raw in (
            b'{"event_type": "user.created", "payload": {',
            b"{'single': 'quotes'}",
            b"not json at all",
            b'{"url": "http://127.0.0.1:9/x",}',
        ):
            r = await hp.http.post(path, content=raw, headers=json_ct)
            body = expect_error(r, 400)
            assert body["message"].startswith("body"), (raw, body)
        # valid JSON that is not an object, or no body at all
        for raw in (b"[1, 2]", b'"a string"', b"42", b"null", b""):
            r = await hp.http.post(path, content=raw, headers=json_ct)
            assert r.status_code in (400, 422), (path, raw, r.text)
            assert r.json()["message"].startswith("body"), (path, raw, r.text)
    await assert_nothing_written(hp, pid)


BAD_EVENTS: list[tuple[dict[str, Any], str]] = [
    ({"event_type": "user.created", "payload": "x"}, "payload"),
    ({"event_type": "user.created", "payload": [1, 2]}, "payload"),
    ({"event_type": "user.created", "payload": None}, "payload"),
    ({"event_type": 5, "payload": {}}, "event_type"),
    ({"event_type": "user.created", "payload": {}, "event_id": 7}, "event_id"),
    ({"event_type": "user.created"}, "payload"),
    ({"payload": {}}, "event_type"),
    ({"event_type": "user.created", "payload": {}, "evnt_id": "x"}, "evnt_id"),
    ({"event_type": "user created", "payload": {}}, "event_type"),
    ({"event_type": "", "payload": {}}, "event_type"),
    ({"event_type": ".user", "payload": {}}, "event_type"),
    ({"event_type": "user..created", "payload": {}}, "event_type"),
    ({"event_type": "user.created\n", "payload": {}}, "event_type"),
    ({"event_type": "u" * 300, "payload": {}}, "event_type"),
    ({"event_type": "user.created", "payload": {}, "event_id": "has space"}, "event_id"),
    ({"event_type": "user.created", "payload": {}, "event_id": ""}, "event_id"),
]


async def test_bad_event_is_422_naming_field(hookpost_noworkers: Hookpost) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    await hp.endpoint(pid, "http://127.0.0.1:9/hook")  # so a wrongly accepted event would fan out
    for body, field in BAD_EVENTS:
        r = await hp.http.post(f"/api/v1/projects/{pid}/events", json=body)
        expect_field(r, field)
    r = await hp.http.post(
        f"/api/v1/projects/{pid}/events",
        json={"event_type": "user.created", "payload": {}, "colour": "red"},
    )
    assert "unknown" in expect_field(r, "colour")["message"]
    assert await count(hp, pid, "events") == 0
    assert await count(hp, pid, "deliveries") == 0
    # positive control: the same request, well-formed, is accepted
    r = await hp.http.post(
        f"/api/v1/projects/{pid}/events", json={"event_type": "user.created", "payload": {}}
    )
    assert r.status_code == 202, r.text


BAD_ENDPOINTS: list[tuple[dict[str, Any], str]] = [
    ({"url": 5}, "url"),
    ({"url": None}, "url"),
    ({"max_attempts": "many"}, "max_attempts"),
    ({"max_attempts": 0}, "max_attempts"),
    ({"timeout_seconds": "slow"}, "timeout_seconds"),
    ({"timeout_seconds": 1000}, "timeout_seconds"),
    ({"enabled": "perhaps"}, "enabled"),
    ({"event_types": "user.created"}, "event_types"),
    ({"event_types": ["user created"]}, "event_types"),
    ({"headers": ["X-A"]}, "headers"),
    ({"retries": 3}, "retries"),
    ({"url": "ftp://example.com/hook"}, "url"),
    ({"url": "javascript:alert(1)"}, "url"),
    ({"url": "http://"}, "url"),
    ({"url": "http:///path-only"}, "url"),
    ({"url": "example.com/hook"}, "url"),
    ({"url": "http://user:pw@example.com/hook"}, "url"),
    ({"url": "http://user@example.com/hook"}, "url"),
    ({"url": "http://example.com:99999/hook"}, "url"),
    ({"url": "http://example.com/" + "a" * 3000}, "url"),
    ({"headers": {"webhook-signature": "v1,forged"}}, "headers"),
    ({"headers": {"Content-Type": "text/plain"}}, "headers"),
    ({"headers": {"Host": "evil.example"}}, "headers"),
    ({"headers": {"X-Ok": "a\r\nX-Injected: 1"}}, "headers"),
    ({"headers": {"X-Ok": "a\nb"}}, "headers"),
    ({"headers": {"Bad Name": "v"}}, "headers"),
    ({"headers": {"X-Bad:": "v"}}, "headers"),
    # names that differ only in case: the client would send one and drop the other
    ({"headers": {"X-A": "1", "x-a": "2"}}, "headers"),
    ({"headers": {"X-Tenant": "1", "X-Other": "2", "X-TENANT": "3"}}, "headers"),
    ({"headers": {"Authorization": "Bearer a", "authorization": "Bearer b"}}, "headers"),
    # Expect: 100-continue holds the body back until an interim answer many never send
    ({"headers": {"Expect": "100-continue"}}, "headers"),
    ({"headers": {"expect": "anything"}}, "headers"),
]


async def test_bad_endpoint_is_422_naming_field(hookpost_noworkers: Hookpost) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    path = f"/api/v1/projects/{pid}/endpoints"
    for extra, field in BAD_ENDPOINTS:
        r = await hp.http.post(path, json={"url": "http://127.0.0.1:9/hook", **extra})
        expect_field(r, field)
    for body in ({"event_types": []}, {}):  # url is required
        expect_field(await hp.http.post(path, json=body), "url")
    r = await hp.http.post(path, json={"url": "http://127.0.0.1:9/hook", "profile": "nope"})
    assert expect_error(r, 422, "profile")["message"].startswith("profile"), r.text
    for secret in (
        "my-own-plain-secret",  # no whsec_ prefix
        "whsec_!!!!not*base64!!!!",
        "whsec_c2hvcnQ=",  # decodes to 5 bytes: too short a key
    ):
        r = await hp.http.post(path, json={"url": "http://127.0.0.1:9/hook", "secret": secret})
        body = expect_error(r, 422, "secret")
        assert body["message"].startswith("secret"), body
        assert secret not in r.text  # a rejected secret is not echoed back
    assert await count(hp, pid, "endpoints") == 0
    # positive control: a caller-chosen valid secret is accepted as given
    ep = await hp.endpoint(pid, "http://127.0.0.1:9/hook", secret=VALID_SECRET)
    assert ep["secret"] == VALID_SECRET
    assert await count(hp, pid, "endpoints") == 1


async def test_bad_input_to_endpoint_operations_changes_nothing(
    hookpost_noworkers: Hookpost,
) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    ep = await hp.endpoint(
        pid, "http://127.0.0.1:9/hook", description="before", secret=VALID_SECRET
    )
    base = f"/api/v1/projects/{pid}/endpoints/{ep['id']}"
    for body, field in [
        ({"url": "ftp://x/y", "description": "after"}, "url"),
        ({"description": "after", "secret": VALID_SECRET}, "secret"),
        ({"description": "after", "headers": {"webhook-id": "x"}}, "headers"),
        ({"description": "after", "max_attempts": "lots"}, "max_attempts"),
        ({"description": "after", "url": None}, "url"),
        ({"description": "after", "enabled": None}, "enabled"),
    ]:
        expect_error(await hp.http.patch(base, json=body), 422, field)
    got = (await hp.http.get(base)).json()
    assert got["description"] == "before"
    assert got["url"] == "http://127.0.0.1:9/hook"
    assert got["enabled"] is True

    r = await hp.http.post(f"{base}/rotate-secret", json={"secret": "plain-secret-value"})
    expect_error(r, 422, "secret")
    r = await hp.http.post(f"{base}/rotate-secret", json={"grace_period_seconds": -1})
    expect_field(r, "grace_period_seconds")
    r = await hp.http.post(f"{base}/recover", json={"since": "yesterday-ish"})
    expect_field(r, "since")
    expect_field(await hp.http.post(f"{base}/recover", json={}), "since")
    r = await hp.http.post(f"{base}/test", json={"event_type": "not valid"})
    expect_field(r, "event_type")
    r = await hp.http.post(f"{base}/test", json={"payload": "x"})
    expect_field(r, "payload")
    assert await count(hp, pid, "events") == 0
    assert await count(hp, pid, "deliveries") == 0
    # the rejected rotations rotated nothing: with no grace, a rotation now leaves
    # only the new secret, and deliveries made from here on verify with it
    r = await hp.http.post(f"{base}/rotate-secret", json={"grace_period_seconds": 0})
    assert r.status_code == 200, r.text
    assert r.json()["secret"] not in (VALID_SECRET, "plain-secret-value")


async def test_unencodable_or_nul_input_is_rejected(hookpost_noworkers: Hookpost) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    json_ct = {"content-type": "application/json"}
    events = f"/api/v1/projects/{pid}/events"
    for raw in (
        b'{"event_type": "a.b", "payload": {"x": "\\ud800"}}',  # lone surrogate
        b'{"event_type": "a.b", "payload": {"x": NaN}}',
        b'{"event_type": "a.b", "payload": {"x": Infinity}}',
    ):
        r = await hp.http.post(events, content=raw, headers=json_ct)
        assert r.status_code in (400, 422), (raw, r.status_code, r.text)
        assert "payload" in r.text or r.json()["message"].startswith("body"), r.text
    for body, field in [
        ({"url": "http://exa mple.com/hook"}, "url"),
        ({"url": "http://127.0.0.1:9/\u0000"}, "url"),
        ({"url": "http://127.0.0.1:9/", "description": "a\u0000b"}, "description"),
    ]:
        r = await hp.http.post(f"/api/v1/projects/{pid}/endpoints", json=body)
        expect_error(r, 422, field)
    expect_error(await hp.http.post("/api/v1/projects", json={"name": "a\u0000"}), 422, "name")
    r = await hp.http.get(f"/api/v1/projects/{pid}/events/a%00b")
    assert 400 <= r.status_code < 500, r.text
    r = await hp.http.get(f"/api/v1/projects/{pid}/deliveries", params={"event_type": "a\x00"})
    assert 400 <= r.status_code < 500, r.text
    await assert_nothing_written(hp, pid)


# -- body size -------------------------------------------------------------------


@pytest.fixture
async def small_limit(db_url: str, clock: ManualClock) -> AsyncIterator[Hookpost]:
    async for hp in start_hookpost(db_url, clock, workers=False, max_body_bytes=2048):
        yield hp


async def test_body_over_limit_is_413(small_limit: Hookpost) -> None:
    hp = small_limit
    pid, _ = await hp.project()
    await hp.endpoint(pid, "http://127.0.0.1:9/hook")
    events = f"/api/v1/projects/{pid}/events"
    json_ct = {"content-type": "application/json"}

    # with a Content-Length
    big = {"event_type": "user.created", "payload": {"blob": "x" * 4000}}
    r = await hp.http.post(events, json=big)
    assert "content-length" in r.request.headers
    assert expect_error(r, 413, "body")["error"] == "payload_too_large"

    # streamed (chunked, no Content-Length)
    payload = json.dumps(big).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(payload), 500):
            yield payload[i : i + 500]

    r = await hp.http.post(events, content=chunks(), headers=json_ct)
    assert "content-length" not in r.request.headers
    assert r.request.headers.get("transfer-encoding") == "chunked"
    expect_error(r, 413, "body")

    # endpoint creation is limited too
    r = await hp.http.post(
        f"/api/v1/projects/{pid}/endpoints",
        json={"url": "http://127.0.0.1:9/hook", "description": "d" * 3000},
    )
    expect_error(r, 413)

    assert await count(hp, pid, "events") == 0
    assert await count(hp, pid, "deliveries") == 0
    assert await count(hp, pid, "endpoints") == 1

    # positive controls: under the limit, both ways, is accepted
    ok = {"event_type": "user.created", "payload": {"blob": "x" * 1500}}
    r = await hp.http.post(events, json=ok)
    assert r.status_code == 202, r.text
    small = json.dumps({"event_type": "user.created", "payload": {"n": 1}}).encode()

    async def two() -> AsyncIterator[bytes]:
        yield small[:10]
        yield small[10:]

    r = await hp.http.post(events, content=two(), headers=json_ct)
    assert r.status_code == 202, r.text
    assert await count(hp, pid, "events") == 2
    assert await count(hp, pid, "deliveries") == 2


# -- query parameters ------------------------------------------------------------


BAD_QUERIES: list[tuple[str, dict[str, str], str]] = [
    ("endpoints", {"limit": "0"}, "limit"),
    ("endpoints", {"limit": "100000"}, "limit"),
    ("endpoints", {"limit": "abc"}, "limit"),
    ("endpoints", {"cursor": "a"}, "cursor"),
    ("endpoints", {"cursor": "_w"}, "cursor"),  # not UTF-8 once decoded
    ("endpoints", {"cursor": "AA"}, "cursor"),  # a NUL byte once decoded
    ("endpoints", {"cursor": "!!!!"}, "cursor"),
    ("events", {"limit": "-1"}, "limit"),
    ("events", {"cursor": "a"}, "cursor"),
    ("events", {"cursor": "YWJj"}, "cursor"),  # base64 of "abc": not a sequence number
    ("events", {"after": "later"}, "after"),
    ("events", {"after": "-5"}, "after"),
    ("events", {"order": "sideways"}, "order"),
    ("deliveries", {"status": "exploded"}, "status"),
    ("deliveries", {"limit": "1.5"}, "limit"),
    ("deliveries", {"cursor": "a"}, "cursor"),
    ("deliveries", {"cursor": "AA"}, "cursor"),
    ("deliveries", {"endpoint_id": "e" * 100}, "endpoint_id"),
]


async def test_bad_query_params_are_422(hookpost_noworkers: Hookpost) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    await hp.endpoint(pid, "http://127.0.0.1:9/hook")
    await hp.publish(pid)
    for what, params, field in BAD_QUERIES:
        r = await hp.http.get(f"/api/v1/projects/{pid}/{what}", params=params)
        assert r.status_code == 422, (what, params, r.status_code, r.text)
        expect_field(r, field)  # the message and detail[].field both name it
    expect_field(await hp.http.get("/api/v1/projects", params={"limit": "zero"}), "limit")
    for cursor in ("a", "AA"):
        r = await hp.http.get("/api/v1/projects", params={"cursor": cursor})
        expect_field(r, "cursor")
    # The routes' own refusals of a query value (not pydantic's) name it in detail too.
    for params, field in [
        ({"action": "x"}, "action"),
        ({"object_type": "x"}, "object_type"),
        ({"cursor": "zzz"}, "cursor"),
    ]:
        expect_field(await hp.http.get("/api/v1/audit-log", params=params), field)
    # positive control: the same lists with good parameters answer 200
    for what, params in [
        ("endpoints", {"limit": "250"}),
        ("events", {"after": "0", "order": "asc"}),
        ("deliveries", {"status": "pending"}),
    ]:
        r = await hp.http.get(f"/api/v1/projects/{pid}/{what}", params=params)
        assert r.status_code == 200 and len(r.json()["data"]) == 1, (what, r.text)


# -- authentication and tenant isolation -------------------------------------------


async def test_missing_or_wrong_token_is_401_but_openapi_is_public(
    hookpost_noworkers: Hookpost,
) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    targets = [
        ("GET", "/api/v1/projects", None),
        ("POST", "/api/v1/projects", {"name": "sneaky"}),
        ("GET", f"/api/v1/projects/{pid}", None),
        ("GET", f"/api/v1/projects/{pid}/endpoints", None),
        ("POST", f"/api/v1/projects/{pid}/endpoints", {"url": "http://127.0.0.1:9/x"}),
        ("POST", f"/api/v1/projects/{pid}/events", {"event_type": "a.b", "payload": {}}),
        ("GET", f"/api/v1/projects/{pid}/deliveries", None),
    ]
    variants: list[dict[str, str]] = [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dGVzdDp0ZXN0"},
        {"Authorization": "test-admin-token"},  # the right token without the scheme
    ]
    async with httpx.AsyncClient(base_url=hp.base_url, timeout=10) as anon:
        # the API description is public, and lists the documented paths
        r = await anon.get("/openapi.json")
        assert r.status_code == 200
        paths = r.json()["paths"]
        assert "post" in paths["/api/v1/projects/{project_id}/events"]
        assert "get" in paths["/api/v1/projects/{project_id}/events"]
        for n, headers in enumerate(variants):
            for method, path, body in targets if n < 2 else targets[-2:]:
                r = await anon.request(method, path, json=body, headers=headers)
                expect_error(r, 401)
                assert pid not in r.text
    assert await count(hp, pid, "endpoints") == 0
    assert await count(hp, pid, "events") == 0
    projects = (await hp.http.get("/api/v1/projects")).json()["data"]
    assert [p["id"] for p in projects] == [pid]


async def test_project_key_sees_only_its_project_and_404_on_b(hookpost_noworkers: Hookpost) -> None:
    hp = hookpost_noworkers
    a_id, a_key = await hp.project()
    r = await hp.http.post("/api/v1/projects", json={"name": "bravo-secret-name"})
    b_id = r.json()["id"]
    b_ep = await hp.endpoint(b_id, "http://127.0.0.1:9/bravo-hook", secret=VALID_SECRET)
    b_ev = await hp.publish(b_id, event_id="bravo_evt", payload={"bravo": "private"})
    (b_dlv,) = await hp.deliveries(b_id)
    secrets_of_b = [
        "bravo-secret-name",
        "bravo-hook",
        "bravo_evt",
        "private",
        VALID_SECRET,
        b_ep["id"],
        b_dlv["id"],
    ]
    ep_ = f"/api/v1/projects/{b_id}/endpoints/{b_ep['id']}"
    routes: list[tuple[str, str, Any]] = [
        ("GET", f"/api/v1/projects/{b_id}", None),
        ("PATCH", f"/api/v1/projects/{b_id}", {"name": "pwned"}),
        ("DELETE", f"/api/v1/projects/{b_id}", None),
        ("GET", f"/api/v1/projects/{b_id}/endpoints", None),
        ("POST", f"/api/v1/projects/{b_id}/endpoints", {"url": "http://127.0.0.1:9/a"}),
        ("GET", ep_, None),
        ("PATCH", ep_, {"enabled": False}),
        ("DELETE", ep_, None),
        ("POST", f"{ep_}/rotate-secret", {}),
        ("POST", f"{ep_}/recover", {"since": "2000-01-01T00:00:00Z"}),
        ("POST", f"{ep_}/test", {}),
        ("GET", f"/api/v1/projects/{b_id}/events", None),
        ("GET", f"/api/v1/projects/{b_id}/events/{b_ev['id']}", None),
        ("POST", f"/api/v1/projects/{b_id}/events", {"event_type": "a.b", "payload": {}}),
        ("GET", f"/api/v1/projects/{b_id}/deliveries", None),
        ("GET", f"/api/v1/projects/{b_id}/deliveries/{b_dlv['id']}", None),
        ("POST", f"/api/v1/projects/{b_id}/deliveries/{b_dlv['id']}/resend", None),
        # B's ids under A's own project path
        ("GET", f"/api/v1/projects/{a_id}/endpoints/{b_ep['id']}", None),
        ("PATCH", f"/api/v1/projects/{a_id}/endpoints/{b_ep['id']}", {"enabled": False}),
        ("DELETE", f"/api/v1/projects/{a_id}/endpoints/{b_ep['id']}", None),
        ("POST", f"/api/v1/projects/{a_id}/endpoints/{b_ep['id']}/rotate-secret", {}),
        ("POST", f"/api/v1/projects/{a_id}/endpoints/{b_ep['id']}/test", {}),
        (
            "POST",
            f"/api/v1/projects/{a_id}/endpoints/{b_ep['id']}/recover",
            {"since": "2000-01-01T00:00:00Z"},
        ),
        ("GET", f"/api/v1/projects/{a_id}/events/{b_ev['id']}", None),
        ("GET", f"/api/v1/projects/{a_id}/deliveries/{b_dlv['id']}", None),
        ("POST", f"/api/v1/projects/{a_id}/deliveries/{b_dlv['id']}/resend", None),
    ]
    async with httpx.AsyncClient(
        base_url=hp.base_url, headers={"Authorization": f"Bearer {a_key}"}, timeout=10
    ) as a:
        # a project key cannot create projects, and lists only its own
        expect_error(await a.post("/api/v1/projects", json={"name": "mine now"}), 403)
        r = await a.get("/api/v1/projects")
        assert r.status_code == 200, r.text
        assert [p["id"] for p in r.json()["data"]] == [a_id]
        r = await a.get(f"/api/v1/projects/{a_id}")
        assert r.status_code == 200 and r.json()["id"] == a_id

        for method, path, body in routes:
            r = await a.request(method, path, json=body)
            expect_error(r, 404)
            leaked = [s for s in secrets_of_b if s in r.text]
            assert not leaked, (method, path, r.text)
        # A's own lists stay empty of B's data
        for what in ("endpoints", "events", "deliveries"):
            r = await a.get(f"/api/v1/projects/{a_id}/{what}")
            assert r.status_code == 200 and r.json()["data"] == [], r.text
    # and B is untouched (the admin sees both projects, and nothing else was created)
    r = await hp.http.get("/api/v1/projects")
    assert sorted(p["id"] for p in r.json()["data"]) == sorted([a_id, b_id])
    r = await hp.http.get(f"/api/v1/projects/{b_id}")
    assert r.json()["name"] == "bravo-secret-name"
    got = (await hp.http.get(f"/api/v1/projects/{b_id}/endpoints/{b_ep['id']}")).json()
    assert got["enabled"] is True
    assert await count(hp, b_id, "endpoints") == 1
    assert await count(hp, b_id, "events") == 1
    assert await count(hp, b_id, "deliveries") == 1
    d = await hp.delivery(b_id, b_dlv["id"])
    assert d["status"] == "pending" and d["attempt_count"] == 0
    assert await count(hp, a_id, "endpoints") == 0
    # ids that exist nowhere are 404 too, for the admin as well
    for method, path in [
        ("GET", "/api/v1/projects/prj_nope"),
        ("GET", "/api/v1/projects/prj_nope/endpoints"),
        ("GET", f"/api/v1/projects/{a_id}/endpoints/ep_nope"),
        ("GET", f"/api/v1/projects/{a_id}/events/evt_nope"),
        ("GET", f"/api/v1/projects/{a_id}/deliveries/dlv_nope"),
        ("POST", f"/api/v1/projects/{a_id}/deliveries/dlv_nope/resend"),
        ("POST", f"/api/v1/projects/{a_id}/endpoints/ep_nope/test"),
    ]:
        expect_error(await hp.http.request(method, path), 404)


# -- pagination, catch-up, OpenAPI ----------------------------------------------------


async def test_pagination_and_catch_up(hookpost_noworkers: Hookpost) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    created = [(await hp.endpoint(pid, f"http://127.0.0.1:9/h{i}"))["id"] for i in range(7)]
    seen: list[str] = []
    sizes: list[int] = []
    cursor: str | None = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        r = await hp.http.get(f"/api/v1/projects/{pid}/endpoints", params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        sizes.append(len(page["data"]))
        seen += [e["id"] for e in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sizes == [3, 3, 1]
    assert sorted(seen) == sorted(created)
    assert len(set(seen)) == 7

    # events: a receiver catches up with ?order=asc&after=<last sequence it saw>
    evs = [await hp.publish(pid, event_id=f"e{i}", payload={"i": i}) for i in range(5)]
    seqs = [e["sequence"] for e in evs]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5
    r = await hp.http.get(
        f"/api/v1/projects/{pid}/events", params={"order": "asc", "after": seqs[1]}
    )
    assert r.status_code == 200, r.text
    assert [e["id"] for e in r.json()["data"]] == ["e2", "e3", "e4"]
    # default order is newest first
    r = await hp.http.get(f"/api/v1/projects/{pid}/events")
    assert [e["id"] for e in r.json()["data"]] == ["e4", "e3", "e2", "e1", "e0"]
    # catch-up also pages: asc with a small limit follows the cursor forward
    got: list[str] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"order": "asc", "after": seqs[0], "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await hp.http.get(f"/api/v1/projects/{pid}/events", params=params)).json()
        got += [e["id"] for e in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert got == ["e1", "e2", "e3", "e4"]
    r = await hp.http.get(
        f"/api/v1/projects/{pid}/events", params={"order": "asc", "after": seqs[-1]}
    )
    assert r.json() == {"data": [], "next_cursor": None}


# -- endpoint lifecycle ------------------------------------------------------------------


async def test_disable_and_delete_endpoint(hookpost_noworkers: Hookpost) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    ep = await hp.endpoint(pid, "http://127.0.0.1:9/hook")
    assert (await hp.publish(pid))["deliveries"] == 1
    r = await hp.http.patch(f"/api/v1/projects/{pid}/endpoints/{ep['id']}", json={"enabled": False})
    assert r.status_code == 200, r.text
    assert r.json()["enabled"] is False
    # a disabled endpoint is sent nothing: a delivery made for it is kept as held
    # (issue 5), never pending
    off = await hp.publish(pid, event_id="while_off")
    held = await hp.deliveries(pid, event_id="while_off")
    assert [d["status"] for d in held] in ([], ["held"]), held
    assert off["deliveries"] == len(held)
    assert await count(hp, pid, "deliveries") == 1 + len(held)
    r = await hp.http.patch(f"/api/v1/projects/{pid}/endpoints/{ep['id']}", json={"enabled": True})
    assert r.json()["enabled"] is True
    assert (await hp.publish(pid))["deliveries"] == 1

    # delete: 204, then 404, and it no longer receives events
    keep = await hp.endpoint(pid, "http://127.0.0.1:9/keep")
    path = f"/api/v1/projects/{pid}/endpoints/{ep['id']}"
    r = await hp.http.delete(path)
    assert r.status_code == 204 and r.content == b""
    expect_error(await hp.http.get(path), 404)
    expect_error(await hp.http.delete(path), 404)
    r = await hp.http.get(f"/api/v1/projects/{pid}/endpoints")
    assert [e["id"] for e in r.json()["data"]] == [keep["id"]]
    assert (await hp.publish(pid))["deliveries"] == 1
    r = await hp.http.get(f"/api/v1/projects/{pid}/deliveries", params={"endpoint_id": keep["id"]})
    assert len(r.json()["data"]) == 1


# -- secret rotation --------------------------------------------------------------------


def _sigs(headers: dict[str, str]) -> list[str]:
    return headers["webhook-signature"].split()


def _verifies(body: bytes, headers: dict[str, str], secret: str, now: float) -> bool:
    try:
        verify(body, headers, secret, now=now)
    except WebhookVerificationError:
        return False
    return True


async def test_rotate_secret_signs_with_both_during_grace(
    hookpost: Hookpost, receiver: Receiver
) -> None:
    hp = hookpost
    pid, _ = await hp.project()
    ep = await hp.endpoint(pid, receiver.url(), secret=VALID_SECRET)
    now = hp.clock.now

    await hp.publish(pid, event_id="before")
    (first,) = await receiver.wait_for(1)
    assert len(_sigs(first.headers)) == 1
    verify(first.body, first.headers, VALID_SECRET, now=now())

    r = await hp.http.post(
        f"/api/v1/projects/{pid}/endpoints/{ep['id']}/rotate-secret",
        json={"grace_period_seconds": 3600},
    )
    assert r.status_code == 200, r.text
    new = r.json()["secret"]
    assert new.startswith("whsec_") and new != VALID_SECRET
    assert VALID_SECRET not in r.text  # the old secret is not shown again
    listed = (await hp.http.get(f"/api/v1/projects/{pid}/endpoints/{ep['id']}")).text
    assert new not in listed and VALID_SECRET not in listed

    await hp.publish(pid, event_id="during")
    second = (await receiver.wait_for(2))[1]
    sigs = _sigs(second.headers)
    assert len(sigs) == 2 and len(set(sigs)) == 2
    assert all(s.startswith("v1,") for s in sigs)
    assert verify(second.body, second.headers, new, now=now())["type"] == "user.created"
    verify(second.body, second.headers, VALID_SECRET, now=now())
    # each of the two signatures matches exactly one of the two secrets
    ok = [
        (secret, sig)
        for secret in (new, VALID_SECRET)
        for sig in sigs
        if _verifies(second.body, {**second.headers, "webhook-signature": sig}, secret, now())
    ]
    assert len(ok) == 2 and {s for s, _ in ok} == {new, VALID_SECRET}
    with pytest.raises(WebhookVerificationError):
        verify(second.body, second.headers, "whsec_" + "B" * 32, now=now())

    # after the grace period only the new secret signs
    await hp.advance(3601)
    await hp.publish(pid, event_id="after")
    third = (await receiver.wait_for(3))[2]
    assert len(_sigs(third.headers)) == 1
    verify(third.body, third.headers, new, now=now())
    with pytest.raises(WebhookVerificationError):
        verify(third.body, third.headers, VALID_SECRET, now=now())

    # a caller-chosen secret without grace: the previous one stops signing at once
    chosen = "whsec_" + "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJC"  # 24 bytes of "B"
    r = await hp.http.post(
        f"/api/v1/projects/{pid}/endpoints/{ep['id']}/rotate-secret",
        json={"secret": chosen, "grace_period_seconds": 0},
    )
    assert r.status_code == 200, r.text
    assert r.json()["secret"] == chosen
    await hp.publish(pid, event_id="no_grace")
    fourth = (await receiver.wait_for(4))[3]
    assert len(_sigs(fourth.headers)) == 1
    assert _verifies(fourth.body, fourth.headers, chosen, now())
    assert not _verifies(fourth.body, fourth.headers, new, now())
