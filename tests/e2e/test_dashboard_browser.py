"""The dashboard and the customer portal in a real browser (Debian's Chromium, headless).

One operator scenario and one portal scenario, each against a real server and
a real receiver on 127.0.0.1 -- the same fixtures as the delivery tests, on
SQLite only (``tests.helpers.browser``'s ``db_url``) to stay quick.

With ``HOOKPOST_SCREENSHOTS=1`` the tests also write the screenshots shown in
the README to ``docs/screenshots/``.
"""

from __future__ import annotations

import json
import re

import pytest
import standardwebhooks
from aiohttp import web
from itsdangerous.encoding import base64_decode, base64_encode

from tests.conftest import ADMIN, Hookpost, Receiver

try:
    from playwright.async_api import Browser, expect
except ImportError:  # pragma: no cover - the dev extra installs it
    pytest.skip("playwright is not installed (pip install -e '.[dev]')", allow_module_level=True)

from tests.helpers.browser import (
    LIVE_TIMEOUT_MS,
    api,
    chromium,
    db_url,
    nav,
    no_horizontal_scroll,
    shot,
    sign_in_with_token,
)

__all__ = ["chromium", "db_url"]  # the fixtures, imported for pytest


async def test_operator_dashboard(
    hookpost: Hookpost, receiver: Receiver, chromium: Browser
) -> None:
    pid = (await api(hookpost, "POST", "/projects", name="Acme payments"))["id"]
    await api(hookpost, "POST", f"/projects/{pid}/event-types/seed", provider="byl")
    await api(hookpost, "POST", f"/projects/{pid}/event-types", name="user.created")
    hook = receiver.on("/hook", [200])
    context = await chromium.new_context(viewport={"width": 1280, "height": 800})
    await context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = await context.new_page()
    base = hookpost.base_url

    # Sign in with the break-glass admin token, typed with the keyboard.
    await page.goto(base + "/")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.get_by_text("Sign in with the admin token").click()
    await page.get_by_label("Admin token").focus()
    await page.keyboard.type("not the token")
    await page.keyboard.press("Enter")
    await expect(page.locator("#token-error")).to_have_text("That is not the admin token.")
    await page.get_by_label("Admin token").fill(ADMIN)  # the form stays open on an error
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Projects")).to_be_visible()
    await page.get_by_role("link", name="Acme payments").click()

    # Create an endpoint; the first try shows the API's message next to the field.
    await nav(page, "Endpoints")
    await page.get_by_role("link", name="New endpoint").click()
    await page.get_by_label("URL").fill("ftp://example.com/hook")
    await page.get_by_label("user.created").check()
    await page.get_by_role("button", name="Create endpoint").click()
    await expect(page.locator("#url-error")).to_have_text(
        "must be an http(s), amqp(s), redis(s), nats, mqtt(s) or sqs URL"
    )
    await expect(page.get_by_label("user.created")).to_be_checked()  # the form kept it
    await page.get_by_label("URL").fill(hook)
    await page.get_by_label("Description").fill("Order service")
    await page.get_by_role("button", name="Create endpoint").click()
    await expect(page.get_by_role("status")).to_contain_text("Endpoint created")
    await page.reload()  # the notice was for once
    await expect(page.get_by_role("heading", name=hook)).to_be_visible()
    await expect(page.get_by_role("status")).to_have_count(0)
    await page.get_by_role("button", name="Reveal secret").click()
    secret = (await page.locator("pre#secret").inner_text()).strip()
    assert secret.startswith("whsec_")
    (endpoint,) = (await api(hookpost, "GET", f"/projects/{pid}/endpoints"))["data"]
    assert endpoint["event_types"] == ["user.created"]

    await nav(page, "Endpoints")
    # Shortened (no scheme), whole in the title and the copy.
    await expect(page.get_by_role("link", name=hook.removeprefix("http://"))).to_have_attribute(
        "title", hook
    )

    # Publish through the API; the delivery appears on the open page without a reload.
    await (
        page.get_by_role("navigation", name="Project")
        .get_by_role("link", name="Deliveries")
        .click()
    )
    await expect(page.get_by_text("No deliveries")).to_be_visible()
    await page.evaluate("window.__sameDocument = true")
    await api(
        hookpost,
        "POST",
        f"/projects/{pid}/events",
        event_type="user.created",
        payload={"id": 42, "email": "ada@example.com"},
        event_id="evt_browser_1",
    )
    (received,) = await receiver.wait_for(1, "/hook")
    # The secret the dashboard revealed is the one deliveries are signed with.
    standardwebhooks.Webhook(secret).verify(received.body, received.headers)
    row = page.locator("table.deliveries tbody tr").first
    await expect(row.locator(".badge")).to_have_text("succeeded", timeout=LIVE_TIMEOUT_MS)
    assert await page.evaluate("window.__sameDocument === true"), "the page was reloaded"

    # The delivery's page: the exact request and the response.
    await row.get_by_role("link").first.click()
    attempt = page.locator("#attempt-1")
    # JSON indented; the exact bytes (what the signature covers) one click away.
    pretty = json.dumps(json.loads(received.body), indent=2, ensure_ascii=False)
    await expect(attempt.locator("pre.request-body")).to_have_text(pretty)
    await attempt.get_by_text("As sent").first.click()
    await expect(attempt.locator("pre.request-body-raw")).to_have_text(received.body.decode())
    await expect(attempt.locator(".response-status")).to_have_text("200")
    await expect(attempt.locator(".response-body")).to_have_text("answer 200")
    await expect(attempt.get_by_role("row", name="webhook-id")).to_contain_text("evt_browser_1")
    await attempt.get_by_text("Copy as curl").click()
    await attempt.get_by_role("button", name="Copy curl command").click()
    await expect(attempt.get_by_role("button", name="Copied")).to_be_visible()
    copied = await page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith(f"curl -X POST {hook}") and "webhook-signature" in copied

    # The receiver breaks; Resend makes a second attempt, which shows its 500.
    receiver.on("/hook", [500])
    await page.get_by_role("button", name="Resend").click()
    await expect(page.get_by_role("status")).to_contain_text("Resend queued")
    second = page.locator("#attempt-2")
    await expect(second.locator(".response-status")).to_have_text("500", timeout=LIVE_TIMEOUT_MS)
    await expect(second.locator(".attempt-error")).to_contain_text("unsuccessful status 500")
    await expect(page.locator(".status-line .badge")).to_have_text("failed")
    await expect(page.locator("#attempt-1 .response-status")).to_have_text("200")
    await shot(page, "delivery")

    # Readable with JavaScript off, and at phone width.
    state = await context.storage_state()
    plain = await chromium.new_context(
        java_script_enabled=False, storage_state=state, viewport={"width": 375, "height": 740}
    )
    phone = await plain.new_page()
    await phone.goto(page.url)
    await expect(phone.locator("#attempt-2 .response-body")).to_have_text("answer 500")
    await expect(phone.get_by_role("button", name="Copy curl command")).to_be_hidden()
    await no_horizontal_scroll(phone)
    await phone.goto(f"{base}/projects/{pid}/deliveries")
    await no_horizontal_scroll(phone)
    await phone.goto(f"{base}/projects/{pid}")
    await no_horizontal_scroll(phone)
    for path in ("/events/evt_browser_1", f"/endpoints/{endpoint['id']}"):  # JS off too
        await phone.goto(f"{base}/projects/{pid}{path}")
        await expect(phone.locator("main h1")).to_be_visible()
        await no_horizontal_scroll(phone)
    await expect(phone.locator("#chart-rate")).to_be_visible()
    await plain.close()

    # Bulk resend of failed deliveries, with the job's progress shown live.
    receiver.on("/hook", [200])
    await nav(page, "Failed")
    failed_rows = page.locator("table.deliveries tbody tr")
    await expect(failed_rows).to_have_count(1)
    # Ticked rows: the button counts them, and a confirmation says how many first.
    selected = page.locator("[data-selected-count]")
    await expect(selected).to_be_disabled()
    await page.get_by_label("Select all on this page").check()
    await expect(selected).to_have_text("Resend 1 selected…")
    await selected.click()
    await expect(page.locator(".confirm")).to_contain_text("1 delivery will get one more attempt")
    await page.get_by_role("link", name="Cancel").click()
    await expect(failed_rows).to_have_count(1)
    # The bulk form counts and asks before it sends anything.
    await page.get_by_role("button", name="Count and resend…").click()
    await expect(page.locator(".confirm")).to_contain_text("1 failed delivery")
    await page.get_by_role("button", name="Resend 1").click()
    await expect(page.get_by_role("status")).to_contain_text("Bulk resend queued")
    await expect(page.get_by_text("No failed deliveries.")).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    await receiver.wait_for(3, "/hook")

    # Traffic over six minutes for the charts, half of it to an endpoint that fails.
    flaky = receiver.on("/flaky", [500])
    await api(hookpost, "POST", f"/projects/{pid}/endpoints", url=flaky, max_attempts=1)
    await nav(page, "Overview")
    sent = 0
    for minute in range(6):
        await hookpost.advance(60)
        for _ in range(1 + minute % 2):
            await api(
                hookpost,
                "POST",
                f"/projects/{pid}/events",
                event_type="user.created",
                payload={"id": sent},
            )
            sent += 1
        await receiver.wait_for(sent, "/flaky")
    minutes = page.locator("#chart-minutes")
    # A stacked bar per minute: the six of this traffic and the first (one 500 there).
    await expect(minutes.locator("rect.fail")).to_have_count(7, timeout=LIVE_TIMEOUT_MS)
    await expect(minutes.locator("rect.ok")).to_have_count(7)
    await expect(page.locator("#chart-minutes-cap")).to_contain_text(
        f"{2 + sent} succeeded · {1 + sent} failed", timeout=LIVE_TIMEOUT_MS
    )
    await expect(page.locator("#chart-latency text", has_text="p99")).to_be_attached()
    await expect(page.locator("#chart-rates")).to_contain_text("0%")
    await expect(page.locator("table.attempt-feed tbody tr")).to_have_count(15)
    await shot(page, "charts")

    await nav(page, "Endpoints")
    await shot(page, "endpoints")
    await page.goto(base + "/")
    await shot(page, "projects")
    await context.close()


