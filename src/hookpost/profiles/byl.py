"""Byl's webhooks (the guide is in Mongolian; its rules, translated, below).

Wire contract:

- header ``Byl-Signature: hex(HMAC-SHA256(body, secret))`` -- the guide's
  ``hash_hmac('sha256', $payload, $secret)`` over the raw payload, compared
  with ``===``. One signature, with the current secret only; no timestamp.
- body ``{"id", "project_id", "type", "object", "data": {"object"}, "created_at", "updated_at"}``:
  the event id, the hookpost project id, the event type, its object part
  (``invoice.paid`` -> ``invoice``), the payload under ``data.object``, and the
  event's creation time twice, in Laravel's ``2023-08-07T16:14:16.000000Z``
  form. Byl's own ids are integers; hookpost's are strings and are sent as is.
- success: HTTP 200 only ("HTTP/200 ... otherwise it is a failed request and
  is sent again later"); after 3 failed attempts delivery stops, so the
  profile's default is 3 attempts.
"""

from __future__ import annotations

from hookpost.core import jsonenc
from hookpost.profiles._base import EventData
from hookpost.profiles._bodysig import BodySignatureScheme, BodySignedProfile
from hookpost.profiles._times import iso_micros

SCHEME = BodySignatureScheme("Byl-Signature", "hex")


class BylProfile(BodySignedProfile):
    name = "byl"
    max_attempts: int | None = 3
    scheme = SCHEME
    only_200 = True

    def body(self, event: EventData) -> bytes:
        stamp = iso_micros(event.created_at)
        return jsonenc.dumps(
            {
                "id": event.id,
                "project_id": event.project_id,
                "type": event.type,
                "object": event.type.partition(".")[0],
                "data": {"object": event.payload},
                "created_at": stamp,
                "updated_at": stamp,
            }
        )
