"""Numbers, times and URLs at and past their edges: a 422 naming the field, never a 500.

Every integer that reaches the database must fit a signed 64-bit column (or
the field's documented range), every number stored as JSON must be finite
(PostgreSQL's json type refuses NaN and Infinity, which Python reads from
``NaN``, ``Infinity`` and ``1e400``), every time must stay within the years
1-9999 once in UTC, and every URL must be one that yarl -- and so aiohttp, at
delivery -- reads as the same plain host. Each table runs on SQLite and
PostgreSQL, and a refused request writes nothing.
"""

from __future__ import annotations

import httpx
import pytest

from hookpost.store import encode_cursor
from tests.conftest import Hookpost
from tests.helpers.api import expect_field

#: Integers no column holds: one past BIGINT either way, and far past it.
HUGE = ["9223372036854775808", "-9223372036854775809", "99999999999999999999999"]
#: What Python's JSON reader turns into NaN or an infinity.
NON_FINITE = ["1e400", "-1e400", "NaN", "Infinity", "-Infinity"]
#: Times that overflow once converted to UTC, or are not times at all.
BAD_TIMES = [
    '"0001-01-01T00:00:00+01:00"',
    '"0001-01-01T00:00:00"',
    '"9999-12-31T23:59:59-01:00"',
    '"9999-12-31T23:59:59Z"',
    "99999999999999999999",
    "-99999999999999999999",
    "1e400",
    "NaN",
]


async def send(hp: Hookpost, method: str, path: str, raw: str) -> httpx.Response:
    """A JSON body sent as typed: ``1e400`` and ``NaN`` are not what json.dumps would write."""
    return await hp.http.request(
        method, path, content=raw, headers={"content-type": "application/json"}
    )


async def counts(hp: Hookpost, pid: str) -> dict[str, int]:
    out = {}
    for what in ("endpoints", "events", "event-types", "profiles", "jobs"):
        r = await hp.http.get(f"/api/v1/projects/{pid}/{what}", params={"limit": 250})
        assert r.status_code == 200, r.text
        out[what] = len(r.json()["data"])
    return out


# -- query parameters ---------------------------------------------------------------

LIST_ROUTES = ["endpoints", "events", "deliveries", "event-types", "profiles", "jobs", "api-keys"]

QUERY_CASES: list[tuple[str, str, list[str]]] = [
    ("events", "after", [*HUGE, "-1", "1e3", "1.5", "NaN"]),
    *[
        ("events", name, [t.strip('"') for t in BAD_TIMES] + ["0001-01-01T00:00:00-23:59"])
        for name in ("since", "until")
    ],
    *[(route, "limit", ["0", "251", *HUGE, "1e400", "-1"]) for route in LIST_ROUTES],
    (
        "events",
        "cursor",
        [encode_cursor(v) for v in ("9223372036854775808", "9" * 40, "ep_0001", "-1")],
    ),
    ("deliveries", "cursor", [encode_cursor("9" * 40), "!!", "a" * 300]),
]


@pytest.mark.parametrize(("route", "param", "values"), QUERY_CASES)
async def test_out_of_range_query_parameters_are_422_naming_them(
    hookpost_noworkers: Hookpost, route: str, param: str, values: list[str]
) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    for value in values:
        r = await hp.http.get(f"/api/v1/projects/{pid}/{route}", params={param: value})
        assert r.status_code == 422, (param, value, r.status_code, r.text)
        assert param in r.json()["message"], (value, r.text)


async def test_the_edges_themselves_are_accepted(hookpost_noworkers: Hookpost) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    ep = await hp.endpoint(pid, "https://example.com/hook")
    event = await hp.publish(pid)
    ok: list[tuple[str, dict[str, str]]] = [
        ("events", {"after": "9223372036854775807"}),
        ("events", {"after": "0", "order": "asc"}),
        ("events", {"cursor": encode_cursor("9223372036854775807")}),
        ("events", {"since": "0001-01-02T00:00:00Z", "until": "9999-12-30T00:00:00Z"}),
        ("events", {"since": "2000-01-01T00:00:00"}),  # no offset: UTC
        ("events", {"limit": "250"}),
    ]
    for route, params in ok:
        r = await hp.http.get(f"/api/v1/projects/{pid}/{route}", params=params)
        assert r.status_code == 200, (params, r.text)
    r = await hp.http.get(f"/api/v1/projects/{pid}/events", params={"after": "0"})
    assert [e["id"] for e in r.json()["data"]] == [event["id"]]
    r = await send(
        hp,
        "POST",
        f"/api/v1/projects/{pid}/endpoints/{ep['id']}/recover",
        '{"since": "0001-01-02T00:00:00Z", "until": "9999-12-30T00:00:00+00:00"}',
    )
    assert r.status_code == 202, r.text
    r = await send(
        hp,
        "PATCH",
        f"/api/v1/projects/{pid}/endpoints/{ep['id']}",
        '{"max_attempts": 50, "timeout_seconds": 60, "rate_limit": 10000, '
        '"max_concurrency": 1024, "retry_schedule": [259200], '
        '"filter": {"n": {"$lt": 99999999999999999999999}}}',
    )
    assert r.status_code == 200, r.text