async def test_customer_portal(hookpost: Hookpost, receiver: Receiver, chromium: Browser) -> None:
    pid = (await api(hookpost, "POST", "/projects", name="Acme payments"))["id"]
    other = (await api(hookpost, "POST", "/projects", name="Globex"))["id"]
    await api(hookpost, "POST", f"/projects/{pid}/event-types/seed", provider="byl")
    mine = receiver.on("/acme", [200])
    theirs = receiver.on("/globex-secret-endpoint", [200])
    await api(hookpost, "POST", f"/projects/{pid}/endpoints", url=mine, description="Billing")
    await api(hookpost, "POST", f"/projects/{other}/endpoints", url=theirs)
    await api(
        hookpost,
        "POST",
        f"/projects/{pid}/events",
        event_type="invoice.paid",
        payload={"id": "inv_1"},
    )
    await api(hookpost, "POST", f"/projects/{other}/events", event_type="x.y", payload={"n": 2})
    await receiver.wait_for(2)
    (their_delivery,) = (await api(hookpost, "GET", f"/projects/{other}/deliveries"))["data"]
    link = (
        await api(hookpost, "POST", f"/projects/{pid}/portal-link", scope="manage", expires_in=600)
    )["url"]
    context = await chromium.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()

    # Embedded in the provider's own site (another origin): the portal renders in
    # its iframe; the operator dashboard refuses to be framed.
    provider_page = (
        f'<!doctype html><title>Provider</title><iframe id="portal" src="{link}/endpoints" '
        f'width="1000" height="500"></iframe><iframe id="operator" '
        f'src="{hookpost.base_url}/login" width="400" height="300"></iframe>'
    )

    async def serve_provider_page(request: web.Request, n: int) -> web.StreamResponse:
        return web.Response(text=provider_page, content_type="text/html")

    await page.goto(receiver.on("/provider", serve_provider_page))
    frame = page.frame_locator("#portal")
    await expect(frame.get_by_role("heading", name="Endpoints")).to_be_visible()
    await expect(frame.get_by_role("link", name=mine.removeprefix("http://"))).to_be_visible()
    operator = page.frame_locator("#operator").owner
    handle = await operator.element_handle()
    framed = await handle.content_frame()
    assert framed is not None
    await framed.wait_for_load_state()
    assert framed.url.startswith("chrome-error:"), f"the operator page was framed: {framed.url}"

    # Top level: only this project's data.
    await page.goto(link + "/endpoints")
    await expect(page.get_by_text("Acme payments")).to_be_visible()
    assert "globex" not in (await page.content()).lower()
    await (
        page.get_by_role("navigation", name="Project")
        .get_by_role("link", name="Event catalog")
        .click()
    )
    await expect(page.get_by_role("cell", name="invoice.paid")).to_be_visible()
    await (
        page.get_by_role("navigation", name="Project")
        .get_by_role("link", name="Deliveries")
        .click()
    )
    await expect(page.locator("table.deliveries tbody tr")).to_have_count(1)
    await page.locator("table.deliveries tbody tr a").first.click()
    await expect(page.locator("#attempt-1 .response-body")).to_have_text("answer 200")
    await page.get_by_role("button", name="Resend").click()
    await expect(page.locator("#attempt-2 .response-status")).to_have_text(
        "200", timeout=LIVE_TIMEOUT_MS
    )
    await page.goto(link)
    await shot(page, "portal")

    # Manage scope: create an endpoint, with the server's message on a bad field.
    await page.goto(link + "/endpoints/new")
    await page.get_by_label("URL").fill(receiver.url("/new"))
    await page.get_by_label("Custom headers").fill("X-Team billing")
    await page.get_by_role("button", name="Create endpoint").click()
    await expect(page.locator("#headers-error")).to_contain_text("Name: value")
    await page.get_by_label("Custom headers").fill("X-Team: billing")
    await page.get_by_role("button", name="Create endpoint").click()
    await expect(page.get_by_role("status")).to_contain_text("Endpoint created")

    # The find box searches this project only.
    response = await page.goto(f"{link}/search?q={their_delivery['id']}")
    assert response is not None and response.status == 404
    await expect(page.get_by_role("alert")).to_contain_text("No event, delivery or endpoint")

    # Another project's delivery is not reachable through this link, nor is a
    # tampered link accepted.
    response = await page.goto(f"{link}/deliveries/{their_delivery['id']}")
    assert response is not None and response.status == 404
    await expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    prefix, token = link.rsplit("/", 1)
    payload, signature = token.split(".")
    claims = json.loads(base64_decode(payload))
    assert claims["p"] == pid
    claims["p"] = other
    forged = f"{prefix}/{base64_encode(json.dumps(claims)).decode()}.{signature}"
    response = await page.goto(forged)
    assert response is not None and response.status == 403
    await expect(page.get_by_role("heading", name="This link is not valid")).to_be_visible()
    response = await page.goto(f"{prefix}/{token[:-3]}/deliveries")
    assert response is not None and response.status == 403

    # A view link: no actions; once expired, a clear page.
    view = (
        await api(hookpost, "POST", f"/projects/{pid}/portal-link", scope="view", expires_in=60)
    )["url"]
    await page.goto(view + "/endpoints")
    await expect(page.get_by_text("View only")).to_be_visible()
    await expect(page.get_by_role("link", name="New endpoint")).to_have_count(0)
    hookpost.clock.advance(61)
    response = await page.goto(view + "/endpoints")
    assert response is not None and response.status == 401
    await expect(page.get_by_role("heading", name="This link has expired")).to_be_visible()
    await context.close()


