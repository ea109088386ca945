"""Operator accounts in a real browser (Debian's Chromium, headless).

An owner invites an operator on the Operators page; the operator opens the
one-time link, sets a password, signs in, resends a delivery -- and cannot
reveal the endpoint's secret: the button is not there, and a form posted to
it anyway gets a 403 page naming the permission. The owner then finds the
resend in the audit log, under the operator's email.
"""

from __future__ import annotations

import pytest

from hookpost.core import passwords
from tests.conftest import Hookpost, Receiver
from tests.helpers.browser import api, chromium, db_url

try:
    from playwright.async_api import Browser, Page, expect
except ImportError:  # pragma: no cover - the dev extra installs it
    pytest.skip("playwright is not installed (pip install -e '.[dev]')", allow_module_level=True)

__all__ = ["chromium", "db_url"]  # the fixtures, imported for pytest

OWNER_PASSWORD = "owner passphrase of some length"
OPS_PASSWORD = "support team passphrase"


async def sign_in(page: Page, base: str, email: str, password: str) -> None:
    await page.goto(base + "/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password", exact=True).fill(password)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_role("heading", name="Projects")).to_be_visible()


async def test_an_owner_invites_an_operator_who_resends_but_cannot_reveal(
    hookpost: Hookpost,
    receiver: Receiver,
    chromium: Browser,
) -> None:
    _owner, link = await hookpost.store.create_operator("owner@example.com", "owner")
    await hookpost.store.use_setup_token(link, passwords.hash_password(OWNER_PASSWORD))
    pid = (await api(hookpost, "POST", "/projects", name="Acme payments"))["id"]
    ep = await api(hookpost, "POST", f"/projects/{pid}/endpoints", url=receiver.on("/h", [200]))
    event = await api(hookpost, "POST", f"/projects/{pid}/events", event_type="a.b", payload={})
    (delivery,) = await hookpost.deliveries(pid, event_id=event["id"])
    await hookpost.wait_status(pid, delivery["id"], "succeeded", attempts=1)
    base = hookpost.base_url

    # The owner invites a support operator.
    owner_ctx = await chromium.new_context(viewport={"width": 1280, "height": 800})
    page = await owner_ctx.new_page()
    await sign_in(page, base, "owner@example.com", OWNER_PASSWORD)
    await page.get_by_role("link", name="Operators").click()
    await page.get_by_label("Email").fill("support@example.com")
    await page.get_by_label("Role", exact=True).select_option("operator")
    await page.get_by_role("button", name="Invite").click()
    invite = (await page.locator("#setup-link").inner_text()).strip()
    assert invite.startswith(base + "/set-password/hps_"), invite
    await expect(page.locator('tr[data-operator="support@example.com"]')).to_contain_text("invited")

    # The operator sets a password from the link and signs in.
    ops_ctx = await chromium.new_context(viewport={"width": 1280, "height": 800})
    ops = await ops_ctx.new_page()
    await ops.goto(invite)
    await expect(ops.locator("#setup-email")).to_have_text("support@example.com")
    await ops.get_by_label("New password").fill(OPS_PASSWORD)
    await ops.get_by_label("The same again").fill(OPS_PASSWORD)
    await ops.get_by_role("button", name="Set password").click()
    await expect(ops.get_by_role("status")).to_contain_text("Password set")
    await sign_in(ops, base, "support@example.com", OPS_PASSWORD)
    await expect(ops.locator("#signed-in-as")).to_contain_text("support@example.com · operator")
    await expect(ops.get_by_role("link", name="Operators")).to_have_count(0)

    # It resends the delivery.
    await ops.goto(f"{base}/projects/{pid}/deliveries/{delivery['id']}")
    await ops.get_by_role("button", name="Resend").click()
    await expect(ops.get_by_role("status")).to_contain_text("Resend queued")
    await hookpost.wait_status(pid, delivery["id"], "succeeded", attempts=2)

    # It cannot reveal the endpoint's secret: no button, and a forged form is refused.
    await ops.goto(f"{base}/projects/{pid}/endpoints/{ep['id']}")
    await expect(ops.get_by_role("heading", name="Actions")).to_be_visible()
    await expect(ops.get_by_role("button", name="Reveal secret")).to_have_count(0)
    await expect(ops.get_by_role("button", name="Rotate secret")).to_have_count(0)
    csrf = await ops.locator('input[name="csrf"]').first.get_attribute("value")
    await ops.evaluate(
        """([action, csrf]) => {
            const form = document.createElement("form");
            form.method = "post";
            form.action = action;
            const input = document.createElement("input");
            input.name = "csrf";
            input.value = csrf;
            form.appendChild(input);
            document.body.appendChild(form);
            form.submit();
        }""",
        [f"{base}/projects/{pid}/endpoints/{ep['id']}/reveal-secret", csrf],
    )
    await expect(ops.get_by_role("heading", name="Not allowed")).to_be_visible()
    await expect(ops.locator("main")).to_contain_text("secrets.read")
    assert ep["secret"] not in await ops.content()

    # The owner sees the resend in the audit log, under the operator's email.
    await page.goto(f"{base}/audit?action=delivery.resend")
    row = page.locator("tbody tr").filter(has_text="support@example.com")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("delivery.resend")
    await owner_ctx.close()
    await ops_ctx.close()
