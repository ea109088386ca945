"""The dashboard in a real browser (Debian's Chromium, headless): what every browser test shares.

A test module imports what it uses, fixtures included
(``from tests.helpers.browser import api, chromium, db_url  # noqa: F401``):
``chromium`` launches the browser, ``db_url`` overrides the suite's
both-backends fixture with SQLite only (the browser tests are about pages; the
store is tested elsewhere). Importing this module skips the importing test
module, saying why, when playwright or Chromium is missing.

With ``HOOKPOST_SCREENSHOTS=1``, :func:`shot` writes the screenshots shown in
the README to ``docs/screenshots/``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ADMIN, Hookpost

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
#: Long enough for a 2 s poll plus a delivery on a busy CI machine.
LIVE_TIMEOUT_MS = 10_000

try:
    from playwright.async_api import Browser, Page, async_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    pytest.skip("playwright is not installed (pip install -e '.[dev]')", allow_module_level=True)

if not (os.access(CHROMIUM, os.X_OK) or shutil.which("chromium")):
    pytest.skip(
        f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does it)",
        allow_module_level=True,
    )


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: the browser tests are about pages, and the store is tested elsewhere."""
    return sqlite_url


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium"),
            args=CHROMIUM_ARGS,
        )
        yield browser
        await browser.close()


async def shot(page: Page, name: str, *, full_page: bool = True) -> None:
    if os.environ.get("HOOKPOST_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


async def no_horizontal_scroll(page: Page) -> None:
    """Readable at phone width: nothing makes the page wider than the screen."""
    widths = await page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"page is {widths[0]}px wide in a {widths[1]}px window"


async def nav(page: Page, name: str) -> None:
    """Follow a link of the project navigation."""
    await page.get_by_role("navigation", name="Project").get_by_role("link", name=name).click()


async def sign_in_with_token(page: Page) -> None:
    """On the sign-in page: open the break-glass form and sign in with the admin token."""
    await page.get_by_text("Sign in with the admin token").click()
    await page.get_by_label("Admin token").fill(ADMIN)
    await page.keyboard.press("Enter")


async def api(hp: Hookpost, method: str, path: str, **body: Any) -> Any:
    """One API call as the admin; the answer's JSON (the call must succeed)."""
    r = await hp.http.request(method, f"/api/v1{path}", json=body or None)
    assert r.status_code < 300, r.text
    return r.json()