#: Every table cell inside the window, and the page no wider than it (a phone, 390 px).
CELLS_FIT = """() => {
  const width = window.innerWidth;
  const out = [];
  for (const cell of document.querySelectorAll("main td, main th")) {
    const head = cell.closest("thead");
    if (head && head.getBoundingClientRect().width <= 1) continue;  // a card table's hidden head
    const box = cell.getBoundingClientRect();
    const spills = cell.scrollWidth > cell.clientWidth + 1;  // content wider than its cell
    if (box.left < -0.5 || box.right > width + 0.5 || spills) {
      out.push(cell.textContent.trim().slice(0, 40));
    }
  }
  return {cut: out, scroll: document.documentElement.scrollWidth, width};
}"""


async def test_phone_width_tables_fit_and_the_tabs_say_they_scroll(
    hookpost: Hookpost, receiver: Receiver, chromium: Browser
) -> None:
    pid = (await api(hookpost, "POST", "/projects", name="Acme payments"))["id"]
    long_url = receiver.on("/webhooks/v2/orders/created-and-updated/with-a-rather-long-path", [200])
    ep = await api(
        hookpost,
        "POST",
        f"/projects/{pid}/endpoints",
        url=long_url,
        description="Order service in eu-west, production",
    )
    bad = await api(
        hookpost,
        "POST",
        f"/projects/{pid}/endpoints",
        url=receiver.on("/down", [500]),
        max_attempts=1,
    )
    await api(hookpost, "POST", f"/projects/{pid}/event-types/seed", provider="byl")
    for n in range(3):
        await api(
            hookpost,
            "POST",
            f"/projects/{pid}/events",
            event_type="invoice.paid",
            payload={"id": f"inv_{n}", "customer": {"name": "A customer with a long name"}},
        )
    await receiver.wait_for(6)
    for d in (await api(hookpost, "GET", f"/projects/{pid}/deliveries?endpoint_id={bad['id']}"))[
        "data"
    ]:
        await hookpost.wait_status(pid, d["id"], "failed")
    (delivery,) = (
        await api(hookpost, "GET", f"/projects/{pid}/deliveries?endpoint_id={ep['id']}&limit=1")
    )["data"]
    context = await chromium.new_context(viewport={"width": 390, "height": 844})
    await context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = await context.new_page()
    await page.goto(f"{hookpost.base_url}/login")
    await sign_in_with_token(page)
    await expect(page.get_by_role("heading", name="Projects")).to_be_visible()
    base = f"{hookpost.base_url}/projects/{pid}"
    for path in (
        "",
        "/endpoints",
        f"/endpoints/{ep['id']}",
        f"/endpoints/{ep['id']}/edit",
        "/search?q=dlv_none",
        "/event-types",
        "/events",
        f"/events/{delivery['event_id']}",
        "/deliveries",
        f"/deliveries/{delivery['id']}",
        "/failed",
    ):
        await page.goto(base + path)
        await expect(page.locator("main h1")).to_be_visible()
        assert "/login" not in page.url
        fit = await page.evaluate(CELLS_FIT)
        assert fit["cut"] == [], f"{path}: cut off at {fit['width']}px: {fit['cut']}"
        assert fit["scroll"] <= fit["width"], f"{path}: the page is {fit['scroll']}px wide"
    await page.goto(hookpost.base_url + "/")
    assert (await page.evaluate(CELLS_FIT))["cut"] == []
    # The confirmation of a selected resend, at this width too.
    await page.goto(base + "/failed")
    await page.locator("input.select-row").first.check()
    await page.locator("[data-selected-count]").click()
    await expect(page.locator(".confirm")).to_contain_text("1 delivery will get one more attempt")
    fit = await page.evaluate(CELLS_FIT)
    assert fit["scroll"] <= fit["width"], f"confirmation: the page is {fit['scroll']}px wide"

    # The tab bar is wider than the screen, and says so on the side with more tabs.
    tabs = page.get_by_role("navigation", name="Project")
    await page.goto(base)
    await expect(tabs).to_have_attribute("data-more", "right")
    arrow = "(el) => getComputedStyle(el, '::after').opacity"
    assert await tabs.evaluate(arrow) == "1"
    await page.goto(base + "/failed")  # the last tab: scrolled into view, more on the left
    await expect(tabs).to_have_attribute("data-more", re.compile("left"))
    await expect(tabs.get_by_role("link", name="Failed")).to_be_in_viewport()

    # Shortened ids and URLs: whole on hover and in the copy; times relative, UTC on hover.
    await page.goto(base + "/deliveries")
    row = page.locator("table.deliveries tbody tr").filter(has_text="Order service").first
    shown = row.locator("td[data-label=Delivery] code")
    full_id = await shown.get_attribute("title")
    assert full_id and full_id.startswith("dlv_") and "…" in await shown.inner_text()
    await row.get_by_role("button", name=f"Copy id {full_id}").click()
    assert await page.evaluate("navigator.clipboard.readText()") == full_id
    url_link = row.locator("td[data-label=Endpoint] a")
    assert await url_link.get_attribute("title") == long_url
    assert "…" in await url_link.inner_text()
    await row.get_by_role("button", name=f"Copy URL {long_url}").click()
    assert await page.evaluate("navigator.clipboard.readText()") == long_url
    created = row.locator("td[data-label=Created] time")
    await expect(created).to_have_text(re.compile(r"just now|\d+ min ago"))
    await expect(created).to_have_attribute(
        "title", re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")
    )
    await shot(page, "phone", full_page=False)
    await context.close()


