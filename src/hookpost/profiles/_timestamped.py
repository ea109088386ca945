"""The ``t=<timestamp>,v1=<hex>[,v1=<hex>...]`` signature scheme.

Stripe made it the common shape; GalaxyJoy uses it with a millisecond ``t``.
The signed string is ``"{t}." + raw body``, so the timestamp is covered by the
signature and a replayed request cannot be re-dated. One ``v1`` per live
secret lets a receiver holding either the old or the new secret verify during
a rotation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from hookpost.core.signing import WebhookVerificationError, hmac_sha256
from hookpost.profiles._base import MalformedWebhookError, lower_headers
from hookpost.profiles._checks import (
    any_digest_matches,
    check_fresh,
    parse_json,
    parse_uint,
    raw_key,
    require_header,
    usable_keys,
    validate_raw_secret,
)
from hookpost.profiles._encoding import decode_digest


@dataclass(frozen=True, slots=True)
class TimestampedScheme:
    header: str
    unit: Literal["s", "ms"] = "s"

    def _stamp(self, timestamp: float) -> int:
        return int(timestamp * 1000) if self.unit == "ms" else int(timestamp)

    @staticmethod
    def digest(secret: str, stamp: int, body: bytes) -> bytes:
        return hmac_sha256(raw_key(secret), f"{stamp}.".encode() + body)

    def sign(self, timestamp: float, body: bytes, secrets: Sequence[str]) -> dict[str, str]:
        if not secrets:
            raise ValueError("at least one secret is needed to sign")
        stamp = self._stamp(timestamp)
        sigs = [f"v1={self.digest(s, stamp, body).hex()}" for s in secrets]
        return {self.header: ",".join([f"t={stamp}", *sigs])}

    def check(
        self,
        body: bytes,
        headers: Mapping[str, str],
        secrets: Sequence[str],
        *,
        tolerance: float,
        now: float,
    ) -> None:
        """Raise unless one ``v1`` matches one secret and ``t`` is fresh."""
        keys = usable_keys(secrets)
        stamp, given = self.parse(require_header(lower_headers(headers), self.header))
        check_fresh(stamp / 1000 if self.unit == "ms" else stamp, now, tolerance)
        expected = [self.digest(s, stamp, body) for s in keys]
        if not any_digest_matches(expected, (decode_digest(g, "hex") for g in given)):
            raise WebhookVerificationError("no matching signature")

    def parse(self, value: str) -> tuple[int, list[str]]:
        """``(t, [v1, ...])``; other schemes (``v0=``, future versions) are ignored."""
        stamp: int | None = None
        given: list[str] = []
        for item in value.split(","):
            key, sep, val = item.partition("=")
            key = key.strip()
            if not sep:
                continue
            if key == "t" and stamp is None:
                stamp = parse_uint(val)
                if stamp is None:
                    raise MalformedWebhookError(f"invalid t= in {self.header}")
            elif key == "v1":
                given.append(val.strip())
        if stamp is None or not given:
            raise MalformedWebhookError(f"{self.header} needs t= and at least one v1=")
        return stamp, given


class TimestampedProfile:
    """Base of the ``t=…,v1=…`` profiles (Stripe, GalaxyJoy): a subclass names
    itself, picks its scheme (header and timestamp unit) and builds its body."""

    name: str
    max_attempts: int | None = None
    scheme: TimestampedScheme

    def sign(
        self, *, msg_id: str, timestamp: float, body: bytes, secrets: Sequence[str]
    ) -> dict[str, str]:
        return self.scheme.sign(timestamp, body, secrets)

    def verify(
        self,
        body: bytes,
        headers: Mapping[str, str],
        secrets: Sequence[str],
        *,
        tolerance: float,
        now: float,
    ) -> Any:
        self.scheme.check(body, headers, secrets, tolerance=tolerance, now=now)
        return parse_json(body)

    def is_success(self, status: int) -> bool:
        return 200 <= status < 300

    def validate_secret(self, secret: str) -> str | None:
        return validate_raw_secret(secret)
