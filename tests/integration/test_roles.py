"""Roles, route by route: every API route and every dashboard action, for every role.

The routes are read from the running app (``app.routes``) and the dashboard's
own table (``site.PROJECT_PAGES``), so a route added tomorrow is in these
tables the day it is added: one the permission table does not list fails
:func:`test_every_api_route_is_in_the_permission_table`, and then each role
is tried on it. A role is *allowed* when the answer is anything but 403 (a
422 for the empty body these requests send, a 404 for an id that does not
exist); it is *refused* with 403 naming the permission it needed. An
operator limited to one project gets 404 -- never 403 -- for another's data,
exactly what a project API key gets.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from hookpost.core import passwords
from hookpost.core.clock import ManualClock
from hookpost.dashboard import site
from hookpost.domain import roles
from tests.conftest import Hookpost, start_hookpost

PASSWORD = "correct horse battery staple"
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class World:
    hp: Hookpost
    a: str  # the project every role works in
    b: str  # another project: a limited operator's 404s
    ids: dict[str, str]
    tokens: dict[str, str]  # role (or "limited") -> hpu_ token
    emails: dict[str, str]


async def _operator(hp: Hookpost, email: str, role: str, projects: list[str] | None) -> str:
    """An operator with PASSWORD set, and a personal token of it."""
    row, setup = await hp.store.create_operator(email, role, projects)
    await hp.store.use_setup_token(setup, passwords.hash_password(PASSWORD))
    _row, token = await hp.store.create_operator_token(row["id"], "tests")
    return token


@pytest.fixture
async def world(sqlite_url: str, clock: ManualClock) -> AsyncIterator[World]:
    async for hp in start_hookpost(sqlite_url, clock, workers=False):
        a, _ = await hp.project()
        b, _ = await hp.project()
        ep = await hp.endpoint(a, "http://127.0.0.1:9/hook")
        event = await hp.publish(a)
        delivery = (await hp.deliveries(a))[0]
        r = await hp.http.post(f"/api/v1/projects/{a}/event-types", json={"name": "user.created"})
        assert r.status_code == 201, r.text
        ids = {
            "endpoint_id": ep["id"],
            "event_id": event["id"],
            "delivery_id": delivery["id"],
            "name": "user.created",
        }
        tokens, emails = {}, {}
        for role in roles.ROLES:
            emails[role] = f"{role}@example.com"
            tokens[role] = await _operator(hp, emails[role], role, None)
        emails["limited"] = "limited@example.com"
        tokens["limited"] = await _operator(hp, emails["limited"], "admin", [a])
        yield World(hp, a, b, ids, tokens, emails)


def api_routes(app: Any) -> list[tuple[str, str]]:
    """Every (method, template) of the API under /api/v1, from the app itself.

    Read from the app's OpenAPI spec, which FastAPI builds from ``app.routes``
    (included routers are resolved lazily, so the spec is the stable way to
    walk them); every API route is in it (test_api_reference checks each has
    a section in docs/api.md).
    """
    found = []
    for path, operations in app.openapi()["paths"].items():
        if path.startswith("/api/v1/"):
            for method in operations:
                found.append((method.upper(), path.removeprefix("/api/v1")))
    return sorted(found)


def test_every_api_route_is_in_the_permission_table() -> None:
    from hookpost.api.app import create_app
    from hookpost.config import Settings

    routes = set(api_routes(create_app(Settings(admin_token="unused"))))
    table = set(roles.API_ROUTES)
    assert routes - table == set(), "routes no role can use: add them to roles.API_ROUTES"
    assert table - routes == set(), "the table names routes that do not exist"


def _concrete(template: str, world: World, project: str, method: str) -> str:
    """The template with real ids -- except the last id of a DELETE, which names nothing,
    so an allowed DELETE answers 404 and the fixtures survive for the next route."""
    values = {"project_id": project, **world.ids, "key_id": "key_missing", "job_id": "job_x"}
    values["token_id"] = "tok_missing"
    path = template
    names = re.findall(r"{(\w+)}", template)
    for name in names:
        value = values[name]
        if method == "DELETE" and name == names[-1]:
            value = value + "_missing" if name != "project_id" else "proj_missing"
        path = path.replace("{" + name + "}", value)
    return "/api/v1" + path


def _body(method: str, template: str) -> dict[str, Any] | None:
    if template.endswith("/settings"):
        return {"viewers_see_payloads": False}
    if method == "PATCH" and template.endswith("{endpoint_id}"):
        return {"enabled": True}
    return {} if method in ("POST", "PATCH") else None


async def _call(
    world: World, token: str, method: str, template: str, project: str
) -> httpx.Response:
    path = _concrete(template, world, project, method)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=world.hp.base_url, timeout=30) as client:
        return await client.request(method, path, json=_body(method, template), headers=headers)


@pytest.mark.parametrize("role", roles.ROLES)
async def test_each_role_on_every_api_route(world: World, role: str) -> None:
    token = world.tokens[role]
    checked = 0
    for method, template in api_routes(world.hp.app):
        needed = roles.route_permission(method, template)
        assert needed is not None
        r = await _call(world, token, method, template, world.a)
        allowed = roles.allows(role, needed)
        if allowed:
            assert r.status_code not in (401, 403), (role, method, template, r.text)
        else:
            assert r.status_code == 403, (role, method, template, r.status_code, r.text)
            detail = r.json()
            assert f"needs permission {needed}" in detail["message"], detail
            assert detail["error"] == "forbidden"
        checked += 1
    assert checked >= 40


async def test_patching_an_endpoint_needs_write_unless_it_only_toggles(world: World) -> None:
    path = f"/api/v1/projects/{world.a}/endpoints/{world.ids['endpoint_id']}"
    headers = {"Authorization": f"Bearer {world.tokens['operator']}"}
    async with httpx.AsyncClient(base_url=world.hp.base_url, timeout=30) as client:
        r = await client.patch(path, json={"enabled": False}, headers=headers)
        assert r.status_code == 200 and r.json()["enabled"] is False
        r = await client.patch(path, json={"enabled": True, "description": "x"}, headers=headers)
        assert r.status_code == 403 and "endpoints.write" in r.json()["message"]


async def test_a_limited_operator_sees_only_its_projects(world: World) -> None:
    token = world.tokens["limited"]
    for method, template in api_routes(world.hp.app):
        if "{project_id}" not in template:
            continue
        r = await _call(world, token, method, template, world.b)
        needed = roles.route_permission(method, template) or ""
        # What its role may do elsewhere is 404 here; what it may not do is 403 anywhere.
        expected = 404 if roles.allows("admin", needed) else 403
        assert r.status_code == expected, (method, template, r.status_code, r.text)
        assert world.b not in r.text
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=world.hp.base_url, timeout=30) as client:
        listed = (await client.get("/api/v1/projects", headers=headers)).json()["data"]
        assert [p["id"] for p in listed] == [world.a]
        r = await client.post("/api/v1/projects", json={"name": "x"}, headers=headers)
        assert r.status_code == 403


async def test_a_limited_admin_reads_only_its_projects_audit_entries(world: World) -> None:
    """The audit log is filtered, not closed, for an admin limited to some projects:
    through the API (list and export) and the dashboard page, entries of its projects
    only -- none of another project's, none without a project (accounts, sign-ins)."""
    hp, a, b = world.hp, world.a, world.b
    r = await hp.http.patch(f"/api/v1/projects/{b}", json={"name": "b-renamed"})
    assert r.status_code == 200, r.text
    everything = (await hp.http.get("/api/v1/audit-log", params={"limit": 250})).json()["data"]
    assert {e["project_id"] for e in everything} >= {a, b, None}
    ours = [e["id"] for e in everything if e["project_id"] == a]
    assert ours
    headers = {"Authorization": f"Bearer {world.tokens['limited']}"}
    async with httpx.AsyncClient(base_url=hp.base_url, timeout=30, headers=headers) as client:
        r = await client.get("/api/v1/audit-log", params={"limit": 250})
        assert r.status_code == 200, r.text
        assert [e["id"] for e in r.json()["data"]] == ours
        r = await client.get("/api/v1/audit-log", params={"project_id": b})
        assert r.status_code == 200 and r.json()["data"] == []
        exported = (await client.get("/api/v1/audit-log/export")).text.splitlines()
        assert sorted(json.loads(line)["id"] for line in exported) == sorted(ours)
    async with signed_in(world, "limited") as (client, _csrf):
        page = await client.get("/audit")
        assert page.status_code == 200
        assert b not in page.text and "b-renamed" not in page.text
        assert a in page.text
        assert page.text.count("<tr>") - 1 == min(len(ours), 50)  # the head, one row an entry
        exported = (await client.get("/audit/export")).text.splitlines()
        assert {json.loads(line)["project_id"] for line in exported} == {a}


