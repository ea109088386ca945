"""Secret custom headers: sent for real, stored encrypted, shown masked everywhere else.

Each endpoint of the table carries headers secret by name (in several
spellings), one marked secret, and plain ones, with distinctive values. The
receiver must get every value; the API (admin, ``full`` and ``read`` keys),
the attempt log, copy-as-curl, the operator's and both portal scopes' pages
and the database must hold no secret value -- until the signed-in operator
reveals them on purpose.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import AsyncIterator
from types import MappingProxyType
from typing import Any

import httpx
import pytest
from aiohttp import web
from sqlalchemy import text

from hookpost.core import secret_headers
from hookpost.core.crypto import PREFIX
from hookpost.core.secret_headers import MASK, is_secret
from tests.conftest import Hookpost, Receiver
from tests.helpers.dashboard import csrf_of, portal_url, sign_in
from tests.helpers.database import database_bytes

# -- the rule ----------------------------------------------------------------------

SECRET_BY_NAME = [
    "Authorization",
    "authorization",
    "AUTHORIZATION",
    "Proxy-Authorization",
    "Cookie",
    "cookie",
    "Set-Cookie",
    "X-Api-Key",
    "x-api-key",
    "X-API-KEY",
    "X_Api_Key",
    "Api-Key",
    "Key",
    "X-Auth-Token",
    "X-Access-Token",
    "Private-Token",
    "x-csrf-token",
    "X-Webhook-Secret",
    "X-Client-Secret",
    "X-Db-Password",
    "X-Custom-Auth",
    "X-Apikey",
    " Authorization ",
    # more members of the kind: credentials under other names
    "Authentication",
    "X-Session",
    "Sessionid",
    "Bearer",
    "X-Bearer",
    "X-Passphrase",
    "X-Jwt",
    "X-ApiToken",
    "XAuthToken",
    "X-AccessKey",
    "X-SecretKey",
    "X-OAuth",
    "X-UserPassword",
    "X-Amz-Security-Token",
    "Ocp-Apim-Subscription-Key",
]
PLAIN = [
    "X-Team",
    "X-Request-Source",
    "Accept",
    "User-Agent",
    "X-Key-Id",
    "X-Monkey",
    "X-Tokenizer",
    "X-Secretary",
    "X-Keyboard-Layout",
    "X-Authority",
    "Token-Type",
    "X-Keystone",
    "X-Author",
    "X-Sessions-Count",
]


@pytest.mark.parametrize("name", SECRET_BY_NAME)
def test_names_that_are_secret_by_the_rule(name: str) -> None:
    assert is_secret(name)
    assert secret_headers.mask({name: "v"}) == {name: MASK}


@pytest.mark.parametrize("name", PLAIN)
def test_names_that_are_not_secret_unless_marked(name: str) -> None:
    assert not is_secret(name)
    assert secret_headers.mask({name: "v"}) == {name: "v"}
    for mark in (name, name.upper(), name.lower().replace("-", "_")):
        assert is_secret(name, [mark])
        assert secret_headers.mask({name: "v"}, [mark]) == {name: MASK}


def test_a_mask_of_many_names_is_the_rule_per_name_every_time() -> None:
    """:func:`secret_headers.mask` remembers the rule's answer per name; the second and
    later masks of the same names (every attempt's wire headers) answer as the rule does."""
    headers = {name: f"value {i}" for i, name in enumerate(SECRET_BY_NAME + PLAIN)}
    for marks in ([], ["X-Team", "x_request_source"], ["X-TEAM"]):
        want = {k: MASK if is_secret(k, marks) else v for k, v in headers.items()}
        for _ in range(3):
            assert secret_headers.mask(headers, marks) == want
    assert secret_headers.mask(None) == {} == secret_headers.mask({}, ["X-Team"])


#: Wire headers as attempts record them, and marks in the spellings endpoints store.
MASK_TABLE: list[tuple[dict[str, str], list[str]]] = [
    ({}, []),
    ({"Authorization": "Bearer t"}, []),
    ({"X-Team": "a", "X-Api-Key": "k", "Accept": "*/*"}, []),
    ({"X-Team": "a", "X-Api-Key": "k", "Accept": "*/*"}, ["x_team"]),
    ({"X-Team": "a", "x-team": "b"}, ["X-TEAM"]),
    ({"X-Team": "a"}, ["X-Other"]),
    ({"Host": "h", "User-Agent": "hookpost/1", "Content-Type": "application/json",
      "webhook-id": "msg_1", "webhook-signature": "v1,s", "Cookie": "c=1", "X-Token": "t"}, []),
    ({"Host": "h", "User-Agent": "hookpost/1", "Content-Type": "application/json",
      "webhook-id": "msg_2", "webhook-signature": "v1,t", "Cookie": "c=2", "X-Token": "u"},
     ["Content-Type", " webhook-id "]),
    ({name: "v" for name in SECRET_BY_NAME + PLAIN}, ["X-Monkey"]),
    # past the caches' bounds: more names than CACHED_NAMES, longer than CACHED_CHARS
    ({**{f"X-Hdr-{i}": "v" for i in range(40)}, "X-Api-Key": "k"}, ["x-hdr-3"]),
    ({"X-" + "a" * 3000 + "-Token": "t", "X-" + "b" * 3000: "v"}, []),
    ({f"X-{c * 300}-Secret": "s" for c in "abcdefgh"}, ["X-" + "a" * 300 + "-secret"]),
]  # fmt: skip


def test_the_caches_keep_no_long_name_and_no_large_set_of_names() -> None:
    """A hostile receiver's answer (128 headers of 8 KB names) must not fill the caches:
    names past CACHED_CHARS and sets past CACHED_NAMES or CACHED_CHARS are not kept."""
    secret_headers._secret_among.cache_clear()
    secret_headers._by_name_cached.cache_clear()
    long_name = "X-" + "z" * (secret_headers.CACHED_CHARS + 1)
    many = {f"X-Many-{i}": "v" for i in range(secret_headers.CACHED_NAMES + 1)}
    wide = {f"X-{c * 400}": "v" for c in "abcdef"}  # 6 short-enough names, 2,400 characters
    for headers in (many, wide, {long_name: "v"}):
        assert secret_headers.mask(headers) == headers
    assert secret_headers._secret_among.cache_info().currsize == 0
    assert secret_headers.is_secret(long_name) is False
    assert secret_headers._by_name_cached.cache_info().currsize == len(many) + len(wide)
    secret_headers.mask({"X-Api-Key": "k"})
    assert secret_headers._secret_among.cache_info().currsize == 1


@pytest.mark.parametrize(("headers", "marks"), MASK_TABLE)
def test_the_cached_mask_of_a_dict_answers_as_the_rule_per_header(
    headers: dict[str, str], marks: list[str]
) -> None:
    """A plain dict takes the cached path (its names' secret ones, remembered); any
    other mapping the rule header by header. Same answer, in the same order, every
    time, from a list, a tuple or a generator of marks; the headers are not changed."""
    before = dict(headers)
    slow = secret_headers.mask(MappingProxyType(headers), marks)
    assert slow == {k: MASK if is_secret(k, marks) else v for k, v in headers.items()}
    for given in (marks, tuple(marks), (m for m in marks), marks):
        fast = secret_headers.mask(headers, given)
        assert fast == slow and list(fast) == list(slow)
        assert fast is not headers
    assert headers == before


# -- everywhere, with a real receiver ------------------------------------------------

#: (secret by name, marked secret, plain): one endpoint's headers per row, in varied spellings.
HEADER_SETS = [
    (
        ["Authorization", "Cookie", "X-Api-Key", "X-Auth-Token", "X-Webhook-Secret"],
        ["X-Tenant-Pass"],
        ["X-Team", "X-Request-Source"],
    ),
    (
        ["authorization", "x-api-key", "private-token", "x-db-password"],
        ["x-tenant-pass"],
        ["x-team"],
    ),
    (
        ["AUTHORIZATION", "X-ACCESS-TOKEN", "X-CLIENT-SECRET", "Api-Key"],
        ["X-TENANT-PASS"],
        ["X-TEAM", "X-Key-Id"],
    ),
]


def value_of(name: str) -> str:
    return f"Bearer val-{name.lower()}-5ecr3t"


def _all_text(*answers: Any) -> str:
    return "\n".join(a if isinstance(a, str) else json.dumps(a) for a in answers)


def assert_masked(where: str, haystack: str, secret: list[str], plain: list[str]) -> None:
    unescaped = html.unescape(haystack)
    for name in secret:
        assert value_of(name) not in unescaped, f"{name}'s value shown on {where}"
        assert value_of(name).split()[1] not in unescaped, f"{name}'s value shown on {where}"
    for name in plain:
        assert value_of(name) in unescaped, f"{name}'s plain value missing on {where}"


def client(hp: Hookpost, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=hp.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )


async def _set_cookie(request: web.Request, n: int) -> web.StreamResponse:
    return web.Response(text="ok", headers={"Set-Cookie": "sess=resp-cookie-5ecr3t"})


@pytest.fixture
async def browser(hookpost: Hookpost) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=hookpost.base_url, timeout=30) as c:
        yield c


