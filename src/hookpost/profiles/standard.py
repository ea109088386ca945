"""Standard Webhooks (https://www.standardwebhooks.com), the default profile.

Headers ``webhook-id``, ``webhook-timestamp`` (unix seconds) and
``webhook-signature``: space-separated ``v1,<base64 HMAC-SHA256>`` (for a
``whsec_`` secret, keyed with its base64-decoded bytes) or ``v1a,<base64
ed25519 signature>`` (for a ``whsk_`` secret key, see
:mod:`hookpost.profiles.ed25519`), each over ``"{id}.{timestamp}.{body}"``;
one signature per live secret while a rotated-out secret is in its grace
period. Body ``{"type", "timestamp", "data"}``.

A verifier holding a ``whpk_`` public key (or the ``whsk_`` itself) checks
``v1a`` signatures; one holding a ``whsec_`` secret checks ``v1``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hookpost.core import jsonenc
from hookpost.core.signing import (
    SECRET_PREFIX,
    WebhookVerificationError,
    b64decode,
    b64encode,
    hmac_sha256,
    secret_key_bytes,
    signing_key,
)
from hookpost.profiles import ed25519
from hookpost.profiles._base import EventData, lower_headers
from hookpost.profiles._checks import (
    any_digest_matches,
    check_fresh,
    key_problem,
    parse_json,
    parse_uint,
    require_header,
    usable_keys,
)
from hookpost.profiles._encoding import decode_digest
from hookpost.profiles._times import iso_millis


def signed_content(msg_id: str, timestamp: int, body: bytes) -> bytes:
    return f"{msg_id}.{timestamp}.".encode() + body


class StandardProfile:
    name = "standard"
    max_attempts: int | None = None

    def body(self, event: EventData) -> bytes:
        return jsonenc.dumps(
            {"type": event.type, "timestamp": iso_millis(event.created_at), "data": event.payload}
        )

    @staticmethod
    def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
        """``v1,<hmac>`` for a ``whsec_`` secret, ``v1a,<ed25519>`` for a ``whsk_`` key."""
        content = signed_content(msg_id, timestamp, body)
        if secret.startswith(ed25519.SECRET_KEY_PREFIX):
            return "v1a," + b64encode(ed25519.sign(secret, content))
        return "v1," + b64encode(hmac_sha256(signing_key(secret), content))

    def sign(
        self, *, msg_id: str, timestamp: float, body: bytes, secrets: Sequence[str]
    ) -> dict[str, str]:
        ts = int(timestamp)
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(ts),
            "webhook-signature": " ".join(self.signature(s, msg_id, ts, body) for s in secrets),
        }

    def verify(
        self,
        body: bytes,
        headers: Mapping[str, str],
        secrets: Sequence[str],
        *,
        tolerance: float,
        now: float,
    ) -> Any:
        keys = usable_keys(secrets)
        h = lower_headers(headers)
        msg_id = require_header(h, "webhook-id")
        ts = parse_uint(require_header(h, "webhook-timestamp"))
        sig_header = require_header(h, "webhook-signature")
        if ts is None:
            raise WebhookVerificationError("invalid webhook-timestamp")
        check_fresh(ts, now, tolerance)
        given: dict[str, list[bytes | None]] = {"v1": [], "v1a": []}
        for part in sig_header.split():
            version, _, value = part.partition(",")
            if version in given:
                given[version].append(decode_digest(value, "base64"))
        content = signed_content(msg_id, ts, body)
        if any(_matches(s, content, given) for s in keys):
            return parse_json(body)
        raise WebhookVerificationError("no matching signature")

    def is_success(self, status: int) -> bool:
        return 200 <= status < 300

    def validate_secret(self, secret: str) -> str | None:
        problem = key_problem(secret)
        if problem:
            return problem
        if secret.startswith(ed25519.PUBLIC_KEY_PREFIX):
            return "a whpk_ public key cannot sign; give the whsk_ secret key"
        if secret.startswith(ed25519.SECRET_KEY_PREFIX):
            try:
                ed25519.load_secret_key(secret)
            except ValueError as exc:
                return str(exc)
            return None
        if not secret.startswith(SECRET_PREFIX):
            return f"must start with {SECRET_PREFIX!r} followed by base64 (or be a whsk_ key)"
        try:
            key = b64decode(secret[len(SECRET_PREFIX) :])
        except ValueError:
            return f"must be {SECRET_PREFIX!r} followed by valid base64"
        if not 24 <= len(key) <= 64:
            return "the decoded key must be 24 to 64 bytes long"
        return None


def _matches(secret: str, content: bytes, given: Mapping[str, list[bytes | None]]) -> bool:
    """Whether ``secret`` (whsec_, whsk_ or whpk_) explains one of the signatures.

    A key that cannot be parsed explains nothing: a verifier configured with a
    stale or mistyped key gets "no matching signature", not a crash.
    """
    try:
        if ed25519.is_asymmetric(secret):
            public = ed25519.verifier_for(secret)
            return any(
                sig is not None and ed25519.signature_valid(public, sig, content)
                for sig in given["v1a"]
            )
        expected = hmac_sha256(secret_key_bytes(secret), content)
    except ValueError:
        return False
    return any_digest_matches([expected], given["v1"])
