"""Operator-defined profiles: a provider's wire format described as data.

A definition (a JSON object, validated by
:func:`hookpost.profiles.custom_rules.validate_custom_profile`)::

    {
      "header": "X-Hub-Signature-256",      # required: the signature header
      "signature_prefix": "sha256=",        # text before the digest (default "")
      "signed_content": "{timestamp}.{body}",  # what is HMAC-ed (default "{body}")
      "encoding": "hex",                    # hex | base64 | base64url (unpadded)
      "timestamp_header": "X-Timestamp",    # needed if {timestamp} is signed
      "timestamp_unit": "s",                # s | ms
      "id_header": "X-Event-Id",            # needed if {id} is signed
      "success": "2xx",                     # 2xx | 200
      "max_attempts": 5,                    # its endpoints' attempts in all, the first included
      "envelope": {"kind": "{{type}}", "data": "{{payload}}"}  # default "{{payload}}"
    }

The HMAC-SHA256 key is the secret's UTF-8 text (as Stripe and the seed
providers do). ``{timestamp}`` in the signed content is the send time (what
the timestamp header carries); ``{{timestamp}}`` in the envelope is the event's
creation time. There is one signature header value, so only the current
secret signs during a rotation; the verifier accepts any of its secrets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hookpost.core import jsonenc
from hookpost.core.signing import WebhookVerificationError, hmac_sha256
from hookpost.profiles import _envelope
from hookpost.profiles._base import EventData, MalformedWebhookError, lower_headers
from hookpost.profiles._checks import (
    any_digest_matches,
    check_fresh,
    parse_json,
    parse_uint,
    raw_key,
    require_header,
    usable_keys,
    validate_raw_secret,
)
from hookpost.profiles._content import SignedContent
from hookpost.profiles._encoding import Encoding, decode_digest, encode_digest
from hookpost.profiles.custom_rules import validate_custom_profile


class InvalidProfileError(ValueError):
    """A custom profile definition with problems; ``problems`` names each field."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{f or 'definition'}: {p}" for f, p in problems))


class CustomProfile:
    max_attempts: int | None

    def __init__(self, definition: Mapping[str, Any], *, name: str = "custom") -> None:
        problems = validate_custom_profile(definition)
        if problems:
            raise InvalidProfileError(problems)
        self.name = name
        self.definition = dict(definition)
        self.header: str = definition["header"]
        self.prefix: str = definition.get("signature_prefix", "")
        self.content = SignedContent.parse(definition.get("signed_content", "{body}"))
        self.encoding: Encoding = definition.get("encoding", "hex")
        self.timestamp_header: str | None = definition.get("timestamp_header")
        self.millis = definition.get("timestamp_unit", "s") == "ms"
        self.id_header: str | None = definition.get("id_header")
        self.only_200 = definition.get("success", "2xx") == "200"
        self.max_attempts = definition.get("max_attempts")
        self.envelope: Any = definition.get("envelope", "{{payload}}")

    def body(self, event: EventData) -> bytes:
        return jsonenc.dumps(_envelope.render(self.envelope, event))

    def _digest(self, secret: str, body: bytes, stamp: str, msg_id: str) -> bytes:
        return hmac_sha256(
            raw_key(secret), self.content.build(body=body, timestamp=stamp, msg_id=msg_id)
        )

    def sign(
        self, *, msg_id: str, timestamp: float, body: bytes, secrets: Sequence[str]
    ) -> dict[str, str]:
        if not secrets:
            raise ValueError("at least one secret is needed to sign")
        stamp = str(int(timestamp * 1000) if self.millis else int(timestamp))
        sig = encode_digest(self._digest(secrets[0], body, stamp, msg_id), self.encoding)
        headers = {self.header: self.prefix + sig}
        if self.timestamp_header:
            headers[self.timestamp_header] = stamp
        if self.id_header:
            headers[self.id_header] = msg_id
        return headers

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
        value = require_header(h, self.header)
        stamp = ""
        if self.timestamp_header:
            stamp = require_header(h, self.timestamp_header)
            number = parse_uint(stamp)
            if number is None:
                raise MalformedWebhookError(f"invalid {self.timestamp_header} header")
            check_fresh(number / 1000 if self.millis else number, now, tolerance)
        msg_id = require_header(h, self.id_header) if self.id_header else ""
        if not value.startswith(self.prefix):
            raise MalformedWebhookError(f"{self.header} does not start with {self.prefix!r}")
        given = decode_digest(value[len(self.prefix) :], self.encoding)
        expected = [self._digest(s, body, stamp, msg_id) for s in keys]
        if not any_digest_matches(expected, [given]):
            raise WebhookVerificationError("no matching signature")
        return parse_json(body)

    def is_success(self, status: int) -> bool:
        return status == 200 if self.only_200 else 200 <= status < 300

    def validate_secret(self, secret: str) -> str | None:
        return validate_raw_secret(secret)


__all__ = ["CustomProfile", "InvalidProfileError", "validate_custom_profile"]
