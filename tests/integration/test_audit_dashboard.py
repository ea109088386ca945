"""The dashboard's changes are audited like the API's, and the audit page shows them.

Signing in writes ``session.sign_in`` (and a wrong token
``session.sign_in_failed``, the one failure that is recorded); each kind of
dashboard action -- a project created, an endpoint disabled, a secret shown
or rotated, a delivery resent, a portal link made, a recover started --
writes exactly one entry naming the signed-in admin and the browser's
address, and a refused one (bad form, missing CSRF token) none. A portal
link's own actions name the link by the fingerprint its issue was recorded
under. The page lists, filters and exports the entries, only when signed in,
and never shows a secret.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from hookpost.store import AuditFilter
from tests.conftest import ADMIN, Hookpost
from tests.helpers.dashboard import csrf_of

HEADER_SECRET = "Bearer dash-header-secret-41c2"


@pytest.fixture
async def hp(hookpost_noworkers: Hookpost) -> AsyncIterator[Hookpost]:
    yield hookpost_noworkers


@pytest.fixture
async def browser(hp: Hookpost) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=hp.base_url, timeout=30) as client:
        yield client


async def log(hp: Hookpost, **where: Any) -> list[dict[str, Any]]:
    """Every entry, newest first, straight from the store."""
    page = await hp.store.list_audit(AuditFilter(**where), limit=250, cursor=None)
    return list(page.data)


async def test_sign_in_and_out_are_recorded_and_a_wrong_token_too(
    hp: Hookpost, browser: httpx.AsyncClient
) -> None:
    assert (await browser.post("/login", data={"token": ""})).status_code == 401
    assert await log(hp) == []  # an empty form is not an attempt
    assert (await browser.post("/login", data={"token": "wrong-guess"})).status_code == 401
    (failed,) = await log(hp)
    assert failed["action"] == "session.sign_in_failed"
    # A wrong token proves no identity: not the admin's, so not under actor_kind=admin.
    assert (failed["actor_kind"], failed["address"]) == ("anonymous", "127.0.0.1")
    assert "wrong-guess" not in json.dumps(failed)

    r = await browser.post("/login", data={"token": ADMIN, "next": "/"})
    assert r.status_code == 303
    signed_in = (await log(hp))[0]
    assert signed_in["action"] == "session.sign_in"
    assert signed_in["actor_label"] == "admin token (dashboard)"
    assert ADMIN not in json.dumps(signed_in)
    assert browser.cookies["hookpost_session"] not in json.dumps(signed_in)

    page = await browser.get("/")
    r = await browser.post("/logout", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 303
    signed_out = (await log(hp))[0]
    assert signed_out["action"] == "session.sign_out"
    assert signed_out["object_id"] == signed_in["object_id"]  # the same session


async def test_each_kind_of_dashboard_action_writes_one_entry_and_a_refused_one_none(
    hp: Hookpost, browser: httpx.AsyncClient
) -> None:
    assert (await browser.post("/login", data={"token": ADMIN})).status_code == 303
    projects_page = await browser.get("/")
    token = csrf_of(projects_page.text)

    async def one_entry(path: str, data: dict[str, str], status: int) -> dict[str, Any]:
        before = {e["id"] for e in await log(hp)}
        r = await browser.post(path, data={"csrf": token, **data})
        assert r.status_code == status, r.text
        new = [e for e in await log(hp) if e["id"] not in before]
        assert len(new) == 1, [e["action"] for e in new]
        assert new[0]["actor_label"] == "admin token (dashboard)"
        assert new[0]["address"] == "127.0.0.1"
        return new[0]

    async def no_entry(path: str, data: dict[str, str], status: int) -> None:
        before = await log(hp)
        r = await browser.post(path, data=data)
        assert r.status_code == status, r.text
        assert await log(hp) == before

    created = await one_entry("/projects", {"name": "from the dashboard"}, 200)
    assert created["action"] == "project.create"
    await no_entry("/projects", {"csrf": token, "name": ""}, 422)
    await no_entry("/projects", {"name": "no csrf"}, 403)

    pid = created["object_id"]
    ep = await hp.endpoint(pid, "http://127.0.0.1:9/x", headers={"Authorization": HEADER_SECRET})
    await hp.publish(pid)
    (delivery,) = await hp.deliveries(pid)
    base = f"/projects/{pid}/endpoints/{ep['id']}"

    disabled = await one_entry(base + "/enabled", {"enabled": "0"}, 303)
    assert disabled["action"] == "endpoint.update"
    assert (disabled["before"]["enabled"], disabled["after"]["enabled"]) == (True, False)
    await no_entry(base + "/enabled", {"enabled": "1"}, 403)  # no CSRF token
    assert (await one_entry(base + "/enabled", {"enabled": "1"}, 303))["after"]["enabled"]

    shown = await one_entry(base + "/reveal-secret", {}, 200)
    assert shown["action"] == "endpoint.secret.reveal"
    assert shown["after"] == {"revealed": ["secret"]}
    headers_shown = await one_entry(base + "/reveal-headers", {}, 200)
    assert headers_shown["after"] == {"revealed": ["headers.Authorization"]}

    await no_entry(base + "/rotate-secret", {"csrf": token, "grace_hours": "lots"}, 422)
    rotated = await one_entry(base + "/rotate-secret", {"grace_hours": "1"}, 200)
    assert rotated["action"] == "endpoint.secret.rotate"
    recovered = await one_entry(
        base + "/recover", {"since": "2020-01-01T00:00", "confirm": "1"}, 303
    )
    assert recovered["action"] == "endpoint.recover"
    resent = await one_entry(f"/projects/{pid}/deliveries/{delivery['id']}/resend", {}, 303)
    assert (resent["action"], resent["object_id"]) == ("delivery.resend", delivery["id"])
    # "Resend selected": one entry per delivery resent, none for an id of no delivery.
    await hp.publish(pid)
    ids = [d["id"] for d in await hp.deliveries(pid)]
    before = {e["id"] for e in await log(hp)}
    r = await browser.post(
        f"/projects/{pid}/deliveries/resend",
        content=urlencode(
            [("csrf", token), ("confirm", "1"), ("delivery_id", "dlv_nothing")]
            + [("delivery_id", i) for i in ids]
        ),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 303, r.text
    new = [e for e in await log(hp) if e["id"] not in before]
    assert sorted(e["object_id"] for e in new) == sorted(ids)
    assert {e["action"] for e in new} == {"delivery.resend"}
    link = await one_entry(f"/projects/{pid}/portal-link", {"scope": "manage"}, 200)
    assert link["action"] == "portal_link.create" and link["after"]["scope"] == "manage"

    everything = json.dumps(await log(hp))
    assert ep["secret"] not in everything and HEADER_SECRET not in everything


async def test_a_portal_links_actions_name_the_link(hp: Hookpost) -> None:
    pid, _ = await hp.project()
    ep = await hp.endpoint(pid, "http://127.0.0.1:9/x")
    r = await hp.http.post(f"/api/v1/projects/{pid}/portal-link", json={"scope": "manage"})
    url = r.json()["url"]
    (issued,) = await log(hp, action="portal_link.create")
    assert issued["actor_kind"] == "admin"
    async with httpx.AsyncClient(timeout=30) as customer:
        page = await customer.get(f"{url}/endpoints/{ep['id']}")
        assert page.status_code == 200, page.text
        r = await customer.post(
            f"{url}/endpoints/{ep['id']}/enabled",
            data={"csrf": csrf_of(page.text), "enabled": "0"},
        )
        assert r.status_code == 303, r.text
    (change,) = await log(hp, action="endpoint.update")
    assert change["actor_kind"] == "portal"
    assert change["actor_id"] == issued["object_id"]
    assert change["actor_label"] == f"portal link {issued['object_id']}"
    assert url.rsplit("/", 1)[-1] not in json.dumps(await log(hp))  # never the link itself


async def test_the_audit_page_lists_filters_and_exports_for_the_signed_in_admin_only(
    hp: Hookpost, browser: httpx.AsyncClient
) -> None:
    r = await browser.get("/audit")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert (await browser.get("/audit/export")).status_code == 303
    pid, key = await hp.project()
    ep = await hp.endpoint(pid, "http://127.0.0.1:9/x", headers={"X-Api-Key": "page-secret-9"})
    await hp.http.patch(f"/api/v1/projects/{pid}/endpoints/{ep['id']}", json={"enabled": False})
    assert (await browser.post("/login", data={"token": ADMIN})).status_code == 303

    page = await browser.get("/audit")
    assert page.status_code == 200
    for action in ("project.create", "endpoint.create", "endpoint.update", "session.sign_in"):
        assert "<code title=" in page.text and action in page.text
    assert "page-secret-9" not in page.text and key not in page.text
    assert "[redacted]" in page.text

    filtered = await browser.get("/audit", params={"action": "endpoint.update"})
    rows = filtered.text.split('id="audit"', 1)[1]
    assert "endpoint.update" in rows and "project.create" not in rows
    odd = await browser.get("/audit", params={"action": "nope", "since": "soon", "cursor": ""})
    assert odd.status_code == 200 and "Ignored (not a valid filter): action, since" in odd.text
    assert (await browser.get("/audit", params={"cursor": "!!"})).status_code == 400

    export = await browser.get("/audit/export", params={"project_id": pid})
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in export.text.splitlines()]
    assert [e["action"] for e in lines] == ["project.create", "endpoint.create", "endpoint.update"]
    assert "page-secret-9" not in export.text
