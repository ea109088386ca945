"""Operator accounts: sign in with a password, choose one from a set-password link.

The password is hashed and checked here (:mod:`hookpost.core.passwords`,
Argon2id, in a worker thread: ~50 ms of CPU that must not stall the event
loop), so the store only ever sees the hash. A sign-in with a hash made under
weaker parameters than today's stores a new one. Throttling is the web
layer's (per client address and per account, ``hookpost.web.deps``), which
counts the failures this module reports.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hookpost.core import passwords
from hookpost.domain import Invalid
from hookpost.store import Store


async def sign_in(store: Store, email: str, password: str) -> dict[str, Any] | None:
    """The enabled operator whose email and password these are, or None.

    As slow for an unknown email, a disabled operator or one with no password
    yet as for a wrong password, so the answer's timing names no account.
    """
    operator, stored = await store.password_hash_for(email)
    ok = await asyncio.to_thread(passwords.verify, stored, password)
    if operator is None or stored is None or not ok:
        return None  # the caller audits the refusal (capped: web.deps.record_refusal)
    if passwords.needs_rehash(stored):
        await store.rehash_password(
            operator["id"], await asyncio.to_thread(passwords.hash_password, password)
        )
    return operator  # the session it opens writes the "session.sign_in" entry


async def set_password(store: Store, token: str, password: str, confirm: str) -> dict[str, Any]:
    """Spend a set-password link: the operator it was for, now with this password.

    Invalid("password"/"confirm") for a weak or mistyped password (the link
    stays good); NotFound("set-password link") for a used or expired one.
    """
    problem = passwords.check_strength(password)
    if problem is not None:
        raise Invalid("password", problem)
    if password != confirm:
        raise Invalid("confirm", "does not match the password")
    await store.setup_link_operator(token)  # NotFound before spending 50 ms on a hash
    hashed = await asyncio.to_thread(passwords.hash_password, password)
    return await store.use_setup_token(token, hashed)


__all__ = ["set_password", "sign_in"]
