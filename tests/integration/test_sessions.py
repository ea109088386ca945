"""Dashboard sessions end when they should, and forwarded addresses are believed only from proxies.

A captured session cookie (with the CSRF token its pages carry) is tried
after each way a session ends -- sign-out, a new admin token, too long idle,
too long since sign-in -- against each kind of request: a page, a form POST
with its CSRF token, and the most valuable action, making a 7-day ``manage``
portal link. Every one must get the sign-in page and change nothing.

The lockout half runs a real ``hookpost serve``: from 127.0.0.1, an
``X-Forwarded-For`` header must not move the address that wrong tokens are
counted against unless ``HOOKPOST_FORWARDED_ALLOW_IPS`` lists the peer.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from hookpost.config import ConfigError, Settings
from hookpost.core.clock import ManualClock
from hookpost.store.models import dashboard_sessions
from hookpost.web.ratelimit import AUTH_FAILURE_BURST
from tests.conftest import ADMIN, Hookpost, Receiver, free_port, start_hookpost
from tests.helpers.cli import cli_env, spawn, wait_port

IDLE = 600.0
MAX = 3600.0
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
async def hp(db_url: str, clock: ManualClock) -> AsyncIterator[Hookpost]:
    async for h in start_hookpost(
        db_url, clock, workers=False, session_idle_seconds=IDLE, session_max_seconds=MAX
    ):
        yield h


@dataclass
class Captured:
    """What an attacker copied from a signed-in browser: the cookie and a form's CSRF token."""

    cookie: str
    csrf: str
    project_id: str
    receiver_url: str
    signed_in_at: float

    def client(self, hp: Hookpost) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=hp.base_url, cookies={"hookpost_session": self.cookie}, timeout=30
        )


async def capture(hp: Hookpost, browser: httpx.AsyncClient, receiver: Receiver) -> Captured:
    pid, _ = await hp.project()
    r = await browser.post("/login", data={"token": ADMIN, "next": "/"})
    assert r.status_code == 303, r.text
    page = await browser.get(f"/projects/{pid}")
    assert page.status_code == 200, page.text
    found = CSRF_RE.search(page.text)
    assert found
    cookie = browser.cookies["hookpost_session"]
    return Captured(cookie, found.group(1), pid, receiver.url(), hp.clock.now())


# -- how a session ends ------------------------------------------------------------


async def sign_out(hp: Hookpost, browser: httpx.AsyncClient, c: Captured) -> None:
    r = await browser.post("/logout", data={"csrf": c.csrf})
    assert r.status_code == 303 and r.headers["location"] == "/login"


async def rotate_admin_token(hp: Hookpost, browser: httpx.AsyncClient, c: Captured) -> None:
    # What a restart with another HOOKPOST_ADMIN_TOKEN (or .hookpost/admin_token)
    # looks like to a request; the signing key stays, as with HOOKPOST_DASHBOARD_KEY.
    hp.app.state.settings = hp.settings.with_(admin_token="a-brand-new-admin-token")
    r = await browser.post("/login", data={"token": "a-brand-new-admin-token"})
    assert r.status_code == 303  # the new token works, and sweeps the old sessions


async def go_idle(hp: Hookpost, browser: httpx.AsyncClient, c: Captured) -> None:
    hp.clock.advance(IDLE + 1)


async def outlive_max(hp: Hookpost, browser: httpx.AsyncClient, c: Captured) -> None:
    # Busy all along -- a page every IDLE / 2 -- until the absolute lifetime is over.
    async with c.client(hp) as client:
        while hp.clock.now() + IDLE / 2 < c.signed_in_at + MAX:
            hp.clock.advance(IDLE / 2)
            assert (await client.get(f"/projects/{c.project_id}")).status_code == 200
    hp.clock.advance(IDLE / 2)


Ender = Callable[[Hookpost, httpx.AsyncClient, Captured], Awaitable[None]]
ENDERS: dict[str, Ender] = {
    "sign-out": sign_out,
    "admin-token-rotated": rotate_admin_token,
    "idle": go_idle,
    "absolute": outlive_max,
}


