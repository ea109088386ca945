"""The audit page in a real browser (Debian's Chromium, headless): a resend shows up in it.

The signed-in admin resends a delivery from its page, follows **Audit log**
in the header and finds the entry -- who (the dashboard's admin, from
127.0.0.1), what (``delivery.resend``) and the delivery, linked -- along with
the refused sign-in before it; the action filter narrows the table to it,
the export link carries the filter, no secret is on the page, and the page
fits a phone's width. SQLite only, like the other browser tests.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import ADMIN, Hookpost, Receiver
from tests.helpers.browser import api, chromium, db_url, no_horizontal_scroll, shot

try:
    from playwright.async_api import Browser, expect
except ImportError:  # pragma: no cover - the dashboard browser module skips first
    pytest.skip("playwright is not installed", allow_module_level=True)

__all__ = ["chromium", "db_url"]  # the fixtures, imported for pytest


async def test_a_resend_shows_on_the_audit_page(
    hookpost: Hookpost, receiver: Receiver, chromium: Browser
) -> None:
    pid = (await api(hookpost, "POST", "/projects", name="Acme payments"))["id"]
    hook = receiver.on("/hook", [200])
    endpoint = await api(
        hookpost, "POST", f"/projects/{pid}/endpoints", url=hook, headers={"X-Api-Key": "k-77f1"}
    )
    await api(hookpost, "POST", f"/projects/{pid}/events", event_type="user.created", payload={})
    (delivery,) = (await api(hookpost, "GET", f"/projects/{pid}/deliveries"))["data"]
    await hookpost.wait_status(pid, delivery["id"], "succeeded")

    context = await chromium.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    base = hookpost.base_url
    await page.goto(base + "/")
    await page.get_by_text("Sign in with the admin token").click()  # the break-glass form
    await page.get_by_label("Admin token").fill("not the token")
    await page.keyboard.press("Enter")
    await expect(page.locator("#token-error")).to_be_visible()
    await page.get_by_label("Admin token").fill(ADMIN)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Projects")).to_be_visible()

    await page.goto(f"{base}/projects/{pid}/deliveries/{delivery['id']}")
    await page.get_by_role("button", name="Resend").click()
    await expect(page.get_by_role("status")).to_contain_text("Resend queued")

    await page.get_by_role("link", name="Audit log").click()
    await expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    table = page.locator("table#audit")
    resent = table.locator("tbody tr", has_text="delivery.resend")
    await expect(resent).to_have_count(1)
    await expect(resent).to_contain_text("admin token (dashboard)")
    await expect(resent).to_contain_text("127.0.0.1")
    await expect(resent.get_by_role("link")).to_have_attribute(
        "href", f"/projects/{pid}/deliveries/{delivery['id']}"
    )
    await expect(table.locator("tbody tr", has_text="session.sign_in_failed")).to_have_count(1)
    html = await page.content()
    assert "k-77f1" not in html and ADMIN not in html
    await shot(page, "audit-log")

    await page.get_by_label("Action").select_option("delivery.resend")
    await page.get_by_role("button", name="Filter").click()
    await expect(table.locator("tbody tr")).to_have_count(1)
    export = page.get_by_role("link", name="Export these entries as JSON lines")
    assert "action=delivery.resend" in (await export.get_attribute("href") or "")
    r = await context.request.get(base + (await export.get_attribute("href") or ""))
    assert r.status == 200
    (line,) = (await r.text()).splitlines()
    assert json.loads(line)["object"] == {"type": "delivery", "id": delivery["id"]}
    assert endpoint["id"] not in line

    await page.set_viewport_size({"width": 375, "height": 740})
    await no_horizontal_scroll(page)
    await context.close()
