"""Operators' own changes are audited: accounts, roles, tokens, sign-ins -- and what they do.

Each kind of account change made by an owner in the dashboard (invite,
change a role, disable, reset a password, issue and revoke a personal token)
writes exactly one entry naming the owner by email and the operator changed,
and a refused one (a bad email, no CSRF token) none; no password, set-password
link or token ever appears in the log. An operator's sign-in, and a refused
one (naming the email tried, never the password), are recorded; what the
operator then does (a resend) is recorded under their email; the CLI's
``hookpost users create`` acts as the shell. Both backends.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hookpost.domain import SHELL, acting_as
from hookpost.store import AuditFilter
from tests.conftest import Hookpost
from tests.helpers.dashboard import csrf_of

PASSWORD = "a long and private passphrase"


@pytest.fixture
async def hp(hookpost_noworkers: Hookpost) -> AsyncIterator[Hookpost]:
    yield hookpost_noworkers


async def log(hp: Hookpost, **where: Any) -> list[dict[str, Any]]:
    page = await hp.store.list_audit(AuditFilter(**where), limit=250, cursor=None)
    return list(page.data)


async def signed_in(hp: Hookpost, email: str, role: str) -> tuple[httpx.AsyncClient, str]:
    """A browser signed in as a new operator (created from the shell); its operator id."""
    with acting_as(SHELL):
        row, link = await hp.store.create_operator(email, role)
    client = httpx.AsyncClient(base_url=hp.base_url, timeout=30)
    page = await client.get(f"/set-password/{link}")
    r = await client.post(
        f"/set-password/{link}",
        data={"csrf": csrf_of(page.text), "password": PASSWORD, "confirm": PASSWORD},
    )
    assert r.status_code == 303, r.text
    r = await client.post("/login", data={"email": email, "password": PASSWORD})
    assert r.status_code == 303, r.text
    return client, str(row["id"])


async def test_sign_in_of_an_operator_and_a_refused_one_name_the_email(hp: Hookpost) -> None:
    client, op_id = await signed_in(hp, "ada@example.com", "viewer")
    (entry,) = await log(hp, action="session.sign_in")
    assert (entry["actor_kind"], entry["actor_id"]) == ("operator", op_id)
    assert entry["actor_label"] == "ada@example.com"
    async with httpx.AsyncClient(base_url=hp.base_url, timeout=30) as stranger:
        r = await stranger.post("/login", data={"email": "ada@example.com", "password": "guess-1"})
        assert r.status_code == 401
    (refused,) = await log(hp, action="session.sign_in_failed")
    assert refused["actor_label"] == "ada@example.com" and refused["address"] == "127.0.0.1"
    assert (refused["actor_kind"], refused["actor_id"]) == ("anonymous", "")
    r = await hp.http.get("/api/v1/audit-log", params={"actor_kind": "anonymous"})
    assert [e["id"] for e in r.json()["data"]] == [refused["id"]]
    everything = json.dumps(await log(hp))
    assert PASSWORD not in everything and "guess-1" not in everything
    (created,) = await log(hp, action="operator.create")
    assert created["actor_kind"] == "shell"
    await client.aclose()


async def test_each_account_change_in_the_dashboard_writes_one_entry(hp: Hookpost) -> None:
    owner, owner_id = await signed_in(hp, "owner@example.com", "owner")
    token = csrf_of((await owner.get("/operators")).text)

    async def one_entry(path: str, data: dict[str, str], status: int = 303) -> dict[str, Any]:
        before = {e["id"] for e in await log(hp)}
        r = await owner.post(path, data={"csrf": token, **data})
        assert r.status_code == status, r.text
        new = [e for e in await log(hp) if e["id"] not in before]
        assert len(new) == 1, [e["action"] for e in new]
        assert (new[0]["actor_id"], new[0]["actor_label"]) == (owner_id, "owner@example.com")
        return new[0]

    async def no_entry(path: str, data: dict[str, str], status: int) -> None:
        before = await log(hp)
        r = await owner.post(path, data=data)
        assert r.status_code == status, r.text
        assert await log(hp) == before

    await no_entry("/operators", {"csrf": token, "email": "not an email", "role": "viewer"}, 422)
    await no_entry("/operators", {"email": "bob@example.com", "role": "viewer"}, 403)
    invited = await one_entry(
        "/operators", {"email": "bob@example.com", "role": "viewer", "projects": ""}, 200
    )
    assert invited["action"] == "operator.create"
    assert invited["after"]["email"] == "bob@example.com" and invited["after"]["role"] == "viewer"
    bob = invited["object_id"]
    base = f"/operators/{bob}"
    role = await one_entry(base + "/role", {"role": "operator", "projects": ""})
    assert role["action"] == "operator.update"
    assert (role["before"]["role"], role["after"]["role"]) == ("viewer", "operator")
    disabled = await one_entry(base + "/disabled", {"disabled": "1"})
    assert disabled["action"] == "operator.disable"
    reset = await one_entry(base + "/reset-password", {}, 200)
    assert reset["action"] == "operator.password_reset"

    tokens_csrf = csrf_of((await owner.get("/tokens")).text)
    before = {e["id"] for e in await log(hp)}
    r = await owner.post(
        "/tokens", data={"csrf": tokens_csrf, "name": "scripts", "expires_in_days": "30"}
    )
    assert r.status_code in (200, 303), r.text
    (issued,) = [e for e in await log(hp) if e["id"] not in before]
    assert issued["action"] == "token.create"
    shown = re.search(r"hpu_[A-Za-z0-9_-]{20,}", r.text)
    assert shown, "the token is shown once"
    r = await owner.post(f"/tokens/{issued['object_id']}/revoke", data={"csrf": tokens_csrf})
    assert r.status_code in (200, 303), r.text
    (revoked,) = await log(hp, action="token.revoke")
    assert revoked["object_id"] == issued["object_id"]

    everything = json.dumps(await log(hp))
    assert shown.group(0) not in everything
    assert "hps_" not in everything, "a set-password link in the log"
    assert PASSWORD not in everything
    await owner.aclose()


async def test_an_operators_resend_is_recorded_under_their_email(hp: Hookpost) -> None:
    pid, _ = await hp.project()
    await hp.endpoint(pid, "http://127.0.0.1:9/x")
    await hp.publish(pid)
    (delivery,) = await hp.deliveries(pid)
    support, op_id = await signed_in(hp, "support@example.com", "operator")
    page = await support.get(f"/projects/{pid}/deliveries/{delivery['id']}")
    r = await support.post(
        f"/projects/{pid}/deliveries/{delivery['id']}/resend", data={"csrf": csrf_of(page.text)}
    )
    assert r.status_code == 303, r.text
    (entry,) = await log(hp, action="delivery.resend")
    assert (entry["actor_kind"], entry["actor_id"]) == ("operator", op_id)
    assert entry["actor_label"] == "support@example.com"
    r = await support.get("/audit")
    assert r.status_code == 403  # the support role does not read the log
    await support.aclose()