async def test_viewers_see_no_payload_bodies_unless_the_project_allows(world: World) -> None:
    a, event_id, delivery_id = world.a, world.ids["event_id"], world.ids["delivery_id"]
    viewer = {"Authorization": f"Bearer {world.tokens['viewer']}"}
    operator = {"Authorization": f"Bearer {world.tokens['operator']}"}
    async with httpx.AsyncClient(base_url=world.hp.base_url, timeout=30) as client:
        event = (await client.get(f"/api/v1/projects/{a}/events/{event_id}", headers=viewer)).json()
        assert event["payload"] is None
        listed = (await client.get(f"/api/v1/projects/{a}/events", headers=viewer)).json()
        assert [e["payload"] for e in listed["data"]] == [None]
        r = await client.get(f"/api/v1/projects/{a}/events?q=id", headers=viewer)
        assert r.status_code == 403 and "payloads.read" in r.json()["message"]
        seen = await client.get(f"/api/v1/projects/{a}/events/{event_id}", headers=operator)
        assert seen.json()["payload"] == {"id": 1}

        r = await world.hp.http.patch(
            f"/api/v1/projects/{a}/settings", json={"viewers_see_payloads": True}
        )
        assert r.status_code == 200 and r.json()["viewers_see_payloads"] is True
        event = (await client.get(f"/api/v1/projects/{a}/events/{event_id}", headers=viewer)).json()
        assert event["payload"] == {"id": 1}
        d = await client.get(f"/api/v1/projects/{a}/deliveries/{delivery_id}", headers=viewer)
        assert d.status_code == 200


