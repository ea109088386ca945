"""Stripe's webhook contract, so Stripe's own libraries verify hookpost deliveries.

Wire contract:

- header ``Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]``, where
  each ``v1`` is HMAC-SHA256 over ``"{t}." + raw body``, keyed with the
  secret's UTF-8 bytes (a ``whsec_...`` secret is used whole, as Stripe does);
  one ``v1`` per live secret during a rotation.
- body: a Stripe event object::

    {"id", "object": "event", "api_version", "created", "type",
     "data": {"object": <payload>}, "livemode": false, "pending_webhooks": 1,
     "request": {"id": null, "idempotency_key": null}}

  ``id`` is the hookpost event id, ``created`` its creation time in seconds.
  ``pending_webhooks`` is fixed at 1: the body is built once per event and
  profile, and cannot know how many endpoints are still pending.
- success: any 2xx; retries: the endpoint's or hookpost's default.

``stripe.Webhook.construct_event(body, header, secret)`` accepts these.
"""

from __future__ import annotations

from hookpost.core import jsonenc
from hookpost.profiles._base import EventData
from hookpost.profiles._timestamped import TimestampedProfile, TimestampedScheme

#: The API version stamped on envelopes; receivers' Stripe SDKs only log it.
API_VERSION = "2024-06-20"


class StripeProfile(TimestampedProfile):
    name = "stripe"
    max_attempts: int | None = None
    scheme = TimestampedScheme("Stripe-Signature", "s")

    def body(self, event: EventData) -> bytes:
        return jsonenc.dumps(
            {
                "id": event.id,
                "object": "event",
                "api_version": API_VERSION,
                "created": int(event.created_at),
                "type": event.type,
                "data": {"object": event.payload},
                "livemode": False,
                "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None},
            }
        )
