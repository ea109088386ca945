"""Links hookpost hands out: ``HOOKPOST_PUBLIC_URL`` when set, proxy headers only when told.

Each case runs a real ``hookpost serve`` (uvicorn configured as in production:
the in-process test server would trust 127.0.0.1's ``X-Forwarded-*`` by
uvicorn's own default) and asks for a portal link with a forged ``Host`` and
forged proxy headers. The link's path is then opened on the server, so the
link is not only well-formed but works.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from hookpost.config import ConfigError, Settings
from hookpost.store.migrate import upgrade
from tests.serveproc import Server

FORGED = {
    "Host": "evil.example",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-For": "203.0.113.9",
}


async def _portal_link(tmp_path: Path, **env: str) -> str:
    url = f"sqlite:///{tmp_path}/links.db"
    await asyncio.to_thread(upgrade, url)
    server = Server(url, tmp_path, "serve", "--no-workers", env=env)
    await server.start()
    try:
        async with server.client() as http:
            r = await http.post("/api/v1/projects", json={"name": "links"})
            assert r.status_code == 201, r.text
            pid = r.json()["id"]
            r = await http.post(f"/api/v1/projects/{pid}/portal-link", json={}, headers=FORGED)
            assert r.status_code == 200, r.text
            link = str(r.json()["url"])
            # The link's path opens the portal on this server.
            prefix = env.get("HOOKPOST_PUBLIC_URL", "")
            path = urlsplit(link).path.removeprefix(urlsplit(prefix).path)
            page = await http.get(path, headers={"Accept": "text/html"})
            assert page.status_code == 200, (link, page.text[:300])
        return link
    finally:
        server.stop()


async def test_public_url_is_the_base_of_portal_links(tmp_path: Path) -> None:
    link = await _portal_link(tmp_path, HOOKPOST_PUBLIC_URL="https://hooks.example.com/hp/")
    assert link.startswith("https://hooks.example.com/hp/portal/"), link
    assert "evil" not in link


async def test_proxy_headers_are_ignored_unless_the_proxy_is_listed(tmp_path: Path) -> None:
    link = await _portal_link(tmp_path)
    # Not believed: the scheme stays http. (Without a public URL the host is the
    # one the request named: the caller holds a key and gets its own link back.)
    assert link.startswith("http://evil.example/portal/"), link


async def test_proxy_headers_are_believed_from_a_listed_proxy(tmp_path: Path) -> None:
    link = await _portal_link(tmp_path, HOOKPOST_FORWARDED_ALLOW_IPS="127.0.0.1")
    assert link.startswith("https://"), link


@pytest.mark.parametrize(
    "bad", ["hooks.example.com", "ftp://hooks.example.com", "https://", "https://h.example/?a=1"]
)
def test_public_url_must_be_an_http_base(bad: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKPOST_PUBLIC_URL", bad)
    with pytest.raises(ConfigError, match="public_url"):
        Settings.load()


async def test_dashboard_forms_from_the_public_address_pass_the_origin_check(
    tmp_path: Path,
) -> None:
    """Behind a proxy that rewrites Host, the browser's Origin is the public address."""
    url = f"sqlite:///{tmp_path}/links.db"
    await asyncio.to_thread(upgrade, url)
    server = Server(
        url,
        tmp_path,
        "serve",
        "--no-workers",
        env={"HOOKPOST_PUBLIC_URL": "https://hooks.example.com"},
    )
    await server.start()
    try:
        async with server.client() as http:
            form = {"token": "not the token"}
            for origin, refused in (
                ("https://hooks.example.com", False),
                (server.base, False),
                ("https://evil.example", True),
            ):
                r = await http.post("/login", data=form, headers={"Origin": origin})
                assert (r.status_code == 403) is refused, (origin, r.status_code)
                if not refused:  # past the origin check: the wrong token is what is refused
                    assert "not the admin token" in r.text, r.text[:300]
    finally:
        server.stop()
