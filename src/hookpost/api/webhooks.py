"""The spec's OpenAPI 3.1 ``webhooks``: what a receiver gets, one entry per signing profile.

Each entry is made by the profile's own code, the code the workers sign with:
a sample event goes through ``profile.body`` and ``profile.sign`` (with a fixed
example secret, so the spec is the same on every run), and the entry shows the
headers that came out and the body's shape and bytes. A profile that changes
its wire changes its entry; none is written by hand. The header words come from
:data:`HEADER_WORDS` (a profile with a header missing there still gets it
listed, said to be its signature).

Per attempt the worker also sends ``Content-Type: application/json``, the
endpoint's custom headers, ``User-Agent`` and, with tracing on, ``traceparent``.
The signed timestamp is the attempt's time, so it differs between attempts of
one event; the body does not (a receiver can deduplicate on the id).
"""

from __future__ import annotations

import json
import re
from typing import Any

from hookpost.core.signing import b64encode
from hookpost.profiles import PROFILE_NAMES, RESERIALIZING_PROFILES, EventData, get_profile

#: The example event every entry shows (the payload marked so its place is found).
SAMPLE_PAYLOAD = {"invoice": "in_1042", "amount": 4200, "currency": "EUR"}
SAMPLE = EventData(
    id="msg_2b7QdA1cZy8RtE",
    type="invoice.paid",
    created_at=1768469400.0,
    payload=SAMPLE_PAYLOAD,
    project_id="proj_2b7Qd0rS4kWmN1",
    sequence=1042,
)
_MISSING = object()
_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
#: Example secrets: an HMAC one, and an ed25519 seed (32 fixed bytes) for the v1a form.
HMAC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ED25519_SECRET = "whsk_" + b64encode(bytes(range(32)))

#: What each header a profile signs with carries (by lower-case name).
HEADER_WORDS = {
    "webhook-id": "The event's id, the same on every attempt: deduplicate on it.",
    "webhook-timestamp": "When this attempt was signed, in Unix seconds: refuse one "
    "too far from now (5 minutes) against replays.",
    "webhook-signature": "Space-separated signatures, one per live secret (two during a "
    "rotation's grace period): v1,(base64 HMAC-SHA256) with a whsec_ secret, "
    "v1a,(base64 ed25519) with an ed25519 key, over '{webhook-id}.{webhook-timestamp}.{body}'.",
    "stripe-signature": "t=(Unix seconds),v1=(hex HMAC-SHA256 of '{t}.{body}') "
    "(one v1 per live secret), as Stripe sends it.",
    "gj-signature": "t=(Unix milliseconds),v1=(hex HMAC-SHA256 of '{t}.{body}') "
    "(one v1 per live secret).",
    "x-request-signature": "base64url (unpadded) HMAC-SHA256 of the body.",
    "signature": "hex HMAC-SHA256 of the body.",
    "byl-signature": "hex HMAC-SHA256 of the body.",
}

#: What a re-serializing profile's entry adds (its example is the javascript form).
RESERIALIZED = (
    " The body is written as the endpoint's serializer (javascript: JSON.stringify, "
    "the default shown here; php: json_encode; ruby: JSON.generate) writes it back "
    "after parsing, so a receiver hashing its own re-serialization gets the signed bytes."
)

#: The entries: (key in ``webhooks``, profile, secret, what differs).
_ENTRIES = [
    *(
        (name, name, HMAC_SECRET, RESERIALIZED if name in RESERIALIZING_PROFILES else "")
        for name in PROFILE_NAMES
    ),
    (
        "standard-ed25519",
        "standard",
        ED25519_SECRET,
        " An endpoint created with signing: ed25519 (its receivers verify with the "
        "endpoint's public_key, whpk_...).",
    ),
]


def describe(spec: dict[str, Any]) -> None:
    """Put the ``webhooks`` section into ``spec`` (in place)."""
    spec["webhooks"] = {
        key: {"post": entry(key, name, secret, extra)} for key, name, secret, extra in _ENTRIES
    }


def entry(key: str, name: str, secret: str, extra: str = "") -> dict[str, Any]:
    """One webhook operation: the signed headers as parameters, the body, the answers."""
    profile = get_profile(name)
    body = profile.body(SAMPLE)
    signed = profile.sign(
        msg_id=SAMPLE.id, timestamp=SAMPLE.created_at, body=body, secrets=[secret]
    )
    parsed = json.loads(body)
    success = "any 2xx" if profile.is_success(204) else "200 only"
    attempts = profile.max_attempts or 8
    parameters = [
        {
            "name": header,
            "in": "header",
            "required": True,
            "description": HEADER_WORDS.get(header.lower(), f"The {name} profile's signature."),
            "schema": {"type": "string"},
            "example": value,
        }
        for header, value in signed.items()
    ]
    return {
        "operationId": f"webhooks.{key.replace('-', '_')}",
        "summary": f"What an endpoint of the {name} profile receives",
        "description": f"POSTed to the endpoint's URL for each event it subscribes to, "
        f"signed by the {name} profile (docs/receiving.md says how to verify it).{extra} "
        f"Success is {success}; anything else, or no answer within the endpoint's "
        f"timeout, is retried ({attempts} attempts in all unless the endpoint says).",
        "tags": ["webhooks"],
        "security": [],
        "parameters": parameters,
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": _shape(parsed),
                    "example": parsed,
                }
            },
        },
        "responses": {
            "200" if success == "200 only" else "2XX": {
                "description": "Received: hookpost stops sending this event to this endpoint"
            },
            "default": {"description": "Not received: hookpost retries with backoff"},
        },
    }


def _shape(value: Any) -> dict[str, Any]:
    """A JSON schema of one example body; the published payload's place said as such."""
    if value == SAMPLE_PAYLOAD:
        return {
            "type": "object",
            "additionalProperties": True,
            "description": "The event's payload, as published.",
        }
    if isinstance(value, dict):
        merged = all(value.get(k, _MISSING) == v for k, v in SAMPLE_PAYLOAD.items())
        own = [k for k in value if not (merged and k in SAMPLE_PAYLOAD)]
        shape: dict[str, Any] = {
            "type": "object",
            "properties": {k: _shape(value[k]) for k in own},
            "required": own,
        }
        if merged:
            shape["additionalProperties"] = True
            shape["description"] = "The payload's own fields are merged in beside these."
        return shape
    if isinstance(value, list):
        return {"type": "array"}
    if value is None:
        return {"type": "null"}
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if _ISO.fullmatch(value):
        return {"type": "string", "format": "date-time"}
    return {"type": "string"}
