"""Endpoint rows in and out of encryption, at the store boundary only.

The store seals ``secret``, every ``old_secrets[].secret`` and the value of
every secret custom header (:mod:`hookpost.core.secret_headers`) on the way in
and opens them on the way out, so the API and the dispatcher only ever see
plaintext and the database only ever holds ciphertext. Each value is bound to
its endpoint id (AES-GCM associated data), a header's also to its name.

A broker URL with a password (``amqp://user:pass@host/``, issue 19) is sealed
whole, bound to ``endpoint:ID:url``. Opened, the row's ``url`` is the masked
form (:func:`hookpost.core.destination_url.mask`), the one every answer, page
and attempt shows, and ``wire_url`` the real one, which only the transports
read: nothing that displays an endpoint can show the password by mistake.

A header's secrecy is kept in its stored form: a sealed value *is* the mark
(there is no separate column), so :func:`unseal` reports the secret names as
``secret_headers`` -- the sealed ones, and clear ones the rule names (rows
written before headers were sealed; ``rotate-key`` seals them).
"""

from __future__ import annotations

import logging
from typing import Any

from hookpost.core import destination_url, secret_headers
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


def _url_context(endpoint_id: str) -> str:
    return f"endpoint:{endpoint_id}:url"


def _header_context(endpoint_id: str, name: str) -> str:
    return f"endpoint:{endpoint_id}:header:{secret_headers.normalize(name)}"


def seal(box: SecretBox | None, endpoint_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``values`` with the secrets it carries encrypted.

    ``values["secret_headers"]`` (names marked secret, not a column) is
    consumed: those headers and the ones the rule names are sealed.
    """
    out = dict(values)
    marked = out.pop("secret_headers", None) or []
    if out.get("headers"):
        out["headers"] = {
            k: require_box(box).encrypt(v, _header_context(endpoint_id, k))
            if secret_headers.is_secret(k, marked)
            else v
            for k, v in out["headers"].items()
        }
    if out.get("url") and destination_url.has_credentials(out["url"]):
        out["url"] = require_box(box).encrypt(out["url"], _url_context(endpoint_id))
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
    _unseal_headers(box, row)
    _unseal_url(box, row)
    return row


def _unseal_url(box: SecretBox | None, row: dict[str, Any]) -> None:
    url = row.get("url")
    if url and is_encrypted(url):
        plain = require_box(box).decrypt(url, _url_context(row["id"]))
        row["url"], row["wire_url"] = destination_url.mask(plain), plain


def _unseal_headers(box: SecretBox | None, row: dict[str, Any]) -> None:
    headers: dict[str, str] = dict(row.get("headers") or {})
    sealed = [k for k, v in headers.items() if is_encrypted(v)]
    for name in sealed:
        headers[name] = require_box(box).decrypt(headers[name], _header_context(row["id"], name))
    row["headers"] = headers
    row["secret_headers"] = secret_headers.secret_names(headers, sealed)


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
        # Never send ciphertext as a header value: drop what could not be opened.
        headers = row.get("headers") or {}
        row["headers"] = {k: v for k, v in headers.items() if not is_encrypted(v)}
        row["secret_headers"] = secret_headers.secret_names(row["headers"])
        if is_encrypted(row.get("url") or ""):
            row["url"] = "(a sealed URL this key cannot open)"
        return row


def needs_reseal(box: SecretBox, row: dict[str, Any]) -> bool:
    """True if any secret of the raw row is not yet encrypted under the current key."""
    values = [row["secret"], *(s["secret"] for s in row.get("old_secrets") or [])]
    if is_encrypted(row.get("url") or ""):
        values.append(row["url"])
    headers = row.get("headers") or {}
    values += [v for k, v in headers.items() if is_encrypted(v) or secret_headers.secret_by_name(k)]
    return any(not box.is_current(v) for v in values)