# -- what the captured cookie then tries ------------------------------------------


async def open_page(client: httpx.AsyncClient, c: Captured) -> httpx.Response:
    return await client.get(f"/projects/{c.project_id}/endpoints")


async def post_form(client: httpx.AsyncClient, c: Captured) -> httpx.Response:
    data = {"csrf": c.csrf, "url": c.receiver_url, "profile": "standard", "enabled": "1"}
    return await client.post(f"/projects/{c.project_id}/endpoints/new", data=data)


async def make_portal_link(client: httpx.AsyncClient, c: Captured) -> httpx.Response:
    data = {"csrf": c.csrf, "scope": "manage", "expires_in": str(7 * 86400)}
    return await client.post(f"/projects/{c.project_id}/portal-link", data=data)


Action = Callable[[httpx.AsyncClient, Captured], Awaitable[httpx.Response]]
ACTIONS: dict[str, Action] = {
    "page": open_page,
    "form-post": post_form,
    "portal-link": make_portal_link,
}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("ender", ENDERS)
async def test_an_ended_session_gets_the_sign_in_page(
    hp: Hookpost, receiver: Receiver, ender: str, action: str
) -> None:
    async with httpx.AsyncClient(base_url=hp.base_url, timeout=30) as browser:
        c = await capture(hp, browser, receiver)
        async with c.client(hp) as attacker:
            before = await ACTIONS[action](attacker, c)
            assert before.status_code in (200, 303), before.text
            assert "/login" not in before.headers.get("location", "")
            endpoints_before = await endpoint_count(hp, c.project_id)

            await ENDERS[ender](hp, browser, c)

            r = await ACTIONS[action](attacker, c)
        assert r.status_code == 303, (r.status_code, r.text[:300])
        assert r.headers["location"].startswith("/login?next=")
        assert "/portal/" not in r.text
        assert await endpoint_count(hp, c.project_id) == endpoints_before
        # The poller's fragment answers 401 rather than a redirect.
        async with c.client(hp) as attacker:
            live = await attacker.get(f"/projects/{c.project_id}?fragment=live")
        assert live.status_code == 401


