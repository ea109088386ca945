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

from hookpost.core import jsonenc
from hookpost.profiles._base import EventData
from hookpost.profiles._timestamped import TimestampedProfile, TimestampedScheme


class GalaxyJoyProfile(TimestampedProfile):
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
