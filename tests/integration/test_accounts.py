"""Operator accounts: set-password links, sign-in, throttling, sessions, personal tokens.

What a person does with an account is checked over real HTTP: the one-time
link works once and for a week, a weak or mistyped password is refused on its
field, sign-in is throttled per address *and* per account, "sign out
everywhere" ends the other browsers' sessions, disabling an operator ends its
sessions and stops its tokens, a token expires and can be revoked. And what
must never happen: a password or a token in clear in the database file or in
a log line (both are searched byte by byte), the last owner demoted.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from hookpost.cli._accounts import first_owner
from hookpost.cli.main import main
from hookpost.core import passwords
from hookpost.core.clock import ManualClock
from hookpost.domain import Conflict
from hookpost.store import SETUP_LINK_SECONDS
from hookpost.web.ratelimit import AUTH_FAILURE_BURST, RateLimiter
from tests.conftest import Hookpost, start_hookpost

PASSWORD = "a long and private passphrase"
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
LINK_RE = re.compile(r"/set-password/(hps_[A-Za-z0-9_-]+)")


@pytest.fixture
async def hp(sqlite_url: str, clock: ManualClock) -> AsyncIterator[Hookpost]:
    async for server in start_hookpost(sqlite_url, clock, workers=False):
        yield server


def browser(hp: Hookpost) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=hp.base_url, timeout=30)


def csrf_of(html: str) -> str:
    found = CSRF_RE.search(html)
    assert found, html[:500]
    return found.group(1)


async def set_password(client: httpx.AsyncClient, token: str, password: str = PASSWORD) -> None:
    page = await client.get(f"/set-password/{token}")
    assert page.status_code == 200, page.text
    data = {"csrf": csrf_of(page.text), "password": password, "confirm": password}
    r = await client.post(f"/set-password/{token}", data=data)
    assert r.status_code == 303 and r.headers["location"] == "/login?password_set=1", r.text


async def sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> int:
    r = await client.post("/login", data={"email": email, "password": password})
    return r.status_code


async def operator(hp: Hookpost, email: str, role: str = "operator") -> str:
    """A new operator with PASSWORD set; its id."""
    row, token = await hp.store.create_operator(email, role)
    async with browser(hp) as client:
        await set_password(client, token)
    return str(row["id"])


# -- the set-password link --------------------------------------------------------------


async def test_the_link_works_once_for_a_week_and_refuses_weak_passwords(hp: Hookpost) -> None:
    row, token = await hp.store.create_operator("Ana@Example.com", "admin")
    assert row["email"] == "ana@example.com" and row["has_password"] is False
    async with browser(hp) as client:
        page = await client.get(f"/set-password/{token}")
        assert "ana@example.com" in page.text
        csrf = csrf_of(page.text)
        for password, confirm, field in (
            ("short", "short", "password"),
            (" " * 20, " " * 20, "password"),
            (PASSWORD, PASSWORD + "!", "confirm"),
        ):
            data = {"csrf": csrf, "password": password, "confirm": confirm}
            r = await client.post(f"/set-password/{token}", data=data)
            assert r.status_code == 422, (password, r.text[:300])
            assert f'id="{field}-error"' in r.text
        r = await client.post(f"/set-password/{token}", data={"password": PASSWORD})
        assert r.status_code == 403  # no CSRF token: not this page's form
        await set_password(client, token)
        assert (await client.get(f"/set-password/{token}")).status_code == 404  # spent
        assert await sign_in(client, "ANA@example.com") == 303

        reset = await hp.store.reset_operator_password(row["id"])
        hp.clock.advance(SETUP_LINK_SECONDS + 1)
        assert (await client.get(f"/set-password/{reset}")).status_code == 404  # expired
    # The reset forgot the old password, and ended the session it had.
    async with browser(hp) as client:
        assert await sign_in(client, "ana@example.com") == 401


async def test_the_last_owner_can_be_neither_demoted_nor_disabled(hp: Hookpost) -> None:
    owner, _ = await hp.store.create_operator("owner@example.com", "owner")
    with pytest.raises(Conflict):
        await hp.store.update_operator(owner["id"], role="admin")
    with pytest.raises(Conflict):
        await hp.store.set_operator_disabled(owner["id"], True)
    second, _ = await hp.store.create_operator("second@example.com", "owner")
    assert (await hp.store.update_operator(owner["id"], role="admin"))["role"] == "admin"
    with pytest.raises(Conflict):
        await hp.store.set_operator_disabled(second["id"], True)


# -- secrets stay secret -----------------------------------------------------------------


async def test_passwords_and_tokens_are_never_stored_or_logged_in_clear(
    hp: Hookpost, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    email = "cleartext@example.com"
    operator_id = await operator(hp, email)
    _row, made = await hp.store.create_operator_token(operator_id, "scripts")
    async with browser(hp) as client:
        assert await sign_in(client, email, "wrong " + PASSWORD) == 401
        assert await sign_in(client, email) == 303
        page = await client.get("/tokens")
        r = await client.post("/tokens", data={"csrf": csrf_of(page.text), "name": "ci"})
        shown = re.search(r'id="new-token" class="secret">(hpu_[^<]+)<', r.text)
        assert shown, r.text[:500]
    headers = {"Authorization": f"Bearer {made}"}
    async with browser(hp) as client:
        # An Idempotency-Key is not honoured here: its stored answer would hold the token.
        keyed = {**headers, "Idempotency-Key": "retry-safe-1"}
        created = await client.post("/api/v1/tokens", json={"name": "api"}, headers=keyed)
        assert created.status_code == 201
        api_token = created.json()["token"]
        again = await client.post("/api/v1/tokens", json={"name": "api"}, headers=keyed)
        assert again.status_code == 201 and again.json()["token"] != api_token
        listed = (await client.get("/api/v1/tokens", headers=headers)).json()["data"]
    assert {t["prefix"] for t in listed} >= {made[:12], api_token[:12]}
    assert all("token" not in t for t in listed)

    secrets = [PASSWORD, made, shown.group(1), api_token, again.json()["token"]]
    database = Path(hp.settings.database_url.removeprefix("sqlite:///"))
    await hp.store.close()  # everything on disk, the WAL folded in
    raw = b"".join(
        p.read_bytes() for p in database.parent.iterdir() if p.name.startswith(database.name)
    )
    logs = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    for secret in secrets:
        assert secret.encode() not in raw, secret[:6]
        assert secret not in logs, secret[:6]
    assert b"$argon2id$" in raw  # what is stored instead


def test_password_hashes_are_argon2id_and_verify() -> None:
    stored = passwords.hash_password(PASSWORD)
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert passwords.verify(stored, PASSWORD)
    assert not passwords.verify(stored, PASSWORD + "x")
    assert not passwords.verify(None, PASSWORD)  # an invited operator has none yet
    assert not passwords.verify("not a hash", PASSWORD)


# -- sign-in throttling ------------------------------------------------------------------


async def test_sign_in_is_throttled_per_address_and_per_account(hp: Hookpost) -> None:
    await operator(hp, "target@example.com")
    await operator(hp, "other@example.com")
    t = [0.0]
    limiter = RateLimiter.for_auth_failures(clock=lambda: t[0])
    hp.app.state.auth_failures = limiter
    async with browser(hp) as client:
        for i in range(AUTH_FAILURE_BURST):
            assert await sign_in(client, "target@example.com", f"guess {i}") == 401
        r = await client.post("/login", data={"email": "target@example.com", "password": PASSWORD})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        # Another address (the address bucket forgotten): the account is still locked...
        limiter._buckets.pop("127.0.0.1")
        assert await sign_in(client, "target@example.com") == 429
        # ...and another account is not.
        assert await sign_in(client, "other@example.com") == 303
        t[0] += 600  # the buckets refill
        assert await sign_in(client, "TARGET@example.com") == 303


# -- sessions ------------------------------------------------------------------------------


async def test_sign_out_everywhere_and_disabling_end_sessions_and_tokens(hp: Hookpost) -> None:
    operator_id = await operator(hp, "ops@example.com")
    _row, token = await hp.store.create_operator_token(operator_id, "scripts")
    bearer = {"Authorization": f"Bearer {token}"}
    async with browser(hp) as laptop, browser(hp) as phone:
        assert await sign_in(laptop, "ops@example.com") == 303
        assert await sign_in(phone, "ops@example.com") == 303
        assert (await phone.get("/")).status_code == 200
        page = await laptop.get("/")
        r = await laptop.post("/logout-everywhere", data={"csrf": csrf_of(page.text)})
        assert r.status_code == 303
        for client in (laptop, phone):
            r = await client.get("/")
            assert r.status_code == 303 and r.headers["location"].startswith("/login")

        assert await sign_in(phone, "ops@example.com") == 303
        assert (await phone.get("/api/v1/projects", headers=bearer)).status_code == 200
        await hp.store.set_operator_disabled(operator_id, True)
        assert (await phone.get("/")).status_code == 303
        assert (await phone.get("/api/v1/projects", headers=bearer)).status_code == 401
        assert await sign_in(phone, "ops@example.com") == 401
        await hp.store.set_operator_disabled(operator_id, False)
        assert (await phone.get("/api/v1/projects", headers=bearer)).status_code == 200


# -- personal tokens -----------------------------------------------------------------------


async def test_tokens_expire_and_can_be_revoked(hp: Hookpost) -> None:
    operator_id = await operator(hp, "tok@example.com", "viewer")
    _row, token = await hp.store.create_operator_token(operator_id, "first")
    bearer = {"Authorization": f"Bearer {token}"}
    async with browser(hp) as client:
        r = await client.post(
            "/api/v1/tokens", json={"name": "week", "expires_in_days": 7}, headers=bearer
        )
        assert r.status_code == 201, r.text
        week = r.json()
        assert week["token"].startswith("hpu_") and week["prefix"] == week["token"][:12]
        weekly = {"Authorization": f"Bearer {week['token']}"}
        assert (await client.get("/api/v1/projects", headers=weekly)).status_code == 200
        for bad, field in (
            ({"name": ""}, "name"),
            ({"name": "x", "expires_in_days": 0}, "expires"),
        ):
            r = await client.post("/api/v1/tokens", json=bad, headers=bearer)
            assert r.status_code == 422 and field in r.text
        hp.clock.advance(7 * 86400 + 1)
        assert (await client.get("/api/v1/projects", headers=weekly)).status_code == 401

        r = await client.delete(f"/api/v1/tokens/{week['id']}", headers=bearer)
        assert r.status_code == 200 and r.json()["revoked_at"] is not None
        # Another operator's token is not found; the admin token has no tokens of its own.
        other = await operator(hp, "other@example.com")
        _r, theirs = await hp.store.create_operator_token(other, "theirs")
        r = await client.delete(
            f"/api/v1/tokens/{week['id']}", headers={"Authorization": f"Bearer {theirs}"}
        )
        assert r.status_code == 404
        assert (await hp.http.get("/api/v1/tokens")).status_code == 403

        (first,) = [
            t
            for t in (await client.get("/api/v1/tokens", headers=bearer)).json()["data"]
            if t["name"] == "first"
        ]
        assert first["last_used_at"] is not None
        r = await client.delete(f"/api/v1/tokens/{first['id']}", headers=bearer)
        assert r.status_code == 200
        assert (await client.get("/api/v1/tokens", headers=bearer)).status_code == 401


async def test_a_token_acts_as_its_owner_in_the_audit_log(hp: Hookpost) -> None:
    operator_id = await operator(hp, "auditor@example.com", "admin")
    _row, token = await hp.store.create_operator_token(operator_id, "scripts")
    async with browser(hp) as client:
        r = await client.post(
            "/api/v1/projects",
            json={"name": "by token"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 201
    (entry,) = (await hp.http.get("/api/v1/audit-log", params={"action": "project.create"})).json()[
        "data"
    ]
    assert entry["actor"]["kind"] == "token" and entry["actor"]["id"] == operator_id
    assert entry["actor"]["label"] == token[:12]
    signed = (await hp.http.get("/api/v1/audit-log", params={"action": "session.sign_in"})).json()
    assert [e["actor"]["label"] for e in signed["data"]] == []  # operator() signs in nobody


# -- the shell -----------------------------------------------------------------------------


def test_the_cli_creates_lists_disables_resets_and_issues_tokens(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOKPOST_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("HOOKPOST_PUBLIC_URL", "https://hooks.example.com")
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(main, list(args))
        assert result.exit_code == code, result.output
        return result.output

    out = run("users", "create", "Dev@Example.com", "--role", "operator")
    assert "created dev@example.com (operator)" in out
    assert re.search(r"https://hooks\.example\.com/set-password/hps_\S+", out), out
    assert "already exists" in run("users", "create", "dev@example.com", "--role", "viewer", code=1)
    assert "role" in run("users", "create", "x@example.com", "--role", "god", code=2)
    assert "no project" in run(
        "users", "create", "x@example.com", "--role", "viewer", "--project", "proj_no", code=1
    )
    assert re.search(r"dev@example\.com\s+operator\s+invited\s+all projects", run("users", "list"))
    assert "set-password/hps_" in run("users", "reset-password", "dev@example.com")
    result = runner.invoke(main, ["tokens", "create", "--user", "dev@example.com", "--name", "ci"])
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"hpu_[A-Za-z0-9_-]{40,}", result.stdout.strip()), result.stdout
    assert "dev@example.com disabled" in run("users", "disable", "dev@example.com")
    assert "disabled" in run("users", "list")
    assert "is disabled" in run(
        "tokens", "create", "--user", "dev@example.com", "--name", "x", code=1
    )
    assert "no such operator" in run("users", "disable", "nobody@example.com", code=1)
    assert "is now viewer" in run("users", "set-role", "dev@example.com", "viewer")


async def test_serve_makes_the_first_owner_once(hp: Hookpost) -> None:
    link = await first_owner(hp.store, hp.settings)
    assert link is not None and LINK_RE.search(link)
    assert link.startswith(f"http://127.0.0.1:{hp.settings.port}/set-password/")
    assert await first_owner(hp.store, hp.settings) is None  # operators exist now
    (owner,) = await hp.store.list_operators()
    assert (owner["email"], owner["role"]) == ("owner@localhost", "owner")
    token = LINK_RE.search(link)
    assert token is not None
    async with browser(hp) as client:
        await set_password(client, token.group(1))
        assert await sign_in(client, "owner@localhost") == 303
        page = await client.get("/operators")
        assert page.status_code == 200 and "owner@localhost" in page.text
