"""Just Wallet's webhooks.

Wire contract:

- header ``Signature: hex(HMAC-SHA256(body, secret))``, keyed with the secret
  the customer chose, as text. Just Wallet's sample receivers re-serialize the
  parsed body before hashing -- ``JSON.stringify(req.body)`` in Node,
  ``json_encode($request->all())`` in PHP, ``JSON.generate(request.params)``
  in Ruby -- and the three write different bytes, so the endpoint names its
  receiver's serializer (:mod:`hookpost.core.serializers`, ``javascript`` by
  default) and the body is written exactly as that serializer writes it: the
  raw body and the re-serialized one then match. One signature, with the
  current secret only; no timestamp.
- body ``{"event.type", "meta", "data"}``: the event type, then ``meta`` and
  ``data``. The guide shows ``meta`` only on quote events (a list of ids, or
  null). A payload that is exactly ``{"meta": ..., "data": ...}`` is taken as
  already split; any other payload becomes ``data`` with ``"meta": null``.
- success: HTTP 200 only; any other status, other 2xx and 3xx included, is a
  failure and is retried, as the guide says.
"""

from __future__ import annotations

from typing import Any

from hookpost.core import serializers
from hookpost.core.serializers import Serializer
from hookpost.profiles._base import EventData
from hookpost.profiles._bodysig import BodySignatureScheme, BodySignedProfile

SCHEME = BodySignatureScheme("Signature", "hex")


def split_payload(payload: Any) -> tuple[Any, Any]:
    """``(meta, data)`` for a published payload."""
    if isinstance(payload, dict) and set(payload) == {"meta", "data"}:
        return payload["meta"], payload["data"]
    return None, payload


class JustWalletProfile(BodySignedProfile):
    name = "justwallet"
    max_attempts: int | None = None
    scheme = SCHEME
    only_200 = True

    def __init__(self, serializer: Serializer = serializers.DEFAULT) -> None:
        #: How the receiver writes the parsed body back out before hashing it.
        self.serializer: Serializer = serializer

    def body(self, event: EventData) -> bytes:
        meta, data = split_payload(event.payload)
        body = {"event.type": event.type, "meta": meta, "data": data}
        return serializers.dumps(body, self.serializer)
