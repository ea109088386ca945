"""GalaxyJoy's partner webhooks (guide v1, 30/04/2023).

Wire contract:

- header ``gj-signature: t=<unix milliseconds>,v1=<hex>[,v1=<hex>...]``; each
  ``v1`` is HMAC-SHA256 over ``"{t}." + raw body`` keyed with the endpoint's
  SecretKey text. The guide names ``t`` (for replay protection) and ``v1`` (a
  SHA-256 algorithm) but not the signed string; hookpost takes Stripe's
  reading so ``t`` is covered by the signature. Several ``v1`` during a
  secret rotation, one per live secret.
- body ``{"event_type", "event_id", "timestamp", "body"}``: the hookpost event
  type and id, the event's creation time in whole seconds, and the payload.
- success: any 2xx (the guide does not narrow it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hookpost.core import jsonenc
from hookpost.profiles._base import EventData
from hookpost.profiles._checks import parse_json, validate_raw_secret
from hookpost.profiles._timestamped import TimestampedScheme


class GalaxyJoyProfile:
    name = "galaxyjoy"
    max_attempts: int | None = None
    scheme = TimestampedScheme("gj-signature", "ms")

    def body(self, event: EventData) -> bytes:
        return jsonenc.dumps(
            {
                "event_type": event.type,
                "event_id": event.id,
                "timestamp": int(event.created_at),
                "body": event.payload,
            }
        )

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
