"""The dashboard and portal over plain HTTP: auth, CSRF, headers, links, forms, charts.

What a browser cannot show quickly -- cookie flags, status codes, response
headers, a tampered token, the chart arithmetic -- is checked here; the
browser scenario is in ``test_dashboard_browser.py``.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from hookpost.config import Settings
from hookpost.dashboard import charts
from hookpost.dashboard.curl import curl_command
from hookpost.dashboard.keys import dashboard_key
from hookpost.dashboard.tokens import LinkExpired, LinkInvalid, Signer
from hookpost.web.ratelimit import AUTH_FAILURE_BURST, RateLimiter
from tests.conftest import ADMIN, Hookpost, Receiver
from tests.helpers.dashboard import csrf_of, portal_url, sign_in


@pytest.fixture
async def browser(hookpost: Hookpost) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client without the API's bearer token, like a browser."""
    async with httpx.AsyncClient(base_url=hookpost.base_url, timeout=30) as client:
        yield client


# -- signing in -----------------------------------------------------------------


async def test_sign_in_sets_a_signed_httponly_strict_cookie(
    hookpost: Hookpost, browser: httpx.AsyncClient
) -> None:
    r = await browser.get("/")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")

    r = await browser.post("/login", data={"token": "wrong"})
    assert r.status_code == 401
    assert "That is not the admin token." in r.text
    assert "hookpost_session" not in r.headers.get("set-cookie", "")

    r = await browser.post("/login", data={"token": ADMIN, "next": "//evil.example/"})
    assert r.status_code == 303
    assert r.headers["location"] == "/"  # never off-site after sign-in
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert ADMIN not in cookie

    pid, _ = await hookpost.project()
    r = await browser.get("/")
    assert r.status_code == 200 and pid in r.text
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]

    # A forged cookie is no session.
    value = browser.cookies["hookpost_session"]
    browser.cookies.set("hookpost_session", value[:-2] + ("A" if value[-2] != "A" else "B") + "x")
    r = await browser.get("/")
    assert r.status_code == 303

    # Sessions end with time, on the service clock.
    browser.cookies.set("hookpost_session", value)
    assert (await browser.get("/")).status_code == 200
    hookpost.clock.advance(13 * 3600)
    assert (await browser.get("/")).status_code == 303


async def test_sign_in_guessing_is_slowed(hookpost: Hookpost, browser: httpx.AsyncClient) -> None:
    t = [0.0]
    hookpost.app.state.auth_failures = RateLimiter.for_auth_failures(clock=lambda: t[0])
    for i in range(AUTH_FAILURE_BURST):
        r = await browser.post("/login", data={"token": f"guess{i}"})
        assert r.status_code == 401, i
    r = await browser.post("/login", data={"token": ADMIN})
    assert r.status_code == 429 and "text/html" in r.headers["content-type"]
    assert "Too many wrong tokens" in r.text and int(r.headers["retry-after"]) >= 1
    t[0] += 10
    assert (await browser.post("/login", data={"token": ADMIN})).status_code == 303


async def test_unknown_pages_are_pages_and_unknown_api_paths_json(
    browser: httpx.AsyncClient,
) -> None:
    html = {"Accept": "text/html,application/xhtml+xml"}
    r = await browser.get("/no/such/page", headers=html)
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]
    assert "There is no page at this address." in r.text
    r = await browser.get("/no/such/page", headers={"Accept": "application/json"})
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = await browser.get("/api/v1/no/such/path", headers=html)
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/json")