# -- body fields --------------------------------------------------------------------

ENDPOINT_NUMBERS = ["max_attempts", "timeout_seconds", "rate_limit", "max_concurrency"]

#: (method, path under the project, field, body with {v} for the value, values)
BODY_CASES: list[tuple[str, str, str, str, list[str]]] = [
    *[
        (
            "POST",
            "/endpoints",
            f,
            '{"url": "https://example.com/x", "' + f + '": {v}}',
            [*HUGE, *NON_FINITE, "0", "-1"],
        )
        for f in ENDPOINT_NUMBERS
    ],
    *[
        ("PATCH", "/endpoints/{ep}", f, '{"' + f + '": {v}}', [*HUGE, *NON_FINITE, "-1"])
        for f in ENDPOINT_NUMBERS
    ],
    (
        "POST",
        "/endpoints",
        "retry_schedule",
        '{"url": "https://example.com/x", "retry_schedule": [5, {v}]}',
        [*HUGE, *NON_FINITE, "0"],
    ),
    (
        "PATCH",
        "/endpoints/{ep}",
        "retry_schedule",
        '{"retry_schedule": [{v}]}',
        [*HUGE, *NON_FINITE],
    ),
    (
        "POST",
        "/endpoints",
        "filter",
        '{"url": "https://example.com/x", "filter": {"amount": {"$gt": {v}}}}',
        NON_FINITE,
    ),
    ("PATCH", "/endpoints/{ep}", "filter", '{"filter": {"a": {"$in": [1, {v}]}}}', NON_FINITE),
    (
        "POST",
        "/endpoints/{ep}/rotate-secret",
        "grace_period_seconds",
        '{"grace_period_seconds": {v}}',
        [*HUGE, *NON_FINITE, "-1"],
    ),
    ("POST", "/portal-link", "expires_in", '{"expires_in": {v}}', [*HUGE, *NON_FINITE, "0"]),
    ("POST", "/endpoints/{ep}/recover", "since", '{"since": {v}}', BAD_TIMES),
    (
        "POST",
        "/endpoints/{ep}/recover",
        "until",
        '{"since": "2020-01-01T00:00:00Z", "until": {v}}',
        BAD_TIMES,
    ),
    ("POST", "/recover", "since", '{"since": {v}}', BAD_TIMES),
    ("POST", "/recover", "until", '{"since": "2020-01-01T00:00:00Z", "until": {v}}', BAD_TIMES),
    (
        "POST",
        "/event-types",
        "schema",
        '{"name": "order.paid", "schema": {"type": "number", "maximum": {v}}}',
        NON_FINITE,
    ),
    (
        "POST",
        "/profiles",
        "definition",
        '{"name": "acme", "definition": {"header": "X-Sig", "max_attempts": {v}}}',
        [*HUGE, *NON_FINITE],
    ),
    ("POST", "/events", "payload", '{"event_type": "a.b", "payload": {"n": {v}}}', NON_FINITE),
    ("POST", "/endpoints/{ep}/test", "payload", '{"payload": {"n": [{v}]}}', NON_FINITE),
]


@pytest.mark.parametrize(
    ("method", "path", "field", "template", "values"),
    BODY_CASES,
    ids=[f"{m} {p} {f}" for m, p, f, _, _ in BODY_CASES],
)
async def test_out_of_range_body_fields_are_422_naming_them(
    hookpost_noworkers: Hookpost,
    method: str,
    path: str,
    field: str,
    template: str,
    values: list[str],
) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    ep = await hp.endpoint(pid, "https://example.com/hook")
    before = await counts(hp, pid)
    url = f"/api/v1/projects/{pid}" + path.replace("{ep}", ep["id"])
    for value in values:
        r = await send(hp, method, url, template.replace("{v}", value))
        assert r.status_code == 422, (field, value, r.status_code, r.text)
        assert field in r.json()["message"], (value, r.text)
    assert await counts(hp, pid) == before
    r = await hp.http.get(f"/api/v1/projects/{pid}/endpoints/{ep['id']}")
    for key in [*ENDPOINT_NUMBERS, "filter", "retry_schedule", "url"]:
        assert r.json()[key] == ep[key], key


# -- endpoint URLs --------------------------------------------------------------------

