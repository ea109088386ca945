"""Gluwa's V2 webhooks (secrets created since 8 October 2020).

Wire contract:

- header ``X-REQUEST-SIGNATURE: base64url(HMAC-SHA256(body, secret))``, the
  body being the minified JSON that is sent (hookpost bodies are always
  minified, so the raw body is what Gluwa's formula signs). Gluwa's guide says
  "Base64UrlSafeEncode" without mentioning padding; hookpost sends it
  unpadded, the usual meaning of base64url, and accepts both when verifying.
  One signature, with the current secret only; no timestamp.
- body ``{"ID", "CreatedDateTime", "ResourceType", "EventName", "Summary", "Resource"}``
  mapped from the hookpost event:

  ============== ===========================================================
  ID             the event id if it is a UUID, else a stable UUIDv5 of it
  CreatedDateTime event creation time, ISO 8601 UTC with milliseconds
  ResourceType   the event type's object, PascalCase (``Transaction``)
  EventName      the event type upper-cased (``TRANSACTION.CONFIRMED``)
  Summary        ResourceType and the action in words (``Transaction confirmed``)
  Resource       the payload, as published (Gluwa's Transaction or Exchange object)
  ============== ===========================================================

- success: any 2xx.
"""

from __future__ import annotations

from hookpost.core import jsonenc
from hookpost.profiles import _gluwa_names as names
from hookpost.profiles._base import EventData
from hookpost.profiles._bodysig import BodySignatureScheme, BodySignedProfile
from hookpost.profiles._times import iso_millis

SCHEME = BodySignatureScheme("X-REQUEST-SIGNATURE", "base64url")


class GluwaProfile(BodySignedProfile):
    name = "gluwa"
    max_attempts: int | None = None
    scheme = SCHEME

    def body(self, event: EventData) -> bytes:
        return jsonenc.dumps(
            {
                "ID": names.webhook_uuid(event.id, event.project_id),
                "CreatedDateTime": iso_millis(event.created_at),
                "ResourceType": names.resource_type(event.type),
                "EventName": names.event_name(event.type),
                "Summary": names.summary(event.type),
                "Resource": event.payload,
            }
        )
