"""A single signature over the raw body, in one header, with no timestamp.

Gluwa, Just Wallet and Byl all work this way. The scheme has no room for a
second signature, so during a secret rotation only the newest secret signs;
and it has no timestamp, so it offers no replay protection (``tolerance`` does
not apply) -- receivers dedupe on the event id in the body instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hookpost.core.signing import WebhookVerificationError, hmac_sha256
from hookpost.profiles._base import lower_headers
from hookpost.profiles._checks import (
    any_digest_matches,
    parse_json,
    raw_key,
    require_header,
    usable_keys,
    validate_raw_secret,
)
from hookpost.profiles._encoding import Encoding, decode_digest, encode_digest


@dataclass(frozen=True, slots=True)
class BodySignatureScheme:
    header: str
    encoding: Encoding

    def sign(self, body: bytes, secrets: Sequence[str]) -> dict[str, str]:
        """Sign with ``secrets[0]``, the current secret."""
        if not secrets:
            raise ValueError("at least one secret is needed to sign")
        return {self.header: encode_digest(hmac_sha256(raw_key(secrets[0]), body), self.encoding)}

    def check(self, body: bytes, headers: Mapping[str, str], secrets: Sequence[str]) -> None:
        keys = usable_keys(secrets)
        given = decode_digest(require_header(lower_headers(headers), self.header), self.encoding)
        expected = [hmac_sha256(raw_key(s), body) for s in keys]
        if not any_digest_matches(expected, [given]):
            raise WebhookVerificationError("no matching signature")


class BodySignedProfile:
    """Base of the profiles signed by :class:`BodySignatureScheme` (Gluwa, Just
    Wallet, Byl): a subclass names itself, picks its scheme and success rule,
    and builds its body."""

    name: str
    max_attempts: int | None = None
    scheme: BodySignatureScheme
    #: Only HTTP 200 counts as delivered (Just Wallet, Byl); else any 2xx.
    only_200: bool = False

    def sign(
        self, *, msg_id: str, timestamp: float, body: bytes, secrets: Sequence[str]
    ) -> dict[str, str]:
        return self.scheme.sign(body, secrets)

    def verify(
        self,
        body: bytes,
        headers: Mapping[str, str],
        secrets: Sequence[str],
        *,
        tolerance: float,
        now: float,
    ) -> Any:
        self.scheme.check(body, headers, secrets)
        return parse_json(body)

    def is_success(self, status: int) -> bool:
        return status == 200 if self.only_200 else 200 <= status < 300

    def validate_secret(self, secret: str) -> str | None:
        return validate_raw_secret(secret)