async def test_event_page_search_endpoint_settings_recover_and_portal_link(
    hookpost: Hookpost, receiver: Receiver, chromium: Browser
) -> None:
    pid = (await api(hookpost, "POST", "/projects", name="Acme payments"))["id"]
    ok_url = receiver.on("/orders", [200])
    bad_url = receiver.on("/ledger", [500, 200])
    await api(
        hookpost, "POST", f"/projects/{pid}/endpoints", url=ok_url, description="Order service"
    )
    bad = await api(
        hookpost,
        "POST",
        f"/projects/{pid}/endpoints",
        url=bad_url,
        description="Ledger",
        max_attempts=1,
    )
    payload = {"id": "inv_1", "amount": 1250, "customer": {"name": "Zoë"}}
    await api(
        hookpost,
        "POST",
        f"/projects/{pid}/events",
        event_type="invoice.paid",
        payload=payload,
        event_id="evt_inv_1",
    )
    await receiver.wait_for(2)
    (failed,) = (await api(hookpost, "GET", f"/projects/{pid}/deliveries?endpoint_id={bad['id']}"))[
        "data"
    ]
    await hookpost.wait_status(pid, failed["id"], "failed")
    context = await chromium.new_context(viewport={"width": 1280, "height": 900})
    await context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = await context.new_page()
    base = f"{hookpost.base_url}/projects/{pid}"
    await page.goto(f"{base}/events")
    await sign_in_with_token(page)

    # The event page, from the events list: payload indented and copyable, each
    # endpoint's delivery with its status and attempts.
    await page.get_by_role("link", name="evt_inv_1").click()
    await expect(page.get_by_role("heading", name="Event evt_inv_1")).to_be_visible()
    pretty = json.dumps(payload, indent=2, ensure_ascii=False)
    await expect(page.locator("pre#payload")).to_have_text(pretty)
    await page.get_by_role("button", name="Copy payload").click()
    assert await page.evaluate("navigator.clipboard.readText()") == pretty
    rows = page.locator("table.deliveries tbody tr")
    await expect(rows).to_have_count(2)
    ledger = rows.filter(has_text="Ledger")
    await expect(ledger.locator(".badge")).to_have_text("failed")
    await expect(ledger.locator("td[data-label=Attempts]")).to_have_text("1")
    await expect(rows.filter(has_text="Order service").locator(".badge")).to_have_text("succeeded")
    await shot(page, "event")

    # From the deliveries list too; and the find box takes any id.
    await nav(page, "Deliveries")
    first_row = page.locator("table.deliveries tbody tr").first
    await first_row.get_by_role("link", name="evt_inv_1").click()
    await expect(page.get_by_role("heading", name="Event evt_inv_1")).to_be_visible()
    find = page.get_by_role("search", name="Find by id").get_by_role("searchbox")
    await find.fill(failed["id"])
    await find.press("Enter")
    await expect(page.get_by_role("heading", name=f"Delivery {failed['id']}")).to_be_visible()
    await find.fill(bad["id"])
    await find.press("Enter")
    await expect(page.get_by_role("heading", name=bad_url)).to_be_visible()
    await find.fill("dlv_nope")
    await find.press("Enter")
    await expect(page.get_by_role("alert")).to_contain_text("No event, delivery or endpoint")

    # The endpoint's settings: every one the API has, the server's message next to a
    # field it refuses, then saved and shown; the notice does not come back on reload.
    await page.goto(f"{base}/endpoints/{bad['id']}")
    await page.get_by_role("link", name="Edit").click()
    await page.get_by_label("Retry schedule").fill("30s 0 2h")
    await page.get_by_label("Success means").select_option("200")
    await page.get_by_label("Rate limit (requests per second)").fill("5")
    await page.get_by_label("Max concurrency").fill("2")
    await page.get_by_label("Ordering").select_option("fifo")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#retry_schedule-error")).to_contain_text("item 2")
    await expect(page.locator("#retry_schedule-error")).to_contain_text("greater than 0")
    await expect(page.get_by_label("Ordering")).to_have_value("fifo")  # the form kept it
    await page.get_by_label("Retry schedule").fill("30s 5m 2h")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_have_text("Endpoint saved.")
    await expect(page.locator("#fact-retry")).to_have_text("30s 5m 2h")
    await expect(page.get_by_text("in publish order (FIFO)")).to_be_visible()
    got = await api(hookpost, "GET", f"/projects/{pid}/endpoints/{bad['id']}")
    assert got["retry_schedule"] == [30, 300, 7200] and got["success_rule"] == "200"
    assert (got["rate_limit"], got["max_concurrency"], got["ordering"]) == (5, 2, "fifo")
    await page.reload()
    await expect(page.get_by_role("status")).to_have_count(0)

    # Its chart, then "recover failed since": counted and confirmed first.
    await expect(page.locator("#chart-rate rect.fail")).to_have_count(1)
    await expect(page.locator("#chart-ms circle")).to_have_count(1)
    await page.get_by_role("navigation", name="Chart range").get_by_role("link", name="1h").click()
    await expect(page.locator("#chart-rate-cap")).to_contain_text("1 failed")
    await page.get_by_role("button", name="Count and resend…").click()
    await expect(page.locator("#recover .confirm")).to_contain_text("1 failed delivery")
    await page.get_by_role("button", name="Resend 1").click()
    await expect(page.get_by_role("status")).to_contain_text("Resend of the failed deliveries")
    await hookpost.wait_status(pid, failed["id"], "succeeded")
    await expect(page.locator("table.deliveries .badge").first).to_have_text(
        "succeeded", timeout=LIVE_TIMEOUT_MS
    )
    await shot(page, "endpoint")

    # A portal link: shown at once with its access and expiry; the form keeps the choice.
    await nav(page, "Overview")
    await page.get_by_label("Access").select_option("manage")
    await page.get_by_label("Valid for").select_option("86400")
    await page.get_by_role("button", name="Create portal link").click()
    made = page.locator("#portal-made")
    await expect(made).to_be_in_viewport()
    await expect(made).to_contain_text("Manage: the customer can add and edit endpoints")
    await expect(made).to_contain_text("(in 1 d)")
    await expect(page.get_by_label("Access")).to_have_value("manage")
    await expect(page.get_by_label("Valid for")).to_have_value("86400")
    link = (await page.locator("pre#portal-url").inner_text()).strip()

    # The customer's view of the same endpoints: plain words, no internal ones.
    receiver.on("/ledger", [500])
    await api(
        hookpost,
        "POST",
        f"/projects/{pid}/events",
        event_type="invoice.paid",
        payload={},
        event_id="evt_2",
    )
    (again,) = (
        await api(
            hookpost, "GET", f"/projects/{pid}/deliveries?event_id=evt_2&endpoint_id={bad['id']}"
        )
    )["data"]
    await hookpost.wait_status(pid, again["id"], "failed")
    await page.goto(link + "/endpoints")
    ledger_row = page.locator("tbody tr").filter(has_text="Ledger")
    await expect(ledger_row).to_contain_text("The last attempt failed", timeout=LIVE_TIMEOUT_MS)
    body = (await page.content()).lower()
    assert "circuit" not in body and pid.lower() not in body
    await context.close()
