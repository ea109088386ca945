"""Checks every verifying profile needs, written once so none gets them wrong.

Header lookup, timestamp freshness, JSON parsing, constant-time digest matching
and the "secret string is the HMAC key" convention of the seed providers.
"""

from __future__ import annotations

import hmac
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from hookpost.core.signing import WebhookVerificationError
from hookpost.profiles._base import MalformedWebhookError

_UINT = re.compile(r"[0-9]{1,19}")

#: Prefixes of asymmetric keys: they only mean something to the standard profile.
ASYMMETRIC_PREFIXES = ("whsk_", "whpk_")


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
    if not secret or secret != secret.strip():
        return "must not be empty or start or end with whitespace"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in secret):
        return "must not contain control characters"
    try:
        secret.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text"
    if secret.startswith(ASYMMETRIC_PREFIXES):
        return "asymmetric keys (whsk_/whpk_) only work with the standard profile"
    return None
