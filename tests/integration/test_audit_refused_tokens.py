"""A bearer token the API refuses is recorded -- by whom (an address), why, never the token.

Every kind of refused token -- junk, a wrong admin token, an unknown or a
revoked API key, an unknown, revoked or expired personal token -- answers 401
and leaves exactly one ``token.refused`` entry by an ``anonymous`` actor with
the caller's address and the reason; no entry holds the token. Once the
address is locked out (after ``AUTH_FAILURE_BURST`` refusals) it is answered
429 before any lookup and nothing more is written; past a process-wide cap
nothing is written whatever the address; and an entry the database cannot
take leaves the answer a 401, never a 503. Both backends.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from hookpost.domain import SHELL, acting_as
from hookpost.store import AuditFilter
from hookpost.web.ratelimit import AUTH_FAILURE_BURST, RateLimiter
from tests.conftest import Hookpost

KEY = "unknown or revoked API key"
PERSONAL = "unknown, revoked or expired personal token"


@pytest.fixture
async def hp(hookpost_noworkers: Hookpost) -> AsyncIterator[Hookpost]:
    yield hookpost_noworkers


async def refused(hp: Hookpost) -> list[dict[str, Any]]:
    page = await hp.store.list_audit(AuditFilter(action="token.refused"), limit=250, cursor=None)
    return list(page.data)


async def _revoked_key(hp: Hookpost) -> str:
    project, _ = await hp.store.create_project("Acme")
    row, key = await hp.store.create_api_key(project["id"], "full")
    await hp.store.revoke_api_key(project["id"], row["id"])
    return key


async def _personal(hp: Hookpost, *, revoke: bool = False, expired: bool = False) -> str:
    with acting_as(SHELL):
        op, _ = await hp.store.create_operator(f"op{revoke}{expired}@example.com", "admin")
        expires = hp.clock.now() - 1 if expired else None
        row, token = await hp.store.create_operator_token(op["id"], "ci", expires)
        if revoke:
            await hp.store.revoke_operator_token(op["id"], row["id"])
    return token


async def _junk(hp: Hookpost) -> str:
    return "not-a-token-at-all"


async def _wrong_admin(hp: Hookpost) -> str:
    return "admin-token-guess-7f3e"


async def _unknown_key(hp: Hookpost) -> str:
    return "hpk_" + "A" * 40


async def _unknown_personal(hp: Hookpost) -> str:
    return "hpu_" + "B" * 43


async def _revoked_personal(hp: Hookpost) -> str:
    return await _personal(hp, revoke=True)


async def _expired_personal(hp: Hookpost) -> str:
    return await _personal(hp, expired=True)


TOKENS: dict[str, tuple[Callable[[Hookpost], Awaitable[str]], str]] = {
    "junk": (_junk, KEY),
    "wrong admin token": (_wrong_admin, KEY),
    "unknown API key": (_unknown_key, KEY),
    "revoked API key": (_revoked_key, KEY),
    "unknown personal token": (_unknown_personal, PERSONAL),
    "revoked personal token": (_revoked_personal, PERSONAL),
    "expired personal token": (_expired_personal, PERSONAL),
}


@pytest.mark.parametrize("kind", TOKENS)
async def test_a_refused_token_leaves_one_entry_without_the_token(hp: Hookpost, kind: str) -> None:
    make, reason = TOKENS[kind]
    token = await make(hp)
    async with httpx.AsyncClient(base_url=hp.base_url, timeout=30) as client:
        r = await client.get("/api/v1/projects", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "unauthorized"
    (entry,) = await refused(hp)
    assert (entry["actor_kind"], entry["actor_id"], entry["address"]) == (
        "anonymous",
        "",
        "127.0.0.1",
    )
    assert entry["after"] == {"reason": reason}
    everything = json.dumps((await hp.store.list_audit(AuditFilter(), limit=250, cursor=None)).data)
    assert token not in everything


async def test_no_token_is_no_guess_and_leaves_nothing(hp: Hookpost) -> None:
    async with httpx.AsyncClient(base_url=hp.base_url, timeout=30) as client:
        assert (await client.get("/api/v1/projects")).status_code == 401
        r = await client.get("/api/v1/projects", headers={"Authorization": "Basic eDp5"})
        assert r.status_code == 401
    assert await refused(hp) == []


async def test_a_locked_out_address_writes_nothing_more(hp: Hookpost) -> None:
    bad = {"Authorization": "Bearer guess"}
    async with httpx.AsyncClient(base_url=hp.base_url, timeout=30) as client:
        for _ in range(AUTH_FAILURE_BURST):
            assert (await client.get("/api/v1/projects", headers=bad)).status_code == 401
        for _ in range(5):
            r = await client.get("/api/v1/projects", headers=bad)
            assert r.status_code == 429 and "Retry-After" in r.headers
    assert len(await refused(hp)) == AUTH_FAILURE_BURST


async def test_refusals_from_many_addresses_are_recorded_up_to_the_process_cap(
    hp: Hookpost,
) -> None:
    # Each address has its own lockout; the process-wide cap bounds what guessing from
    # many addresses writes (here: a cap of 3, every address a fresh one).
    hp.app.state.refusal_records = RateLimiter(1 / 3600, burst=3)
    async with httpx.AsyncClient(base_url=hp.base_url, timeout=30) as client:
        for _ in range(6):
            hp.app.state.auth_failures = RateLimiter.for_auth_failures()  # a new address
            r = await client.get("/api/v1/projects", headers={"Authorization": "Bearer guess"})
            assert r.status_code == 401
    assert len(await refused(hp)) == 3


@pytest.mark.parametrize(
    "failure",
    [
        sqlite3.OperationalError("database or disk is full"),
        sqlite3.OperationalError("database is locked"),
        OSError("connection refused"),
    ],
    ids=["full", "locked", "unreachable"],
)
async def test_an_entry_that_cannot_be_written_leaves_the_answer_a_401(
    hp: Hookpost, monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    async def fails(*args: Any, **kwargs: Any) -> None:
        raise failure

    monkeypatch.setattr(hp.store, "record_audit", fails)
    async with httpx.AsyncClient(base_url=hp.base_url, timeout=30) as client:
        r = await client.get("/api/v1/projects", headers={"Authorization": "Bearer guess"})
        assert r.status_code == 401 and r.json()["error"] == "unauthorized"
        r = await client.post("/login", data={"token": "guess"})
        assert r.status_code == 401