async def test_logout_needs_csrf_and_ends_the_session(
    hookpost: Hookpost, browser: httpx.AsyncClient
) -> None:
    await sign_in(browser)
    page = await browser.get("/")
    assert (await browser.post("/logout", data={})).status_code == 403
    r = await browser.post("/logout", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert (await browser.get("/")).status_code == 303


async def test_forms_refuse_missing_csrf_and_foreign_origin(
    hookpost: Hookpost, browser: httpx.AsyncClient, receiver: Receiver
) -> None:
    pid, _ = await hookpost.project()
    await sign_in(browser)
    form = await browser.get(f"/projects/{pid}/endpoints/new")
    token = csrf_of(form.text)
    data = {"url": receiver.url(), "profile": "standard", "enabled": "1"}

    r = await browser.post(f"/projects/{pid}/endpoints/new", data=data)
    assert r.status_code == 403 and "Form expired" in r.text
    r = await browser.post(
        f"/projects/{pid}/endpoints/new",
        data={**data, "csrf": token},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403
    listed = await hookpost.http.get(f"/api/v1/projects/{pid}/endpoints")
    assert listed.json()["data"] == []

    r = await browser.post(f"/projects/{pid}/endpoints/new", data={**data, "csrf": token})
    assert r.status_code == 303
    (ep,) = (await hookpost.http.get(f"/api/v1/projects/{pid}/endpoints")).json()["data"]
    assert r.headers["location"] == f"/projects/{pid}/endpoints/{ep['id']}"
    assert "hookpost_flash=done=created" in r.headers["set-cookie"].replace('"', "")


#: Header lines the endpoint form must refuse next to the field -> what the error says.
HEADER_LINES = [
    pytest.param("X-A: 1\nX-A: 2", "already set above", id="same-name-twice"),
    pytest.param("X-A: 1\nx-a: 2", "already set above", id="same-name-other-case"),
    pytest.param("X-Tenant: a\nX-B: b\nX-TENANT: c", "already set above", id="case-apart"),
    pytest.param("Expect: 100-continue", "set by hookpost", id="expect"),
]


@pytest.mark.parametrize(("lines", "says"), HEADER_LINES)
async def test_endpoint_form_refuses_headers_it_could_not_send_as_typed(
    hookpost: Hookpost, browser: httpx.AsyncClient, lines: str, says: str
) -> None:
    pid, _ = await hookpost.project()
    await sign_in(browser)
    token = csrf_of((await browser.get(f"/projects/{pid}/endpoints/new")).text)
    data = {"csrf": token, "url": "http://127.0.0.1:9/x", "profile": "standard"}
    r = await browser.post(f"/projects/{pid}/endpoints/new", data={**data, "headers": lines})
    assert r.status_code == 422, r.text[:300]
    found = re.search(r'<p class="field-error" id="headers-error">([^<]*)</p>', r.text)
    assert found and says in found.group(1), found
    listed = await hookpost.http.get(f"/api/v1/projects/{pid}/endpoints")
    assert listed.json()["data"] == []


async def test_endpoint_form_shows_the_api_messages_next_to_fields(
    hookpost: Hookpost, browser: httpx.AsyncClient
) -> None:
    pid, _ = await hookpost.project()
    await sign_in(browser)
    token = csrf_of((await browser.get(f"/projects/{pid}/endpoints/new")).text)
    r = await browser.post(
        f"/projects/{pid}/endpoints/new",
        data={
            "csrf": token,
            "url": "ftp://example.com/x",
            "profile": "standard",
            "secret": "short",
            "headers": "no colon here",
            "max_attempts": "lots",
            "filter": "{not json",
            "description": "kept as typed",
            "event_types": "user..created",
        },
    )
    assert r.status_code == 422
    html = r.text

    def error_of(field: str) -> str:
        found = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', html)
        assert found, f"no error shown for {field}"
        return found.group(1)

    assert error_of("url") == "must be an http(s), amqp(s), redis(s), nats, mqtt(s) or sqs URL"
    assert "String should have at least 8 characters" in error_of("secret")
    assert "Name: value" in error_of("headers")
    assert "valid integer" in error_of("max_attempts")
    assert "not valid JSON" in error_of("filter")
    # A pattern in words, as the API says it, never the regular expression.
    assert "like user.created, a prefix ending in .*" in error_of("event_types")
    assert "^" not in error_of("event_types")
    assert 'value="kept as typed"' in html  # what was typed survives
    assert 'id="url" name="url" value="ftp://example.com/x"' in html

    # A refusal only the API route knows (the SSRF check) lands on its field too.
    r = await browser.post(
        f"/projects/{pid}/endpoints/new",
        data={"csrf": token, "url": "http://169.254.169.254/latest", "profile": "standard"},
    )
    assert r.status_code == 422
    assert re.search(r'id="url-error">[^<]*link-local', r.text), r.text


async def test_endpoint_actions_edit_disable_release_rotate_test(
    hookpost: Hookpost, browser: httpx.AsyncClient, receiver: Receiver
) -> None:
    pid, _ = await hookpost.project()
    ep = await hookpost.endpoint(pid, receiver.url("/a"), description="before")
    page_url = f"/projects/{pid}/endpoints/{ep['id']}"
    await sign_in(browser)
    token = csrf_of((await browser.get(page_url)).text)

    async def post(action: str, **data: str) -> httpx.Response:
        return await browser.post(f"{page_url}/{action}", data={"csrf": token, **data})

    r = await post(
        "edit",
        url=receiver.url("/b"),
        description="after",
        event_types="user.created",
        more_types="invoice.*",
        headers="X-Team: billing",
        max_attempts="3",
        timeout_seconds="",
        filter="",
    )
    assert r.status_code == 303, r.text
    got = (await hookpost.http.get(f"/api/v1/projects/{pid}/endpoints/{ep['id']}")).json()
    assert got["url"] == receiver.url("/b") and got["description"] == "after"
    assert got["event_types"] == ["user.created", "invoice.*"]
    assert got["headers"] == {"X-Team": "billing"} and got["max_attempts"] == 3

    assert (await post("enabled", enabled="0")).status_code == 303
    await hookpost.publish(pid)
    (held,) = await hookpost.deliveries(pid, status="held")
    r = await post("release-held")
    assert r.status_code == 409 and "enable it before releasing" in r.text
    assert (await post("enabled", enabled="1")).status_code == 303
    assert "Release held deliveries" in (await browser.get(page_url)).text
    assert (await post("release-held")).status_code == 303
    await hookpost.wait_status(pid, held["id"], "succeeded")

    revealed = await post("reveal-secret")
    assert ep["secret"] in revealed.text
    r = await post("rotate-secret", grace_hours="lots")
    assert r.status_code == 422 and 'id="grace_hours-error"' in r.text
    rotated = await post("rotate-secret", grace_hours="1")
    assert rotated.status_code == 200
    new_secret = re.search(r'<pre id="secret" class="secret">([^<]+)</pre>', rotated.text)
    assert new_secret and new_secret.group(1) != ep["secret"]
    assert new_secret.group(1) in (await post("reveal-secret")).text

    r = await post("test")
    assert r.status_code == 303 and "endpoint_id=" in r.headers["location"]
    assert "done=test_sent" in r.headers["set-cookie"]
    tests = await hookpost.deliveries(pid, event_type="hookpost.test")
    assert [d["endpoint_id"] for d in tests] == [ep["id"]]


def test_dashboard_key_sources(tmp_path: Path) -> None:
    assert dashboard_key(Settings(dashboard_key="explicit", admin_token="t")) == b"explicit"
    one = dashboard_key(Settings(admin_token="token-one"))
    assert one == dashboard_key(Settings(admin_token="token-one"))  # every process agrees
    assert one != dashboard_key(Settings(admin_token="token-two"))
    assert b"token-one" not in one
    made = dashboard_key(Settings(data_dir=str(tmp_path)))
    key_file = tmp_path / ".hookpost" / "dashboard_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert dashboard_key(Settings(data_dir=str(tmp_path))) == made


# -- the portal-link API ----------------------------------------------------------


async def test_portal_link_api_validates_and_is_scoped(hookpost: Hookpost) -> None:
    pid, key = await hookpost.project()
    _other, other_key = await hookpost.project()
    url = f"/api/v1/projects/{pid}/portal-link"

    r = await hookpost.http.post(url, json={"scope": "manage", "expires_in": 600})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["url"].startswith(f"{hookpost.base_url}/portal/")
    assert body["scope"] == "manage"
    from datetime import datetime

    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00")).timestamp()
    assert abs(expires - (hookpost.clock.now() + 600)) <= 1

    own = await hookpost.http.post(url, json={}, headers={"Authorization": f"Bearer {key}"})
    assert own.status_code == 200 and own.json()["scope"] == "view"
    foreign = await hookpost.http.post(
        url, json={}, headers={"Authorization": f"Bearer {other_key}"}
    )
    assert foreign.status_code == 404
    assert (await httpx.AsyncClient(base_url=hookpost.base_url).post(url, json={})).status_code == (
        401
    )

    for bad, field in (
        ({"expires_in": 0}, "expires_in"),
        ({"expires_in": 7 * 86400 + 1}, "expires_in"),
        ({"scope": "admin"}, "scope"),
        ({"scopes": "view"}, "scopes"),
    ):
        r = await hookpost.http.post(url, json=bad)
        assert r.status_code == 422, bad
        assert r.json()["detail"][0]["field"] == field


async def test_portal_pages_only_show_their_project(hookpost: Hookpost, receiver: Receiver) -> None:
    pid, _ = await hookpost.project()
    other, _ = await hookpost.project()
    await hookpost.endpoint(pid, receiver.url("/mine"))
    await hookpost.endpoint(other, receiver.url("/theirs"))
    await hookpost.publish(pid)
    await hookpost.publish(other)
    await receiver.wait_for(2)
    (theirs,) = await hookpost.deliveries(other)
    (mine,) = await hookpost.deliveries(pid)

    link = await portal_url(hookpost, pid, scope="view")
    async with httpx.AsyncClient(timeout=30) as client:
        r = await client.get(link + "/endpoints")
        assert r.status_code == 200
        assert "/mine" in r.text and "/theirs" not in r.text
        assert "x-frame-options" not in r.headers  # embeddable
        assert "frame-ancestors" not in r.headers["content-security-policy"]
        assert r.headers["referrer-policy"] == "same-origin"
        assert (await client.get(f"{link}/deliveries/{mine['id']}")).status_code == 200
        r = await client.get(f"{link}/deliveries/{theirs['id']}")
        assert r.status_code == 404 and "<h1>Not found</h1>" in r.text
        # View scope: no manage forms, and their URLs refuse.
        r = await client.get(f"{link}/deliveries/{mine['id']}")
        assert "Resend" not in r.text
        assert (await client.get(f"{link}/endpoints/new")).status_code == 403
        page = await client.get(link)
        assert "Customer portal" not in page.text  # the operator's link maker
        r = await client.post(f"{link}/deliveries/{mine['id']}/resend", data={"csrf": "x"})
        assert r.status_code == 403


async def test_tampered_and_expired_links_get_clear_pages(hookpost: Hookpost) -> None:
    pid, _ = await hookpost.project()
    link = await portal_url(hookpost, pid, scope="manage", expires_in=60)
    base, token = link.rsplit("/", 1)
    # Flip a character in the middle: the last base64 character may carry only
    # padding bits, so changing it does not always change the token's bytes.
    i = len(token) // 2
    flipped = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]
    async with httpx.AsyncClient(timeout=30) as client:
        assert (await client.get(link)).status_code == 200
        r = await client.get(f"{base}/{flipped}")
        assert r.status_code == 403
        assert "This link is not valid" in r.text and "Traceback" not in r.text
        assert r.headers["content-type"].startswith("text/html")
        r = await client.get(f"{base}/not-a-token/deliveries")
        assert r.status_code == 403
        hookpost.clock.advance(61)
        r = await client.get(link)
        assert r.status_code == 401 and "This link has expired" in r.text


def test_signer_binds_purpose_project_and_time() -> None:
    signer = Signer(b"k" * 32)
    token = signer.portal_token("proj_a", "view", 1000)
    grant = signer.read_portal(token, 999)
    assert (grant.project_id, grant.scope) == ("proj_a", "view")
    with pytest.raises(LinkExpired):
        signer.read_portal(token, 1000)
    with pytest.raises(LinkInvalid):
        Signer(b"j" * 32).read_portal(token, 0)  # another key
    session = signer.new_session("admin", 0, 100)
    with pytest.raises(LinkInvalid):
        signer.read_portal(session, 0)  # a session is not a link
    assert signer.read_session(session, "admin", 50) is not None
    assert signer.read_session(session, "new-admin-token", 50) is None
    assert signer.read_session(token, "admin", 50) is None  # a link is not a session


# -- pages, charts and live fragments -----------------------------------------------


async def test_delivery_page_and_live_fragment(
    hookpost: Hookpost, browser: httpx.AsyncClient, receiver: Receiver
) -> None:
    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, receiver.on("/x", [500, 200]))
    await hookpost.publish(pid, payload={"hello": "world"}, event_id="evt_page")
    await receiver.wait_for(1)
    (d,) = await hookpost.deliveries(pid)
    await hookpost.wait_status(pid, d["id"], "pending", attempts=1)
    await sign_in(browser)

    page = await browser.get(f"/projects/{pid}/deliveries/{d['id']}")
    assert page.status_code == 200
    html = page.text
    assert "Attempt 1" in html and "answer 500" in html
    assert "webhook-signature" in html and "{&#34;hello&#34;:&#34;world&#34;}" in html
    assert "curl -X POST" in html
    version = page.headers["x-live-version"]
    assert f'data-live-version="{version}"' in html

    frag = await browser.get(f"/projects/{pid}/deliveries/{d['id']}?fragment=live")
    assert frag.headers["x-live-version"] == version
    assert "<html" not in frag.text and "Attempt 1" in frag.text

    await hookpost.advance(6.5)  # the retry is due
    await hookpost.wait_status(pid, d["id"], "succeeded")
    frag = await browser.get(f"/projects/{pid}/deliveries/{d['id']}?fragment=live")
    assert frag.headers["x-live-version"] != version
    assert "Attempt 2" in frag.text

    overview = await browser.get(f"/projects/{pid}")
    assert 'id="chart-minutes"' in overview.text
    assert "1 succeeded" in overview.text and "1 failed" in overview.text
    assert 'id="chart-latency"' in overview.text and ">p99<" in overview.text
    assert 'id="chart-rates"' in overview.text and "50%" in overview.text