# -- the dashboard ------------------------------------------------------------------


@asynccontextmanager
async def signed_in(world: World, who: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A browser-like client signed in with ``who``'s email and password, and its CSRF token."""
    async with httpx.AsyncClient(base_url=world.hp.base_url, timeout=30) as client:
        data = {"email": world.emails[who], "password": PASSWORD}
        r = await client.post("/login", data=data)
        assert r.status_code == 303, r.text
        page = await client.get("/")
        found = CSRF_RE.search(page.text)
        assert found, page.text
        yield client, found.group(1)


def _page_path(world: World, path: str) -> str:
    values = {**world.ids}
    for name in re.findall(r"{(\w+)}", path):
        path = path.replace("{" + name + "}", values[name])
    return f"/projects/{world.a}{path}"


@pytest.mark.parametrize("role", roles.ROLES)
async def test_each_role_on_every_dashboard_action(world: World, role: str) -> None:
    async with signed_in(world, role) as (client, csrf):
        for method, path, name, _view, _access, permission in site.PROJECT_PAGES:
            url = _page_path(world, path)
            if method == "GET":
                r = await client.get(url)
            else:
                r = await client.post(url, data={"csrf": csrf})
            if roles.allows(role, permission) or (
                permission == roles.PAYLOADS_READ and role != "viewer"
            ):
                assert r.status_code != 403, (role, name, r.text[:300])
                assert r.status_code < 500, (role, name, r.text[:300])
            else:
                assert r.status_code == 403, (role, name, r.status_code)
                assert f"permission {permission}" in r.text, (role, name)
        # The team's pages: Operators for owners only, Tokens for everyone.
        r = await client.get("/operators")
        assert r.status_code == (200 if role == "owner" else 403)
        r = await client.post("/operators", data={"csrf": csrf, "email": "x@example.com"})
        assert (r.status_code == 403) == (role != "owner")
        assert (await client.get("/tokens")).status_code == 200
        r = await client.post("/projects", data={"csrf": csrf, "name": "made by " + role})
        assert (r.status_code == 403) == (not roles.allows(role, roles.PROJECTS_WRITE))


@pytest.mark.parametrize("role", roles.ROLES)
async def test_the_dashboard_hides_what_the_role_cannot_do(world: World, role: str) -> None:
    async with signed_in(world, role) as (client, _csrf):
        ep = (await client.get(_page_path(world, "/endpoints/{endpoint_id}"))).text
        delivery = (await client.get(_page_path(world, "/deliveries/{delivery_id}"))).text
        event = (await client.get(_page_path(world, "/events/{event_id}"))).text
        header = (await client.get("/")).text
    may = roles.permissions_of(role)
    assert ("Reveal secret" in ep) == (roles.SECRETS_READ in may)
    assert ("Rotate secret" in ep) == (roles.ENDPOINTS_WRITE in may)
    assert ("Send test event" in ep) == (roles.ENDPOINTS_WRITE in may)
    assert (">Disable</button>" in ep) == (roles.ENDPOINTS_TOGGLE in may)
    assert ('id="resend"' in delivery) == (roles.DELIVERIES_RESEND in may)
    assert ('id="payload"' in event) == (role != "viewer")
    assert ('href="/operators"' in header) == (role == "owner")
    assert ("Create project" in header) == (roles.PROJECTS_WRITE in may)


async def test_a_limited_operator_gets_404_pages_for_other_projects(world: World) -> None:
    async with signed_in(world, "limited") as (client, _csrf):
        r = await client.get(f"/projects/{world.b}/endpoints")
        assert r.status_code == 404
        r = await client.get(f"/projects/{world.a}/endpoints")
        assert r.status_code == 200
        listing = (await client.get("/")).text
        assert world.a in listing and world.b not in listing
