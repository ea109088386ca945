"""Endpoint rows in and out of encryption, at the store boundary only.

The store seals ``secret`` and every ``old_secrets[].secret`` on the way in
and opens them on the way out, so the API and the dispatcher only ever see
plaintext and the database only ever holds ciphertext. Each value is bound to
its endpoint id (AES-GCM associated data).
"""

from __future__ import annotations

import logging
from typing import Any

from hookpost.core.crypto import SecretBox, SecretKeyError, is_encrypted

log = logging.getLogger("hookpost.store")


def require_box(box: SecretBox | None) -> SecretBox:
    if box is None:
        raise SecretKeyError(
            "this Store has no secret key: build it with box=load_secret_box(settings)"
        )
    return box


def _context(endpoint_id: str) -> str:
    return f"endpoint:{endpoint_id}"


def seal(box: SecretBox | None, endpoint_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``values`` with the secrets it carries encrypted."""
    out = dict(values)
    ctx = _context(endpoint_id)
    if out.get("secret") is not None:
        out["secret"] = require_box(box).encrypt(out["secret"], ctx)
    if out.get("old_secrets"):
        out["old_secrets"] = [
            {**s, "secret": require_box(box).encrypt(s["secret"], ctx)} for s in out["old_secrets"]
        ]
    return out


def unseal(box: SecretBox | None, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` (an endpoint) with its secrets decrypted; SecretKeyError if they cannot be."""
    ctx = _context(row["id"])

    def open_(value: str) -> str:
        return require_box(box).decrypt(value, ctx) if is_encrypted(value) else value

    if row.get("secret") is not None:
        row["secret"] = open_(row["secret"])
    if row.get("old_secrets"):
        row["old_secrets"] = [{**s, "secret": open_(s["secret"])} for s in row["old_secrets"]]
    return row


def unseal_for_delivery(box: SecretBox | None, row: dict[str, Any]) -> dict[str, Any]:
    """Like :func:`unseal`, but a row that cannot be decrypted gets ``secret=None``.

    One unreadable row (a process started with the wrong key) must not stop a
    worker's whole batch: its deliveries fail to sign and come back when
    their lease expires, while the others go out.
    """
    try:
        return unseal(box, row)
    except SecretKeyError as exc:
        log.error("endpoint %s: its secret cannot be decrypted: %s", row.get("id"), exc)
        row["secret"] = None
        row["old_secrets"] = []
        return row


def needs_reseal(box: SecretBox, row: dict[str, Any]) -> bool:
    """True if any secret of the raw row is not yet encrypted under the current key."""
    values = [row["secret"], *(s["secret"] for s in row.get("old_secrets") or [])]
    return any(not box.is_current(v) for v in values)
