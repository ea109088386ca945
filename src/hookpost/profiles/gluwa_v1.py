"""Gluwa's legacy V1 webhooks (secrets created before 8 October 2020).

Same signature as V2 (``X-REQUEST-SIGNATURE``, unpadded base64url of
HMAC-SHA256 over the minified JSON body, current secret only), with V1's
flat body::

    {"EventType": "TransactionConfirmed", "Type": "Webhook", "ResourceID": ..., <payload fields>}

Mapping from the hookpost event:

- ``EventType``: the event type in PascalCase (``transaction.confirmed`` ->
  ``TransactionConfirmed``, ``exchange.success`` -> ``ExchangeSuccess``).
- ``Type``: always ``"Webhook"``.
- ``ResourceID``: the payload's ``ResourceID`` if given; else, as the guide
  defines it, the transaction hash (``TxHash``) for ``transaction.*`` and the
  order id (``ID``) for ``exchange.*``; else the payload's ``ID``/``id``;
  else the event id.
- then every other payload field, flat and in order (``MerchantOrderID``,
  ``Amount``, ``SendingAddress``...). A payload field named ``EventType`` or
  ``Type`` is dropped: the V1 common fields win. A payload that is not a JSON
  object goes under ``"Resource"``.
"""

from __future__ import annotations

from typing import Any

from hookpost.core import jsonenc
from hookpost.profiles import _gluwa_names as names
from hookpost.profiles._base import EventData
from hookpost.profiles.gluwa import GluwaProfile

_COMMON = ("EventType", "Type", "ResourceID")


def resource_id(event: EventData) -> Any:
    payload = event.payload if isinstance(event.payload, dict) else {}
    obj = names.split_type(event.type)[0].lower()
    preferred = {"transaction": "TxHash", "exchange": "ID"}.get(obj)
    for key in ("ResourceID", preferred, "ID", "id"):
        if key is not None and payload.get(key) is not None:
            return payload[key]
    return event.id


class GluwaV1Profile(GluwaProfile):
    """V2's signature, sign and verify included; only the body differs."""

    name = "gluwa-v1"

    def body(self, event: EventData) -> bytes:
        out: dict[str, Any] = {
            "EventType": names.v1_event_type(event.type),
            "Type": "Webhook",
            "ResourceID": resource_id(event),
        }
        if isinstance(event.payload, dict):
            out.update((k, v) for k, v in event.payload.items() if k not in _COMMON)
        else:
            out["Resource"] = event.payload
        return jsonenc.dumps(out)
