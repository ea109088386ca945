"""Checks every verifying profile needs, written once so none gets them wrong.

Header lookup, timestamp freshness, JSON parsing, constant-time digest matching,
the "secret string is the HMAC key" convention of the seed providers -- and
refusing a key that is no key at all, on both sides: a verifier handed ``""``
(``os.environ.get("WEBHOOK_SECRET", "")``) or a bare ``whsec_`` would
otherwise check signatures made with the empty HMAC key, which anyone can make.
"""

from __future__ import annotations

import hmac
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from hookpost.core.signing import (
    SECRET_PREFIX,
    InvalidSecretError,
    WebhookVerificationError,
    b64decode,
)
from hookpost.profiles._base import MalformedWebhookError

_UINT = re.compile(r"[0-9]{1,19}")

#: Prefixes of asymmetric keys: they only mean something to the standard profile.
ASYMMETRIC_PREFIXES = ("whsk_", "whpk_")
#: Prefixes after which the key is base64: a key must follow them.
KEY_PREFIXES = (SECRET_PREFIX, *ASYMMETRIC_PREFIXES)


def _invisible(text: str) -> bool:
    """Nothing but whitespace, control or format characters (NUL, BOM, zero-width space)."""
    return all(c.isspace() or unicodedata.category(c) in ("Cc", "Cf") for c in text)


def key_problem(secret: object) -> str | None:
    """Why ``secret`` is no key at all (for every profile, signing or verifying), or None.

    Empty, blank or invisible text; or a ``whsec_``/``whsk_``/``whpk_`` key
    whose base64 part is missing or decodes to nothing but zero bytes -- which
    HMAC cannot tell from the empty key. A prefixed key that is not valid
    base64 is left to the profile (for ``standard`` it explains no signature;
    for the raw-text profiles it is just text).
    """
    if not isinstance(secret, str):
        return f"must be text, not {type(secret).__name__}"
    if _invisible(secret):
        return "is empty" if not secret else "is blank"
    for prefix in KEY_PREFIXES:
        if not secret.startswith(prefix):
            continue
        rest = secret[len(prefix) :]
        if _invisible(rest.replace("=", "")):
            return f"has no key after {prefix!r}"
        try:
            raw = b64decode(rest)
        except ValueError:
            return None
        if not any(raw):
            return f"decodes to nothing but zero bytes after {prefix!r}"
    return None


def usable_keys(secrets: object, name: str = "secret") -> list[str]:
    """The keys to verify with, or ``InvalidSecretError`` if any of them is no key.

    Accepts one key or a list of them. One bad entry refuses the whole list:
    silently skipping it would hide the mistake until the good key is rotated out.
    """
    if secrets is None:
        raise InvalidSecretError(f"no {name} given (None)")
    if isinstance(secrets, str | bytes | bytearray):
        keys: list[object] = [secrets]
    else:
        try:
            keys = list(secrets)  # type: ignore[call-overload]
        except TypeError:
            raise InvalidSecretError(
                f"{name} must be text or a list of texts, not {type(secrets).__name__}"
            ) from None
    if not keys:
        raise InvalidSecretError(f"no {name} to verify with")
    for n, key in enumerate(keys, 1):
        problem = key_problem(key)
        if problem:
            where = name if len(keys) == 1 else f"{name} {n} of {len(keys)}"
            raise InvalidSecretError(f"{where} {problem}")
    return [str(k) for k in keys]


def require_header(headers: Mapping[str, str], name: str) -> str:
    """The value of header ``name`` in already lower-cased ``headers``."""
    value = headers.get(name.lower(), "").strip()
    if not value:
        raise MalformedWebhookError(f"missing {name} header")
    return value


def parse_uint(text: str) -> int | None:
    """A plain decimal integer, stricter than ``int()`` (no ``_``, sign or Unicode digits)."""
    text = text.strip()
    return int(text) if _UINT.fullmatch(text) else None


def check_fresh(timestamp: float, now: float, tolerance: float) -> None:
    """Replay protection: a signed timestamp too far from ``now`` (either way) is refused."""
    # Written so that a NaN anywhere fails closed instead of passing.
    if not (math.isfinite(timestamp) and abs(now - timestamp) <= tolerance):
        raise WebhookVerificationError("timestamp outside the tolerance window")


def parse_json(body: bytes) -> Any:
    """The verified body as JSON; a signed non-JSON body is still not a webhook."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise MalformedWebhookError("body is not JSON") from None


def any_digest_matches(expected: Iterable[bytes], given: Iterable[bytes | None]) -> bool:
    """Compare every pair in constant time, without stopping at the first match."""
    candidates = [g for g in given if g is not None]
    found = False
    for e in expected:
        for g in candidates:
            found |= hmac.compare_digest(e, g)
    return found


def raw_key(secret: str) -> bytes:
    """The HMAC key when the scheme uses the secret text itself.

    Stripe and every seed provider key HMAC with the secret string's bytes
    (``crypto.createHmac("sha256", secret)``), so a generated ``whsec_...``
    secret is used whole, prefix included -- exactly what their customers'
    code does with it.
    """
    return secret.encode("utf-8")


def validate_raw_secret(secret: str) -> str | None:
    """Any text works as a raw key; refuse only what is surely a mistake."""
    problem = key_problem(secret)
    if problem:
        return problem
    if secret != secret.strip():
        return "must not start or end with whitespace"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in secret):
        return "must not contain control characters"
    try:
        secret.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text"
    if secret.startswith(ASYMMETRIC_PREFIXES):
        return "asymmetric keys (whsk_/whpk_) only work with the standard profile"
    return None
