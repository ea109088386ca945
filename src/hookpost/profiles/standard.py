"""Standard Webhooks (https://www.standardwebhooks.com), the default profile.

Headers ``webhook-id``, ``webhook-timestamp`` (unix seconds) and
``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">``; several
space-separated signatures while a rotated-out secret is still live.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from hookpost.core import jsonenc
from hookpost.core.signing import (
    SECRET_PREFIX,
    WebhookVerificationError,
    b64decode,
    b64encode,
    constant_time_equal,
    hmac_sha256,
    secret_key_bytes,
)
from hookpost.profiles._base import EventData, lower_headers


def iso8601(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class StandardProfile:
    name = "standard"
    max_attempts: int | None = None

    def body(self, event: EventData) -> bytes:
        return jsonenc.dumps(
            {"type": event.type, "timestamp": iso8601(event.created_at), "data": event.payload}
        )

    @staticmethod
    def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
        signed = f"{msg_id}.{timestamp}.".encode() + body
        return "v1," + b64encode(hmac_sha256(secret_key_bytes(secret), signed))

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
        h = lower_headers(headers)
        msg_id = h.get("webhook-id")
        ts_text = h.get("webhook-timestamp")
        sig_header = h.get("webhook-signature")
        if not msg_id or not ts_text or not sig_header:
            raise WebhookVerificationError(
                "missing webhook-id, webhook-timestamp or webhook-signature"
            )
        try:
            ts = int(ts_text)
        except ValueError:
            raise WebhookVerificationError("invalid webhook-timestamp") from None
        if abs(now - ts) > tolerance:
            raise WebhookVerificationError("timestamp outside the tolerance window")
        given = [p.split(",", 1)[1] for p in sig_header.split() if p.startswith("v1,")]
        for secret in secrets:
            try:
                expected = self.signature(secret, msg_id, ts, body)[3:]
            except ValueError:
                continue
            if any(constant_time_equal(expected, g) for g in given):
                try:
                    return json.loads(body)
                except (ValueError, UnicodeDecodeError):
                    raise WebhookVerificationError("body is not JSON") from None
        raise WebhookVerificationError("no matching signature")

    def is_success(self, status: int) -> bool:
        return 200 <= status < 300

    def validate_secret(self, secret: str) -> str | None:
        if not secret.startswith(SECRET_PREFIX):
            return f"must start with {SECRET_PREFIX!r} followed by base64"
        try:
            key = b64decode(secret[len(SECRET_PREFIX) :])
        except ValueError:
            return f"must be {SECRET_PREFIX!r} followed by valid base64"
        if not 24 <= len(key) <= 64:
            return "the decoded key must be 24 to 64 bytes long"
        return None
