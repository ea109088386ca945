"""The API docs pages work offline: Swagger UI at /docs and ReDoc at /redoc.

Both pages load their scripts and styles from hookpost itself (files shipped
in the ``fastapi-offline`` wheel), never from a CDN. The HTTP test reads every
``src``/``href`` of each page, checks none names a host, and fetches each one;
the browser test opens both pages in headless Chromium with every request to
anything but this server aborted, and checks the operations are drawn.
"""

from __future__ import annotations

import os
import re
import shutil
from urllib.parse import urlsplit

import pytest

from tests.conftest import Hookpost

CHROMIUM = "/usr/bin/chromium"
_LINK = re.compile(r"""(?:src|href|url|spec-url)\s*[:=]\s*["']([^"']+)["']""")


@pytest.mark.parametrize(
    ("page", "assets"),
    [
        ("/docs", {"/docs/static/swagger-ui-bundle.js", "/docs/static/swagger-ui.css"}),
        ("/redoc", {"/docs/static/redoc.standalone.js"}),
    ],
)
async def test_docs_pages_reference_no_other_host(
    sqlite_api: Hookpost, page: str, assets: set[str]
) -> None:
    r = await sqlite_api.http.get(page)
    assert r.status_code == 200
    assert "text/html" in r.headers["content-type"]
    # The browser itself is told to fetch nothing from another origin.
    assert "default-src 'self'" in r.headers["content-security-policy"]
    html = r.text
    links = set(_LINK.findall(html))
    assert assets <= links, links
    assert "/openapi.json" in links
    for link in links:
        parts = urlsplit(link)
        assert not parts.scheme and not parts.netloc, f"{page} loads {link} from another host"
    # No absolute URL anywhere in the page (a font, a preconnect, a validator).
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", html), html
    assert "fonts.googleapis" not in html and "cdn" not in html.lower()
    for asset in assets | {"/docs/static/favicon.png"}:
        got = await sqlite_api.http.get(asset)
        assert got.status_code == 200, asset
        assert len(got.content) > 1000, asset
        kind = got.headers["content-type"]
        if asset.endswith(".js"):
            assert "javascript" in kind
        elif asset.endswith(".css"):
            assert kind.startswith("text/css")
    spec = await sqlite_api.http.get("/openapi.json")
    assert spec.status_code == 200 and spec.json()["info"]["title"] == "hookpost"


@pytest.mark.browser
async def test_docs_pages_render_with_no_network(sqlite_api: Hookpost) -> None:
    """In a browser that can reach nothing but hookpost, both pages draw the API."""
    playwright = pytest.importorskip("playwright.async_api")
    chromium = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    if not chromium:
        pytest.skip("no Chromium (apt-get install chromium; .ci/run does it)")
    base = sqlite_api.base_url
    elsewhere: list[str] = []

    async def only_hookpost(route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if url.startswith(base + "/") or url.startswith("data:"):
            await route.continue_()  # type: ignore[attr-defined]
        else:
            elsewhere.append(url)
            await route.abort()  # type: ignore[attr-defined]

    async with playwright.async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=chromium,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
        )
        try:
            page = await browser.new_page()
            await page.route("**/*", only_hookpost)
            await page.goto(base + "/docs")
            swagger = page.locator(".opblock-summary-path", has_text="/api/v1/projects").first
            await playwright.expect(swagger).to_be_visible(timeout=20_000)
            await page.goto(base + "/redoc")
            title = page.get_by_role("heading", name="hookpost").first
            await playwright.expect(title).to_be_visible(timeout=20_000)
            await playwright.expect(page.get_by_text("/api/v1/projects").first).to_be_attached()
            # The credit link's logo would come from a CDN: hidden, not a broken image.
            await playwright.expect(page.locator('a[href*="redocly.com"]')).to_be_hidden()
        finally:
            await browser.close()
    assert elsewhere == []
