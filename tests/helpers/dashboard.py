"""Driving the dashboard like a browser in tests: signing in, its forms' CSRF token,
a customer portal link."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.conftest import ADMIN, Hookpost

CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF_RE.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient) -> None:
    r = await client.post("/login", data={"token": ADMIN, "next": "/"})
    assert r.status_code == 303, r.text


async def portal_url(hp: Hookpost, project_id: str, **body: Any) -> str:
    r = await hp.http.post(f"/api/v1/projects/{project_id}/portal-link", json=body)
    assert r.status_code == 200, r.text
    return str(r.json()["url"])