async def endpoint_count(hp: Hookpost, project_id: str) -> int:
    # hp.http holds the admin token; after a rotation that is the new one.
    token = hp.app.state.settings.admin_token
    r = await hp.http.get(
        f"/api/v1/projects/{project_id}/endpoints", headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200, r.text
    return len(r.json()["data"])


async def session_rows(hp: Hookpost) -> int:
    async with hp.store.reader.connect() as conn:
        count = select(func.count()).select_from(dashboard_sessions)
        return int((await conn.execute(count)).scalar_one())


async def test_activity_keeps_a_session_until_its_absolute_end_and_rows_are_swept(
    hp: Hookpost, receiver: Receiver
) -> None:
    async with httpx.AsyncClient(base_url=hp.base_url, timeout=30) as browser:
        c = await capture(hp, browser, receiver)
        # Pages opened within the idle time keep it on (well past one idle period)...
        for _ in range(3):
            hp.clock.advance(IDLE * 0.9)
            assert (await browser.get("/")).status_code == 200
        # ...but the live poller alone does not.
        hp.clock.advance(IDLE * 0.9)
        assert (await browser.get(f"/projects/{c.project_id}?fragment=live")).status_code == 200
        hp.clock.advance(IDLE * 0.2)
        assert (await browser.get("/")).status_code == 303
        assert await session_rows(hp) == 0  # the ended session's row went with it

        # A cookie is only a copy: two sign-ins are two sessions; one sign-out ends one.
        async with httpx.AsyncClient(base_url=hp.base_url, timeout=30) as other:
            await capture(hp, other, receiver)
            c2 = await capture(hp, browser, receiver)
            assert await session_rows(hp) == 2
            await sign_out(hp, browser, c2)
            assert (await other.get("/")).status_code == 200
            assert (await browser.get("/")).status_code == 303
            assert await session_rows(hp) == 1


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("session_idle_seconds", 0),
        ("session_idle_seconds", -5),
        ("session_max_seconds", 0),
        ("session_max_seconds", 10.0**12),
        ("forwarded_allow_ips", "not-an-ip"),
        ("forwarded_allow_ips", "127.0.0.1, localhost"),
        ("forwarded_allow_ips", "10.0.0.0/33"),
    ],
)
def test_bad_session_and_proxy_settings_are_refused(
    name: str, value: object, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(f"HOOKPOST_{name.upper()}", str(value))
    with pytest.raises(ConfigError, match=name):
        Settings.load()


# -- forwarded headers and the wrong-token lockout ----------------------------------------


@pytest.mark.parametrize(
    ("allow", "believed"),
    [
        (None, False),  # the default: nobody
        ("10.0.0.0/8", False),  # a proxy elsewhere, not this peer
        ("127.0.0.1", True),
        ("127.0.0.0/8, ::1", True),
        ("*", True),
    ],
)
async def test_forwarded_for_moves_the_lockout_address_only_from_listed_peers(
    tmp_path: Path, sqlite_url: str, allow: str | None, believed: bool
) -> None:
    url = sqlite_url
    port = free_port()
    extra = {"HOOKPOST_DATABASE_URL": url, "HOOKPOST_ADMIN_TOKEN": ADMIN}
    if allow is not None:
        extra["HOOKPOST_FORWARDED_ALLOW_IPS"] = allow
    # uvicorn's own variable must not decide for hookpost either way.
    env = cli_env(FORWARDED_ALLOW_IPS="*" if allow is None else "", **extra)
    async with spawn("serve", "--no-workers", "--port", str(port), env=env, cwd=tmp_path):
        await wait_port(port, timeout=20)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:

            async def wrong(forwarded_for: str) -> int:
                r = await c.get(
                    "/api/v1/projects",
                    headers={"Authorization": "Bearer wrong", "X-Forwarded-For": forwarded_for},
                )
                return r.status_code

            codes = [await wrong(f"203.0.113.{i}") for i in range(AUTH_FAILURE_BURST + 2)]
            if believed:
                assert set(codes) == {401}, codes  # each "address" made one mistake
                same = [await wrong("198.51.100.7") for _ in range(AUTH_FAILURE_BURST + 1)]
                assert same[-1] == 429, same
            else:
                assert codes[AUTH_FAILURE_BURST:] == [429, 429], codes
            # The admin token is still refused from a locked-out address, whatever it claims.
            r = await c.get(
                "/api/v1/projects",
                headers={"Authorization": f"Bearer {ADMIN}", "X-Forwarded-For": "192.0.2.99"},
            )
            assert r.status_code == (200 if believed else 429), r.text


# -- the Secure flag behind a TLS-ending proxy ---------------------------------------------


@pytest.mark.parametrize(
    ("public_url", "secure"),
    [
        (None, False),  # plain http on loopback, no public URL: a Secure cookie would be dropped
        ("http://hooks.example.test", False),
        ("https://hooks.example.test", True),  # TLS ends at the proxy; the request looks http
        ("HTTPS://hooks.example.test/base", True),
    ],
)
async def test_cookies_are_secure_when_the_public_url_is_https(
    db_url: str, clock: ManualClock, public_url: str | None, secure: bool
) -> None:
    extra = {} if public_url is None else {"public_url": public_url}
    async for hp in start_hookpost(db_url, clock, workers=False, **extra):
        async with httpx.AsyncClient(base_url=hp.base_url, timeout=30) as browser:
            r = await browser.post("/login", data={"token": ADMIN, "next": "/"})
            assert r.status_code == 303, r.text
            session = [c for c in r.headers.get_list("set-cookie") if "hookpost_session=" in c]
            assert len(session) == 1, r.headers
            assert ("; secure" in session[0].lower()) is secure, session[0]
            assert "httponly" in session[0].lower()