@pytest.mark.parametrize(("by_name", "marked", "plain"), HEADER_SETS)
async def test_secret_headers_reach_the_receiver_and_are_masked_everywhere_else(
    hookpost: Hookpost,
    receiver: Receiver,
    browser: httpx.AsyncClient,
    db_url: str,
    caplog: pytest.LogCaptureFixture,
    by_name: list[str],
    marked: list[str],
    plain: list[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    hp = hookpost
    secret = [*by_name, *marked]
    pid, full = await hp.project()
    r = await hp.http.post(f"/api/v1/projects/{pid}/api-keys", json={"scope": "read"})
    read = r.json()["key"]
    sent = {name: value_of(name) for name in [*secret, *plain]}
    created = await hp.endpoint(
        pid, receiver.on("/hook", _set_cookie), headers=sent, secret_headers=marked
    )
    assert created["headers"] == {n: MASK if n in secret else v for n, v in sent.items()}
    assert sorted(created["secret_headers"]) == sorted(secret)
    ep_id = created["id"]

    await hp.publish(pid)
    (got,) = await receiver.wait_for(1)
    on_wire = {k.lower(): v for k, v in got.headers.items()}
    for name, value in sent.items():
        assert on_wire[name.lower()] == value, name  # the receiver got the real value
    (dlv,) = await hp.deliveries(pid)
    detail = await hp.wait_status(pid, dlv["id"], "succeeded")
    (attempt,) = detail["attempts"]
    assert {attempt["request_headers"][n] for n in secret} == {MASK}
    assert attempt["response_headers"]["Set-Cookie"] == MASK

    api: list[Any] = [created, detail]
    for key in (full, read):
        async with client(hp, key) as c:
            for path in (f"endpoints/{ep_id}", "endpoints", f"deliveries/{dlv['id']}"):
                r = await c.get(f"/api/v1/projects/{pid}/{path}")
                assert r.status_code == 200, r.text
                api.append(r.json())
    api.append((await hp.http.get(f"/api/v1/projects/{pid}/endpoints/{ep_id}")).json())
    assert_masked("the API", _all_text(*api), secret, plain)
    assert "resp-cookie-5ecr3t" not in _all_text(*api)

    pages: dict[str, str] = {}
    for scope in ("view", "manage"):
        link = await portal_url(hp, pid, scope=scope)
        async with httpx.AsyncClient(timeout=30) as c:
            for path in ("", "/endpoints", f"/endpoints/{ep_id}", f"/deliveries/{dlv['id']}"):
                r = await c.get(link + path)
                assert r.status_code == 200, (scope, path)
                pages[f"portal {scope} {path}"] = r.text
            if scope == "manage":
                r = await c.get(f"{link}/endpoints/{ep_id}/edit")
                assert r.status_code == 200
                pages["portal manage edit"] = r.text
                token = csrf_of(pages[f"portal manage /endpoints/{ep_id}"])
                r = await c.post(f"{link}/endpoints/{ep_id}/reveal-headers", data={"csrf": token})
                assert r.status_code in (403, 404, 405)
                pages["portal manage reveal"] = r.text
    await sign_in(browser)
    base = f"/projects/{pid}"
    for path in (f"/endpoints/{ep_id}", f"/endpoints/{ep_id}/edit", f"/deliveries/{dlv['id']}"):
        r = await browser.get(base + path)
        assert r.status_code == 200
        pages[f"operator {path}"] = r.text
    assert "curl -X POST" in pages[f"operator /deliveries/{dlv['id']}"]
    for where, page in pages.items():
        plain_here = plain if "reveal" not in where and where.endswith(ep_id) else []
        assert_masked(where, page, secret, plain_here)
    stored = (await database_bytes(hp, db_url)).decode("utf-8", "replace")
    assert PREFIX in stored
    assert_masked("the database", stored, secret, plain)
    assert_masked("the logs", caplog.text, secret, [])

    # The operator, signed in, reveals them on purpose.
    token = csrf_of(pages[f"operator /endpoints/{ep_id}"])
    r = await browser.post(f"{base}/endpoints/{ep_id}/reveal-headers", data={"csrf": token})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    for name in secret:
        assert value_of(name) in html.unescape(r.text), name
    r = await browser.post(f"{base}/endpoints/{ep_id}/reveal-headers", data={"csrf": "x"})
    assert r.status_code == 403 and value_of(secret[0]) not in html.unescape(r.text)


# -- edits keep the stored values --------------------------------------------------------


async def test_a_masked_value_sent_back_keeps_the_stored_one(
    hookpost: Hookpost, receiver: Receiver, browser: httpx.AsyncClient, db_url: str
) -> None:
    hp = hookpost
    pid, _ = await hp.project()
    sent = {"Authorization": value_of("Authorization"), "X-Tenant": value_of("X-Tenant")}
    ep = await hp.endpoint(pid, receiver.url("/a"), headers=sent, secret_headers=["X-Tenant"])
    url = f"/api/v1/projects/{pid}/endpoints/{ep['id']}"
    # GET, change something, PATCH the headers back as shown: the secrets survive.
    shown = (await hp.http.get(url)).json()["headers"]
    r = await hp.http.patch(url, json={"headers": {**shown, "X-Team": "ops"}})
    assert r.status_code == 200, r.text
    assert r.json()["headers"] == {"Authorization": MASK, "X-Tenant": MASK, "X-Team": "ops"}
    # in another case, the mark survives a new value too
    r = await hp.http.patch(url, json={"headers": {"x-tenant": "new-tenant-5ecr3t"}})
    assert r.json()["headers"] == {"x-tenant": MASK} and r.json()["secret_headers"] == ["x-tenant"]
    r = await hp.http.patch(url, json={"headers": {**sent, "X-Tenant": MASK}})
    assert r.status_code == 200, r.text
    # marking alone (no headers sent) marks a stored plain header
    r = await hp.http.patch(url, json={"headers": {**sent, "X-Plain": "plain-value-1"}})
    r = await hp.http.patch(url, json={"secret_headers": ["x-plain"]})
    assert r.status_code == 200 and r.json()["headers"]["X-Plain"] == MASK, r.text

    # the dashboard's edit form, saved as shown, keeps them as well
    await sign_in(browser)
    page = await browser.get(f"/projects/{pid}/endpoints/{ep['id']}/edit")
    textarea = html.unescape(page.text.split('name="headers"')[1].split(">", 1)[1].split("<")[0])
    assert "5ecr3t" not in textarea and MASK in textarea
    r = await browser.post(
        f"/projects/{pid}/endpoints/{ep['id']}/edit",
        data={"csrf": csrf_of(page.text), "url": receiver.url("/b"), "headers": textarea},
    )
    assert r.status_code == 303, r.text

    await hp.publish(pid)
    (got,) = await receiver.wait_for(1, "/b")
    on_wire = {k.lower(): v for k, v in got.headers.items()}
    assert on_wire["authorization"] == value_of("Authorization")
    assert on_wire["x-tenant"] == value_of("X-Tenant")
    assert on_wire["x-plain"] == "plain-value-1"
    stored = (await database_bytes(hp, db_url)).decode("utf-8", "replace")
    assert "5ecr3t" not in stored


#: (the body, the field a 422 names)
REFUSED = [
    ({"headers": {"Authorization": MASK}}, "headers.Authorization"),
    ({"headers": {"X-Team": "a"}, "secret_headers": ["X-Other"]}, "secret_headers"),
    ({"headers": {"X-Team": PREFIX + "abc:def"}}, "headers"),
    ({"secret_headers": ["bad name"]}, "secret_headers"),
    ({"secret_headers": ["X-Nope"]}, "secret_headers"),
]


@pytest.mark.parametrize(("body", "field"), REFUSED)
async def test_masks_and_marks_that_stand_for_nothing_are_refused(
    hookpost_noworkers: Hookpost, body: dict[str, Any], field: str
) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    r = await hp.http.post(
        f"/api/v1/projects/{pid}/endpoints", json={"url": "http://127.0.0.1:9/", **body}
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == field, r.text
    assert (await hp.http.get(f"/api/v1/projects/{pid}/endpoints")).json()["data"] == []
    ep = await hp.endpoint(pid, "http://127.0.0.1:9/", headers={"X-Team": "a"})
    r = await hp.http.patch(f"/api/v1/projects/{pid}/endpoints/{ep['id']}", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == field, r.text
    after = (await hp.http.get(f"/api/v1/projects/{pid}/endpoints/{ep['id']}")).json()
    assert after["headers"] == {"X-Team": "a"} and after["secret_headers"] == []


# -- rows written before headers were sealed -------------------------------------------


async def test_clear_secret_headers_from_before_keep_working_and_rotate_key_seals_them(
    hookpost: Hookpost, receiver: Receiver, db_url: str
) -> None:
    hp = hookpost
    pid, _ = await hp.project()
    ep = await hp.endpoint(pid, receiver.url("/old"))
    legacy = {"Authorization": value_of("Authorization"), "X-Team": value_of("X-Team")}
    async with hp.store.engine.begin() as conn:  # as an older hookpost wrote it: in clear
        await conn.execute(
            text("UPDATE endpoints SET headers = :h WHERE id = :id"),
            {"h": json.dumps(legacy), "id": ep["id"]},
        )
    shown = (await hp.http.get(f"/api/v1/projects/{pid}/endpoints/{ep['id']}")).json()
    assert shown["headers"] == {"Authorization": MASK, "X-Team": value_of("X-Team")}
    await hp.publish(pid)
    (got,) = await receiver.wait_for(1, "/old")
    assert got.headers["Authorization"] == value_of("Authorization")
    assert value_of("Authorization") in (await database_bytes(hp, db_url)).decode(
        "utf-8", "replace"
    )

    done = await hp.store.reseal_secrets()
    assert done["resealed"] >= 1
    async with hp.store.engine.connect() as conn:
        raw = (
            await conn.execute(
                text("SELECT headers FROM endpoints WHERE id = :id"), {"id": ep["id"]}
            )
        ).scalar_one()
    raw = json.loads(raw) if isinstance(raw, str) else raw
    assert raw["Authorization"].startswith(PREFIX) and raw["X-Team"] == value_of("X-Team")
    assert (await hp.store.reseal_secrets())["resealed"] == 0  # nothing left to do
    await hp.publish(pid)
    got = await receiver.wait_for(2, "/old")
    assert got[1].headers["Authorization"] == value_of("Authorization")


#: (the form's headers, its "also secret" field, the secret names, or the field a 422 names)
FORMS = [
    ("X-Tenant-Pass: tp-5ecr3t\nX-Team: ops", "X-Tenant-Pass", ["X-Tenant-Pass"]),
    ("Authorization: Bearer au-5ecr3t\nX-Team: ops", "", ["Authorization"]),
    ("x_api_key: k-5ecr3t\nX-Team: ops\nX-Seat: s-5ecr3t", "x-seat, X-TEAM", None),
    ("X-Team: ops", "X-Missing", "secret_headers"),
    ("Authorization: [redacted]", "", "headers"),
]


@pytest.mark.parametrize(("headers", "also", "outcome"), FORMS)
async def test_the_dashboard_form_marks_and_masks_like_the_api(
    hookpost: Hookpost, browser: httpx.AsyncClient, headers: str, also: str, outcome: Any
) -> None:
    hp = hookpost
    pid, _ = await hp.project()
    await sign_in(browser)
    token = csrf_of((await browser.get(f"/projects/{pid}/endpoints/new")).text)
    r = await browser.post(
        f"/projects/{pid}/endpoints/new",
        data={
            "csrf": token,
            "url": "http://127.0.0.1:9/form",
            "profile": "standard",
            "headers": headers,
            "secret_headers": also,
        },
    )
    if isinstance(outcome, str):  # refused, the message next to the field it names
        assert r.status_code == 422, r.text
        assert f'id="{outcome}-error"' in r.text
        assert (await hp.http.get(f"/api/v1/projects/{pid}/endpoints")).json()["data"] == []
        return
    assert r.status_code == 303, r.text
    (ep,) = (await hp.http.get(f"/api/v1/projects/{pid}/endpoints")).json()["data"]
    expected = outcome or ["x_api_key", "X-Team", "X-Seat"]
    assert sorted(ep["secret_headers"]) == sorted(expected)
    assert {ep["headers"][n] for n in expected} == {MASK}
    assert "5ecr3t" not in json.dumps(ep)
    page = await browser.get(f"/projects/{pid}/endpoints/{ep['id']}")
    assert "5ecr3t" not in page.text and "Reveal secret headers" in page.text