#: Each kind of URL that urllib, yarl or aiohttp refuses, or reads differently.
BAD_URLS: dict[str, list[str]] = {
    "backslash": [
        "http://a\\b.example.com/",  # the example
        "http://example.com\\@evil.example/",
        "http://example.com/a\\b",
    ],
    "port": [
        "http://a.example.com:99999/",
        "http://a.example.com:65536/",
        "http://a.example.com:-1/",
        "http://a.example.com:0/",
        "http://a.example.com:+80/",
        "http://a.example.com:0x50/",
        "http://a.example.com:80:80/",
        "http://a.example.com:\uff11\uff12/",  # fullwidth digits
        "http://[::1]:99999/",
    ],
    "space-or-control": [
        "http://a b.example.com/",
        "http://a.example.com/ x",
        "http://a.example.com/\x7f",
        "http://a\x01.example.com/",
        "http://a.example.com\t/",
        "http://a\u200b.example.com/",
    ],
    "idna": [
        "http://exämple..com/",
        "http://a..b.example.com/",
        "http://.example.com/",
        "http://a\ufffd.com/",
        "http://xn--/",
        "http://xn--zz.example.com/",
        "http://xn--abc-.example.com/",
        "http://" + "a" * 64 + ".example.com/",
        "http://" + ("a" * 60 + ".") * 5 + "com/",
    ],
    "ip-literal": [
        "http://[::1",
        "http://[::1]x/",
        "http://[::1]]/",
        "http://[v1.x]/",
        "http://[fe80::1%25eth0]/",
        "http://[1:2:3:4:5:6:7:8:9]/",
        "http://a]b.example.com/",
        "http://1.2.3.4.5/",
    ],
    "host-characters": [
        "http:///path",
        "http://:80/",
        "http://%/",
        "http://ex%41mple.com/",
        "http://a%2fb.example.com/",
        "http://a^b.example.com/",
        "http://a|b.example.com/",
        "http://a<b.example.com/",
    ],
    "userinfo": [
        "http://@/",
        "http://u@example.com/",
        "http://:p@example.com/",
        "http://@example.com/",
        "http://example.com@/",
        "http://a:b:c@example.com/",
    ],
}

GOOD_URLS = [
    "https://example.com/hook?x=1#f",
    "https://EXAMPLE.com:8443/p",
    "https://ß.example/",
    "https://xn--ls8h.example/",
    "https://bücher.example/",
    "https://a_b.example.com/",
    "https://example.com./",
    "http://[2606:4700::1111]/",
    "https://93.184.216.34/",
]


@pytest.mark.parametrize("kind", BAD_URLS)
async def test_urls_yarl_or_aiohttp_cannot_use_are_422_naming_url(
    hookpost_noworkers: Hookpost, kind: str
) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    ep = await hp.endpoint(pid, "https://example.com/hook")
    base = f"/api/v1/projects/{pid}/endpoints"
    for url in BAD_URLS[kind]:
        for r in (
            await hp.http.post(base, json={"url": url}),
            await hp.http.patch(f"{base}/{ep['id']}", json={"url": url}),
        ):
            assert r.status_code == 422, (url, r.status_code, r.text)
            expect_field(r, "url")
    r = await hp.http.get(f"{base}/{ep['id']}")
    assert r.json()["url"] == "https://example.com/hook"
    assert len((await hp.http.get(base)).json()["data"]) == 1
    r = await hp.http.post(f"{base}/{ep['id']}/test")
    assert r.status_code == 202, r.text


async def test_ordinary_and_international_urls_are_still_accepted(
    hookpost_noworkers: Hookpost,
) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    for url in GOOD_URLS:
        r = await hp.http.post(f"/api/v1/projects/{pid}/endpoints", json={"url": url})
        assert r.status_code == 201, (url, r.text)


# -- the dashboard's own numbers ------------------------------------------------------


async def test_dashboard_numbers_and_cursors_are_pages_not_500s(
    hookpost_noworkers: Hookpost,
) -> None:
    from tests.helpers.dashboard import csrf_of, sign_in

    hp = hookpost_noworkers
    pid, _ = await hp.project()
    ep = await hp.endpoint(pid, "https://example.com/hook")
    async with httpx.AsyncClient(base_url=hp.base_url, timeout=30) as browser:
        await sign_in(browser)
        page = await browser.get(f"/projects/{pid}/endpoints/{ep['id']}")
        csrf = csrf_of(page.text)
        for hours in ["inf", "1e400", "-inf", "nan", "99999999999999999999", "-1"]:
            r = await browser.post(
                f"/projects/{pid}/endpoints/{ep['id']}/rotate-secret",
                data={"csrf": csrf, "grace_hours": hours},
            )
            assert r.status_code == 422, (hours, r.status_code)
        for cursor in [encode_cursor("9" * 40), encode_cursor("ep_1")]:
            r = await browser.get(f"/projects/{pid}/events", params={"cursor": cursor})
            assert r.status_code == 400, (cursor, r.status_code)
        for when in ["0001-01-01T00:00+01:00", "9999-12-31T23:59-01:00", "0001-01-01T00:00"]:
            r = await browser.get(f"/projects/{pid}/events", params={"since": when, "until": when})
            assert r.status_code == 200, (when, r.status_code)
        r = await browser.post(
            f"/projects/{pid}/failed/resend",
            data={"csrf": csrf, "since": "0001-01-01T00:00+01:00"},
        )
        assert r.status_code == 422, r.status_code