async def test_store_aggregates_for_charts(hookpost: Hookpost, receiver: Receiver) -> None:
    pid, _ = await hookpost.project()
    ok_ep = await hookpost.endpoint(pid, receiver.url("/ok"))
    bad_ep = await hookpost.endpoint(pid, receiver.on("/bad", [500]), max_attempts=1)
    other, _ = await hookpost.project()
    await hookpost.endpoint(other, receiver.url("/other"))
    for _ in range(2):
        await hookpost.publish(pid)
    await hookpost.publish(other)
    await receiver.wait_for(5)
    for d in await hookpost.deliveries(pid):
        await hookpost.wait_status(
            pid, d["id"], "failed" if d["endpoint_id"] == bad_ep["id"] else "succeeded"
        )
    store = hookpost.store
    now = hookpost.clock.now()
    per_minute = await store.dashboard_outcomes_per_minute(pid, now - 3600)
    assert per_minute == {int(now // 60): (2, 2)}
    rates = sorted(await store.dashboard_endpoint_success(pid, now - 3600))
    assert rates == sorted([(ok_ep["id"], 2, 2), (bad_ep["id"], 2, 0)])
    assert len(await store.dashboard_durations(pid, now - 3600, 3)) == 3
    recent = await store.dashboard_recent_attempts(pid, now - 3600, 10)
    assert len(recent) == 4 and {r["endpoint_id"] for r in recent} == {ok_ep["id"], bad_ep["id"]}
    assert await store.dashboard_outcomes_per_minute(pid, now + 1) == {}


def test_minute_chart_stacks_failures_on_successes() -> None:
    chart = charts.minute_chart({100: (3, 1), 159: (0, 2)}, last_minute=159, minutes=60)
    assert len(chart.bars) == 60 and (chart.ok, chart.failed) == (3, 3)
    first, last = chart.bars[0], chart.bars[-1]
    assert chart.axis_max == 5
    assert first.ok_height == pytest.approx(charts.HEIGHT * 3 / 5)
    assert first.failed_y + first.failed_height == pytest.approx(first.ok_y)
    assert last.ok_height == 0 and last.failed_height == pytest.approx(charts.HEIGHT * 2 / 5)
    assert chart.bars[1].ok == chart.bars[1].failed == 0
    assert chart.ticks[0][1] == "01:40"  # minute 100 after the epoch


def test_percentiles_and_success_bars() -> None:
    values = [float(v) for v in range(1, 101)]
    assert charts.percentile(values, 50) == 50
    assert charts.percentile(values, 95) == 95
    assert charts.percentile(values, 99) == 99
    assert charts.percentile([7.0], 99) == 7
    lat = charts.latency_chart([30.0, 10.0, 20.0])
    assert [b.label for b in lat.bars] == ["p50", "p95", "p99"]
    assert [b.ms for b in lat.bars] == [20, 30, 30] and lat.sample == 3
    assert charts.latency_chart([]).bars == []
    assert [charts.nice_ceiling(v) for v in (0, 1, 3, 7, 11, 250)] == [1, 1, 5, 10, 20, 500]
    bars = charts.success_bars([("a", 4, 4), ("b", 4, 1), ("c", 0, 0)], {"a": "https://a"})
    assert [(b.endpoint_id, b.rate) for b in bars] == [("b", 0.25), ("a", 1.0)]
    assert bars[1].label == "https://a" and bars[1].width == charts.BAR_WIDTH


def test_curl_command_replays_the_exact_request() -> None:
    body = '{"note":"it\'s $HOME `x`"}'
    cmd = curl_command(
        "http://127.0.0.1:9/hook?a=1&b=2",
        {"content-type": "application/json", "webhook-id": "evt 1", "content-length": "9"},
        body,
    )
    argv = shlex.split(cmd.replace("\\\n", " "))
    assert argv[:4] == ["curl", "-X", "POST", "http://127.0.0.1:9/hook?a=1&b=2"]
    assert argv[argv.index("--data-raw") + 1] == body
    headers = [argv[i + 1] for i, a in enumerate(argv) if a == "-H"]
    assert headers == ["content-type: application/json", "webhook-id: evt 1"]


async def test_events_filter_by_time_and_payload_text(
    hookpost: Hookpost, browser: httpx.AsyncClient
) -> None:
    pid, _ = await hookpost.project()
    await hookpost.publish(pid, "invoice.paid", payload={"customer": "Zoë Ltd"}, event_id="old")
    hookpost.clock.advance(3600)
    await hookpost.publish(pid, "invoice.paid", payload={"customer": "acme 100%"}, event_id="new")
    cut = datetime.fromtimestamp(hookpost.clock.now() - 1800, UTC)
    api = f"/api/v1/projects/{pid}/events"
    since = (await hookpost.http.get(api, params={"since": cut.isoformat()})).json()["data"]
    until = (await hookpost.http.get(api, params={"until": cut.isoformat()})).json()["data"]
    assert [e["id"] for e in since] == ["new"] and [e["id"] for e in until] == ["old"]
    found = (await hookpost.http.get(api, params={"q": "Zoë"})).json()["data"]
    assert [e["id"] for e in found] == ["old"]
    literal = (await hookpost.http.get(api, params={"q": "100%"})).json()["data"]
    assert [e["id"] for e in literal] == ["new"]  # % is text, not a wildcard
    assert (await hookpost.http.get(api, params={"q": "%"})).json()["data"][0]["id"] == "new"
    await sign_in(browser)
    page = await browser.get(
        f"/projects/{pid}/events", params={"since": cut.strftime("%Y-%m-%dT%H:%M"), "q": "acme"}
    )
    assert page.status_code == 200
    assert ">new<" in page.text and ">old<" not in page.text


# -- the event page and the find-by-id box -------------------------------------------


async def test_event_page_shows_payload_and_each_endpoints_delivery(
    hookpost: Hookpost, browser: httpx.AsyncClient, receiver: Receiver
) -> None:
    pid, _ = await hookpost.project()
    ok = await hookpost.endpoint(pid, receiver.url("/ok"))
    bad = await hookpost.endpoint(pid, receiver.on("/bad", [500]), max_attempts=1)
    other, _ = await hookpost.project()
    await hookpost.publish(other, event_id="evt_theirs")
    await hookpost.publish(pid, payload={"amount": 5, "note": "Zoë"}, event_id="evt_42")
    for d in await hookpost.deliveries(pid):
        await hookpost.wait_status(
            pid, d["id"], "failed" if d["endpoint_id"] == bad["id"] else "succeeded"
        )
    await sign_in(browser)

    r = await browser.get(f"/projects/{pid}/events/evt_42")
    assert r.status_code == 200
    payload = re.search(r'<pre id="payload" class="payload">([^<]*)</pre>', r.text)
    assert (
        payload
        and payload.group(1) == "{\n  &#34;amount&#34;: 5,\n  &#34;note&#34;: &#34;Zoë&#34;\n}"
    )
    rows = re.findall(r"<tr>.*?</tr>", r.text.split("<tbody>")[1], re.S)
    assert len(rows) == 2
    by_url = {("/ok" if "/ok" in row else "/bad"): row for row in rows}
    assert "badge-succeeded" in by_url["/ok"] and "badge-failed" in by_url["/bad"]
    for d in await hookpost.deliveries(pid):
        assert f"/projects/{pid}/deliveries/{d['id']}" in r.text
    # Reached from the events list, the deliveries list and a delivery's page.
    link = f'href="/projects/{pid}/events/evt_42"'
    assert link in (await browser.get(f"/projects/{pid}/events")).text
    assert link in (await browser.get(f"/projects/{pid}/deliveries")).text
    (d0, _) = await hookpost.deliveries(pid)
    assert link in (await browser.get(f"/projects/{pid}/deliveries/{d0['id']}")).text
    # Another project's event is not found here.
    r = await browser.get(f"/projects/{pid}/events/evt_theirs")
    assert r.status_code == 404 and "<h1>Not found</h1>" in r.text

    # The search box takes any id; its prefix says where to look first.
    async def find(q: str) -> httpx.Response:
        return await browser.get(f"/projects/{pid}/search", params={"q": q})

    for q, where in (
        ("evt_42", f"/projects/{pid}/events/evt_42"),
        (" evt_42 ", f"/projects/{pid}/events/evt_42"),
        (d0["id"], f"/projects/{pid}/deliveries/{d0['id']}"),
        (ok["id"], f"/projects/{pid}/endpoints/{ok['id']}"),
    ):
        r = await find(q)
        assert r.status_code == 302 and r.headers["location"] == where, (q, r.text[:200])
    for q in ("evt_theirs", "dlv_nothing", "ep_nothing", "<script>"):
        r = await find(q)
        assert r.status_code == 404 and "No event, delivery or endpoint" in r.text, q
        assert "<script>" not in r.text
    assert (await find("")).status_code == 200
    assert 'role="search" aria-label="Find by id"' in (await browser.get(f"/projects/{pid}")).text


# -- the endpoint page: every setting, its chart, recover -----------------------------


def field_error(html: str, field: str) -> str | None:
    found = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', html)
    return found.group(1) if found else None


async def test_endpoint_form_edits_every_setting_the_api_has(
    hookpost: Hookpost, browser: httpx.AsyncClient, receiver: Receiver
) -> None:
    pid, _ = await hookpost.project()
    ep = await hookpost.endpoint(pid, receiver.url("/a"))
    page_url = f"/projects/{pid}/endpoints/{ep['id']}"
    api_url = f"/api/v1/projects/{pid}/endpoints/{ep['id']}"
    await sign_in(browser)
    form = (await browser.get(page_url + "/edit")).text
    for field in ("retry_schedule", "success_rule", "rate_limit", "max_concurrency", "ordering"):
        assert f'name="{field}"' in form, field
    good = {
        "csrf": csrf_of(form),
        "url": receiver.url("/a"),
        "description": "Orders",
        "retry_schedule": "30s, 5m 2h 1d 90",
        "success_rule": "200",
        "rate_limit": "2.5",
        "max_concurrency": "4",
        "ordering": "fifo",
        "max_attempts": "6",
        "timeout_seconds": "7.5",
        "filter": '{"amount": {"$gte": 100}}',
        "headers": "X-Team: billing",
    }
    r = await browser.post(page_url + "/edit", data=good)
    assert r.status_code == 303, field_error(r.text, "form") or r.text[:500]
    got = (await hookpost.http.get(api_url)).json()
    assert got["retry_schedule"] == [30, 300, 7200, 86400, 90]
    assert (got["success_rule"], got["rate_limit"], got["max_concurrency"]) == ("200", 2.5, 4)
    assert (got["ordering"], got["max_attempts"], got["timeout_seconds"]) == ("fifo", 6, 7.5)
    assert got["filter"] == {"amount": {"$gte": 100}}
    # The page shows them, and the edit form comes back filled with them.
    page = (await browser.get(page_url)).text
    assert "<code>30s 5m 2h 1d 90s</code>" in page and "2.5 requests/s" in page
    assert "in publish order (FIFO)" in page and "200 only" in page
    form = (await browser.get(page_url + "/edit")).text
    assert 'name="retry_schedule" value="30s 5m 2h 1d 90s"' in form
    assert '<option value="fifo" selected>' in form and '<option value="200" selected>' in form

    # Each bad value gets the API's own message next to its field, and nothing changes.
    bad = {
        "retry_schedule": ("5s 0 1h", [5, 0, 3600]),
        "rate_limit": ("0", 0),
        "max_concurrency": ("2000", 2000),
        "success_rule": ("3xx", "3xx"),
        "ordering": ("random", "random"),
    }
    for field, (typed, as_json) in bad.items():
        r = await browser.post(page_url + "/edit", data={**good, field: typed})
        assert r.status_code == 422, field
        shown = field_error(r.text, field)
        answer = await hookpost.http.patch(api_url, json={field: as_json})
        assert answer.status_code == 422
        (detail,) = answer.json()["detail"]
        assert shown is not None and detail["message"] in shown.replace("&#39;", "'"), (
            field,
            shown,
            detail,
        )
        assert (
            f'value="{typed}"' in r.text
            or f'value="{typed}" selected' in r.text
            or field
            in (
                "success_rule",
                "ordering",
            )
        )
    assert "item 2" in (
        field_error(
            (await browser.post(page_url + "/edit", data={**good, "retry_schedule": "5s 0"})).text,
            "retry_schedule",
        )
        or ""
    )
    r = await browser.post(page_url + "/edit", data={**good, "retry_schedule": "soon"})
    assert "'soon' is not a wait" in (field_error(r.text, "retry_schedule") or "").replace(
        "&#39;", "'"
    )
    assert (await hookpost.http.get(api_url)).json() == got
    # Emptied fields go back to the defaults.
    cleared = {**good, "retry_schedule": "", "success_rule": "", "rate_limit": ""}
    assert (await browser.post(page_url + "/edit", data=cleared)).status_code == 303
    got = (await hookpost.http.get(api_url)).json()
    assert (got["retry_schedule"], got["success_rule"], got["rate_limit"]) == (None, None, None)


async def test_endpoint_chart_and_recover_with_confirmation(
    hookpost: Hookpost, browser: httpx.AsyncClient, receiver: Receiver
) -> None:
    pid, _ = await hookpost.project()
    ep = await hookpost.endpoint(pid, receiver.on("/r", [500, 500, 200]), max_attempts=1)
    other = await hookpost.endpoint(pid, receiver.on("/o", [500]), max_attempts=1)
    for n in range(2):
        await hookpost.publish(pid, payload={"n": n})
    for d in await hookpost.deliveries(pid):
        await hookpost.wait_status(pid, d["id"], "failed")
    await hookpost.advance(3600)
    await hookpost.publish(pid, payload={"n": 2})
    await receiver.wait_for(6)
    page_url = f"/projects/{pid}/endpoints/{ep['id']}"
    await sign_in(browser)

    # Two hours with attempts: a 0% bar then a 100% one, with a latency dot for each.
    page = (await browser.get(page_url)).text
    chart = page[
        page.index('id="chart-rate"') : page.index("</svg>", page.index('id="chart-rate"'))
    ]
    assert chart.count('class="fail"') == 1 and chart.count('class="ok"') == 1
    assert "0% (0 of 2 attempts succeeded)" in chart and "100% (1 of 1 attempts" in chart
    assert page.count('<circle class="lat"') == 2
    assert "1 succeeded" in page and "2 failed" in page
    hour = (await browser.get(page_url, params={"range": "1h"})).text
    assert "100% (1 of 1 attempts" in hour and "0 of 2" not in hour  # the older hour is out

    # Recover: the first POST counts and asks; only the confirmation queues the job.
    token = csrf_of(page)
    since = datetime.fromtimestamp(hookpost.clock.now() - 7200, UTC).strftime("%Y-%m-%dT%H:%M")
    r = await browser.post(f"{page_url}/recover", data={"csrf": token, "since": since})
    assert r.status_code == 200
    assert "<strong>2 failed deliveries</strong>" in r.text and "Resend 2" in r.text
    assert (await hookpost.http.get(f"/api/v1/projects/{pid}/jobs")).json()["data"] == []
    r = await browser.post(
        f"{page_url}/recover", data={"csrf": token, "since": since, "confirm": "1"}
    )
    assert r.status_code == 303
    (job,) = (await hookpost.http.get(f"/api/v1/projects/{pid}/jobs")).json()["data"]
    assert job["total"] == 2 and job["params"]["endpoint_id"] == ep["id"]
    for d in await hookpost.deliveries(pid, endpoint_id=ep["id"]):
        await hookpost.wait_status(pid, d["id"], "succeeded")
    assert {d["status"] for d in await hookpost.deliveries(pid, endpoint_id=other["id"])} == {
        "failed"
    }
    r = await browser.post(f"{page_url}/recover", data={"csrf": token, "since": since})
    assert "nothing to resend" in r.text
    r = await browser.post(f"{page_url}/recover", data={"csrf": token, "since": "yesterday"})
    assert r.status_code == 422 and field_error(r.text, "since")
    assert (await browser.post(f"{page_url}/recover", data={"since": since})).status_code == 403


def test_series_chart_rates_latency_line_and_gaps() -> None:
    chart = charts.series_chart({10: (3, 1, 20.0), 11: (0, 2, 40.0), 13: (1, 0, 10.0)}, 13, 60, 5)
    rates = [p.rate for p in chart.points]
    assert rates == [None, 0.75, 0.0, None, 1.0]
    assert (chart.ok, chart.failed, chart.ms_axis_max) == (4, 3, 50)
    second = chart.points[1]
    assert second.rate_height == pytest.approx(charts.SERIES_HEIGHT * 0.75)
    assert second.ms_y == pytest.approx(charts.SERIES_HEIGHT * (1 - 20 / 50))
    # No attempts in minute 12: the latency line stops there instead of dropping to 0.
    assert len(chart.lines) == 2 and len(chart.lines[0].split()) == 2
    assert chart.points[0].ms_y is None and chart.points[0].mean_ms is None
    assert [t[1] for t in chart.ticks] == ["00:09", "00:11", "00:13"]


def test_relative_times_and_shortened_ids_and_urls() -> None:
    from hookpost.dashboard import html

    token = html._RENDER_NOW.set(1_000_000.0)
    try:
        assert html.ago(1_000_000 - 30) == "just now"
        assert html.ago(1_000_000 - 125) == "2 min ago"
        assert html.ago(1_000_000 - 3 * 3600) == "3 h ago"
        assert html.ago(1_000_000 + 2 * 86400) == "in 2 d"
        assert html.ago(1_000_000 - 40 * 86400) == "03 Dec 1969"
        assert html.ago("1970-01-12T13:16:40.000Z") == "30 min ago"
    finally:
        html._RENDER_NOW.reset(token)
    assert html.ago(0) == "1970-01-01 00:00:00 UTC"  # no page clock: the UTC time
    assert html.short_id("dlv_01JH2K3M4N5P6Q7R8S9T0VWXYZ") == "dlv_01JH…WXYZ"
    assert html.short_id("evt_browser_1") == "evt_browser_1"  # a publisher's short id
    assert html.short_url("https://example.com/hook") == "example.com/hook"
    long = "https://hooks.example.com/webhooks/v2/orders/created-and-updated"
    short = html.short_url(long)
    assert len(short) == 42 and short.startswith("hooks.example.com/") and short.endswith("updated")


# -- resending in bulk: count, confirm; selected rows ---------------------------------


async def test_bulk_resend_counts_and_asks_before_sending(
    hookpost: Hookpost, browser: httpx.AsyncClient, receiver: Receiver
) -> None:
    pid, _ = await hookpost.project()
    ep = await hookpost.endpoint(pid, receiver.on("/f", [500, 500, 500, 200]), max_attempts=1)
    for n in range(3):
        await hookpost.publish(pid, payload={"n": n})
    for d in await hookpost.deliveries(pid):
        await hookpost.wait_status(pid, d["id"], "failed")
    await sign_in(browser)
    page = await browser.get(f"/projects/{pid}/failed")
    token = csrf_of(page.text)
    since = datetime.fromtimestamp(hookpost.clock.now() - 600, UTC).strftime("%Y-%m-%dT%H:%M")
    form = {"csrf": token, "since": since, "endpoint_id": ""}
    r = await browser.post(f"/projects/{pid}/failed/resend", data=form)
    assert r.status_code == 200 and "<strong>3 failed deliveries</strong>" in r.text
    assert "Resend 3" in r.text
    assert (await hookpost.http.get(f"/api/v1/projects/{pid}/jobs")).json()["data"] == []
    r = await browser.post(
        f"/projects/{pid}/failed/resend", data={**form, "endpoint_id": "ep_not_mine"}
    )
    assert r.status_code == 404
    later = datetime.fromtimestamp(hookpost.clock.now() + 600, UTC).strftime("%Y-%m-%dT%H:%M")
    r = await browser.post(f"/projects/{pid}/failed/resend", data={**form, "since": later})
    assert "nothing to resend" in r.text and "Resend 0" not in r.text
    r = await browser.post(
        f"/projects/{pid}/failed/resend", data={**form, "endpoint_id": ep["id"], "confirm": "1"}
    )
    assert r.status_code == 303
    (job,) = (await hookpost.http.get(f"/api/v1/projects/{pid}/jobs")).json()["data"]
    assert job["total"] == 3


async def post_pairs(
    client: httpx.AsyncClient, url: str, pairs: list[tuple[str, str]]
) -> httpx.Response:
    """A form with repeated names (several ticked rows), as a browser sends it."""
    return await client.post(
        url,
        content=urlencode(pairs),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


async def test_selected_rows_are_resent_after_a_confirmation(
    hookpost: Hookpost, browser: httpx.AsyncClient, receiver: Receiver
) -> None:
    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, receiver.on("/s", [500, 500, 500, 200]), max_attempts=1)
    for n in range(3):
        await hookpost.publish(pid, payload={"n": n})
    for d in await hookpost.deliveries(pid):
        await hookpost.wait_status(pid, d["id"], "failed")
    other, _ = await hookpost.project()
    await hookpost.endpoint(other, receiver.url("/theirs"))
    await hookpost.publish(other)
    (theirs,) = await hookpost.deliveries(other)
    one, two, three = await hookpost.deliveries(pid)
    await sign_in(browser)
    page = await browser.get(f"/projects/{pid}/deliveries", params={"status": "failed"})
    assert page.text.count('class="select-row"') == 3
    assert 'form="resend-selected"' in page.text
    token = csrf_of(page.text)
    back = f"/projects/{pid}/deliveries?status=failed"
    url = f"/projects/{pid}/deliveries/resend"
    chosen = [one["id"], two["id"], theirs["id"]]
    data = [("csrf", token), ("back", back), *(("delivery_id", i) for i in chosen)]

    r = await post_pairs(browser, url, data)
    assert r.status_code == 200 and "<strong>3 deliveries</strong>" in r.text
    assert (await hookpost.delivery(pid, one["id"]))["attempt_count"] == 1  # nothing yet
    r = await post_pairs(browser, url, [*data, ("confirm", "1")])
    assert r.status_code == 303
    # Another project's delivery was left out and counted out.
    assert r.headers["location"] == back
    assert "done=resent_some&n=2" in r.headers["set-cookie"]
    for d in (one, two):
        await hookpost.wait_status(pid, d["id"], "succeeded")
    assert (await hookpost.delivery(pid, three["id"]))["status"] == "failed"
    assert (await hookpost.delivery(other, theirs["id"]))["attempt_count"] == 1
    shown = await browser.get(r.headers["location"])
    assert "2 selected deliveries queued; the others" in shown.text

    r = await browser.post(url, data={"csrf": token, "back": back})
    assert r.status_code == 422 and "Select at least one delivery" in r.text
    r = await post_pairs(
        browser, url, [("csrf", token), *(("delivery_id", f"dlv_{i}") for i in range(101))]
    )
    assert r.status_code == 422 and "at most 100" in r.text
    # The way back never leaves the project's pages.
    for evil in ("https://evil.example/x", "//evil.example/x", f"/projects/{other}/deliveries"):
        r = await browser.post(
            url, data={"csrf": token, "back": evil, "delivery_id": three["id"], "confirm": "1"}
        )
        assert r.headers["location"] == f"/projects/{pid}/deliveries", evil
    assert (await browser.post(url, data={"delivery_id": three["id"]})).status_code == 403
    view = await portal_url(hookpost, pid, scope="view")
    async with httpx.AsyncClient(timeout=30) as client:
        assert "select-row" not in (await client.get(view + "/deliveries")).text


# -- one-shot notices, bodies, favicon, portal links -------------------------------------


async def test_the_notice_after_an_action_is_shown_once(
    hookpost: Hookpost, browser: httpx.AsyncClient, receiver: Receiver
) -> None:
    pid, _ = await hookpost.project()
    ep = await hookpost.endpoint(pid, receiver.url("/n"))
    page_url = f"/projects/{pid}/endpoints/{ep['id']}"
    await sign_in(browser)
    token = csrf_of((await browser.get(page_url)).text)
    r = await browser.post(f"{page_url}/enabled", data={"csrf": token, "enabled": "0"})
    assert r.status_code == 303 and r.headers["location"] == page_url  # no notice in the URL
    shown = await browser.get(page_url)
    assert "Endpoint disabled." in shown.text
    assert 'hookpost_flash=""' in shown.headers["set-cookie"]  # cleared as it is shown
    again = await browser.get(page_url)  # a reload
    assert "Endpoint disabled." not in again.text
    # A code the server does not know says nothing, and ?n= is only ever a number.
    browser.cookies.set("hookpost_flash", "done=<b>hi</b>")
    assert "<b>hi</b>" not in (await browser.get(page_url)).text
    browser.cookies.set("hookpost_flash", "done=resent_selected&n=x")
    assert "selected deliveries" not in (await browser.get(page_url)).text

    # A portal framed by another site gets the notice in the URL (no cookie there).
    link = await portal_url(hookpost, pid, scope="manage")
    async with httpx.AsyncClient(timeout=30) as client:
        framed = {"Sec-Fetch-Dest": "iframe"}
        form = await client.get(f"{link}/endpoints/{ep['id']}", headers=framed)
        r = await client.post(
            f"{link}/endpoints/{ep['id']}/enabled",
            data={"csrf": csrf_of(form.text), "enabled": "1"},
            headers=framed,
        )
        assert r.status_code == 303 and r.headers["location"].endswith("?done=enabled")
        assert "set-cookie" not in r.headers
        shown = await client.get(hookpost.base_url + r.headers["location"])
        assert "Endpoint enabled." in shown.text


async def test_json_bodies_are_indented_with_the_bytes_one_click_away(
    hookpost: Hookpost, browser: httpx.AsyncClient, receiver: Receiver
) -> None:
    async def answer(request: Any, n: int) -> Any:
        from aiohttp import web

        if n == 0:
            return web.json_response({"ok": False, "errors": ["later"]}, status=500)
        return web.Response(text="{not json", status=200)

    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, receiver.on("/j", answer))
    await hookpost.publish(pid, payload={"b": 1, "a": [1, 2]}, event_id="evt_json")
    (d,) = await hookpost.deliveries(pid)
    # After its first attempt: a new delivery is pending before it, and advancing the
    # clock then would make the first attempt late and leave its retry never due.
    await hookpost.wait_status(pid, d["id"], "pending", attempts=1)
    await hookpost.advance(6.5)
    await hookpost.wait_status(pid, d["id"], "succeeded")
    await sign_in(browser)
    html = (await browser.get(f"/projects/{pid}/deliveries/{d['id']}")).text
    detail = await hookpost.delivery(pid, d["id"])
    sent = detail["attempts"][0]["request_body"]

    def pre(cls: str, attempt: int) -> str | None:
        start = html.index(f'id="attempt-{attempt}"')
        part = html[start : html.index("</article>", start)]
        found = re.search(rf'<pre class="body {cls}"[^>]*>([^<]*)</pre>', part)
        return None if found is None else found.group(1).replace("&#34;", '"')

    assert pre("request-body", 1) == json.dumps(json.loads(sent), indent=2)
    assert pre("request-body-raw", 1) == sent  # the exact bytes, as signed
    assert pre("response-body", 1) == '{\n  "ok": false,\n  "errors": [\n    "later"\n  ]\n}'
    assert pre("response-body", 2) == "{not json" and pre("response-body-raw", 2) is None


async def test_favicon(hookpost: Hookpost, browser: httpx.AsyncClient) -> None:
    r = await browser.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml"
    assert r.content.startswith(b"<svg")
    page = await browser.get("/login")
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page.text
    assert (await browser.get("/static/favicon.svg")).content == r.content


async def test_portal_link_is_shown_at_once_with_its_scope_and_expiry(
    hookpost: Hookpost, browser: httpx.AsyncClient
) -> None:
    pid, _ = await hookpost.project()
    await sign_in(browser)
    token = csrf_of((await browser.get(f"/projects/{pid}")).text)
    r = await browser.post(
        f"/projects/{pid}/portal-link",
        data={"csrf": token, "scope": "manage", "expires_in": "86400"},
    )
    assert r.status_code == 200
    made = r.text[r.text.index('id="portal-made"') :]
    url = re.search(r'<pre id="portal-url" class="wrap">([^<]+)</pre>', made)
    assert url and url.group(1).startswith(f"{hookpost.base_url}/portal/")
    assert "Manage: the customer can add and edit endpoints" in made
    expires = datetime.fromtimestamp(hookpost.clock.now() + 86400, UTC)
    assert expires.strftime("%Y-%m-%d %H:%M") in made and "(in 1 d)" in made
    # The form keeps the choice for the next link; the form posts back to this panel.
    assert '<option value="manage" selected>' in r.text
    assert '<option value="86400" selected>' in r.text
    assert f'action="/projects/{pid}/portal-link#portal"' in r.text
    async with httpx.AsyncClient(timeout=30) as client:
        portal = await client.get(url.group(1).replace("&amp;", "&"))
        assert portal.status_code == 200 and ">Manage<" in portal.text.replace(" · ", "<")
    r = await browser.post(f"/projects/{pid}/portal-link", data={"csrf": token, "scope": "admin"})
    assert r.status_code == 422 and 'id="scope-error"' in r.text


# -- the portal speaks to customers -----------------------------------------------------


async def test_portal_speaks_to_customers_without_internal_words(
    hookpost: Hookpost, browser: httpx.AsyncClient, receiver: Receiver
) -> None:
    from sqlalchemy import update

    from hookpost.store.models import endpoints

    pid, _ = await hookpost.project()
    paused = await hookpost.endpoint(pid, receiver.on("/p", [500]), description="Paused one")
    failing = await hookpost.endpoint(pid, receiver.on("/f", [500]), description="Failing one")
    await hookpost.publish(pid)
    for d in await hookpost.deliveries(pid):
        await hookpost.wait_status(pid, d["id"], "pending", attempts=1)
    # The breaker has opened for one endpoint (as after repeated failures), for 10 minutes.
    reopen = time.time() + 600
    async with hookpost.store.writer.begin() as conn:
        await conn.execute(
            update(endpoints)
            .where(endpoints.c.id == paused["id"])
            .values(circuit_open_until=reopen)
        )
    at = datetime.fromtimestamp(reopen, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    link = await portal_url(hookpost, pid, scope="manage")
    async with httpx.AsyncClient(timeout=30) as client:
        pages = {
            path: (await client.get(link + path)).text
            for path in (
                "",
                "/endpoints",
                f"/endpoints/{paused['id']}",
                f"/endpoints/{failing['id']}",
                "/event-types",
                "/events",
                "/deliveries",
                "/failed",
            )
        }
    for path, html in pages.items():
        words = html.lower()
        assert "circuit" not in words and "half-open" not in words, path
        assert pid not in html and "proj_" not in html, path  # no project ids
        assert "worker" not in words, path
    listed = pages["/endpoints"]
    assert "Paused after repeated failures, retrying at <time" in listed and at in listed
    assert "(in 10 min)" in pages[f"/endpoints/{paused['id']}"]
    assert "The last attempt failed, failing since" in pages[f"/endpoints/{failing['id']}"]
    assert "No event types are listed yet." in pages["/event-types"]
    # The operator sees the same words, and the breaker's own term beside them.
    await sign_in(browser)
    page = (await browser.get(f"/projects/{pid}/endpoints/{paused['id']}")).text
    assert "Paused after repeated failures" in page and "(circuit open" in page
    assert pid in (await browser.get(f"/projects/{pid}")).text


async def test_odd_input_on_the_new_pages_gets_a_message_never_a_500(
    hookpost: Hookpost, browser: httpx.AsyncClient, receiver: Receiver
) -> None:
    pid, _ = await hookpost.project()
    ep = await hookpost.endpoint(pid, receiver.url("/o"))
    page_url = f"/projects/{pid}/endpoints/{ep['id']}"
    await sign_in(browser)
    token = csrf_of((await browser.get(page_url)).text)
    r = await browser.get(f"/projects/{pid}/search", params={"q": "a\x00b"})
    assert r.status_code == 400  # NUL is refused for every request, before any page
    for q in ("x" * 5000, "../../admin", "ep_\u00e9", "%00"):
        r = await browser.get(f"/projects/{pid}/search", params={"q": q})
        assert r.status_code == 404 and "No event, delivery or endpoint" in r.text, q
    for path in ("/events/%E2%80%AE", f"/events/{'x' * 3000}"):
        assert (await browser.get(f"/projects/{pid}{path}")).status_code == 404, path
    r = await browser.get(page_url, params={"range": "1y"})
    assert r.status_code == 200 and "last 24 hours" in r.text
    r = await post_pairs(
        browser,
        f"/projects/{pid}/deliveries/resend",
        [("csrf", token), ("delivery_id", "a\x00b"), ("delivery_id", "dlv_x"), ("confirm", "1")],
    )
    assert r.status_code == 303 and "done=resent_some&n=0" in r.headers["set-cookie"]
    for field, value in (
        ("rate_limit", "nan"),
        ("timeout_seconds", "inf"),
        ("max_concurrency", "1e3"),
        ("retry_schedule", "9" * 400),
        ("retry_schedule", "5s\x00"),
    ):
        r = await browser.post(
            f"{page_url}/edit", data={"csrf": token, "url": ep["url"], field: value}
        )
        assert r.status_code == 422 and f'id="{field}-error"' in r.text, (field, r.text[:300])
    r = await browser.post(
        f"{page_url}/recover", data={"csrf": token, "since": "99999-01-01T00:00"}
    )
    assert r.status_code == 422 and 'id="since-error"' in r.text
