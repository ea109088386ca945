"""Examples made from the OpenAPI spec's own schemas, for the spec and docs/api.md.

A field's own example or default when it has one, else a value typical of its
name (``url``, ``event_type``, ids with their real prefixes), else one of its
type. So a new field appears in the examples without anyone writing one, and an
example never names a field the API does not have. :mod:`hookpost.api.openapi`
puts them into the spec (each request body and success answer), and
:mod:`hookpost.api.reference` prints the same ones in docs/api.md.
"""

from __future__ import annotations

import re
from typing import Any

from hookpost.domain import DeliveryStatus

#: Typical values by field name, for examples.
BY_NAME: dict[str, Any] = {
    "url": "https://customer.example/webhooks",
    "event_type": "invoice.paid",
    "event_types": ["invoice.paid", "user.*"],
    "payload": {"invoice": "in_1042", "amount": 4200, "currency": "EUR"},
    "name": "acme",
    "description": "Billing service",
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "api_key": "hpk_3Yq0b1cKx9w2mW6r4TtZVg",
    "key": "hpk_3Yq0b1cKx9w2mW6r4TtZVg",
    "prefix": "hpk_3Yq0",
    "public_key": "whpk_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0",
    "project_id": "proj_2b7Qd0rS4kWmN1",
    "endpoint_id": "ep_2b7Qd5vH9pLx3a",
    "event_id": "msg_2b7QdA1cZy8RtE",
    "sequence": 1042,
    "created_at": "2026-01-15T09:30:00.000Z",
    "updated_at": "2026-01-15T09:30:00.000Z",
    "next_attempt_at": "2026-01-15T09:30:05.000Z",
    "expires_at": "2026-01-15T10:30:00.000Z",
    "started_at": "2026-01-15T09:30:00.000Z",
    "revoked_at": None,
    "circuit_open_until": None,
    "consecutive_failures": 0,
    "failing_since": None,
    "disabled_reason": None,
    "disabled_at": None,
    "since": "2026-01-15T00:00:00Z",
    "until": "2026-01-15T12:00:00Z",
    "timestamp": 1768469400,
    "profile": "standard",
    "status_code": 200,
    "last_status_code": 500,
    "duration_ms": 87,
    "attempt_count": 1,
    "headers": {"X-Team": "billing"},
    "request_headers": {"content-type": "application/json", "webhook-id": "msg_2b7QdA1cZy8RtE"},
    "response_headers": {"content-type": "text/plain"},
    "request_body": '{"invoice":"in_1042","amount":4200,"currency":"EUR"}',
    "response_body": "ok",
    "error": None,
    "last_error": None,
    "next_cursor": None,
    "schema": {"type": "object", "required": ["invoice"]},
    "filter": {"currency": "EUR"},
    "provider": "byl",
    "scope": "full",
    "status": DeliveryStatus.SUCCEEDED,
}
#: Id prefixes by the schema an ``id`` belongs to.
_ID_PREFIX = {
    "Project": "proj_2b7Qd0rS4kWmN1",
    "Endpoint": "ep_2b7Qd5vH9pLx3a",
    "Event": "msg_2b7QdA1cZy8RtE",
    "Delivery": "dlv_2b7QdC4nWq0JsM",
    "Attempt": "att_2b7QdC9kLm2Pqa",
    "ApiKey": "key_2b7QdE2bHn7VxR",
    "Job": "job_2b7QdF6yTr1KcB",
    "CustomProfile": "prof_2b7QdG3wPz5NhD",
}


class SpecExamples:
    """Examples made from one spec's schemas (see the module's docstring)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.schemas: dict[str, Any] = spec.get("components", {}).get("schemas", {})

    def resolve(self, schema: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
        ref = schema.get("$ref")
        if ref:
            name = ref.rsplit("/", 1)[-1]
            return name, self.schemas.get(name, {})
        return None, schema

    def example(
        self, schema: dict[str, Any], field: str = "", owner: str = "", depth: int = 0
    ) -> Any:
        name, s = self.resolve(schema)
        owner = name or owner
        if s.get("examples"):
            return s["examples"][0]
        if "example" in s:
            return s["example"]
        if "enum" in s:
            return s["enum"][0]
        if field == "id":
            base = re.sub(r"(Out|In|Created|Detail|Accepted|Repeated|Patch)$", "", owner)
            return _ID_PREFIX.get(base, "id_2b7Qd0rS4kWmN1")
        if field in BY_NAME:
            return BY_NAME[field]
        if s.get("default") is not None:
            return s["default"]
        if "anyOf" in s:
            options = [x for x in s["anyOf"] if x.get("type") != "null"]
            return self.example(options[0], field, owner, depth) if options else None
        if "const" in s:
            return s["const"]
        kind = s.get("type")
        if kind == "object" or "properties" in s:
            if depth > 3:
                return {}
            props = s.get("properties", {})
            return {k: self.example(v, k, owner, depth + 1) for k, v in props.items()}
        if kind == "array":
            if field in ("data", "attempts") or depth < 2:
                return [self.example(s.get("items", {}), field, owner, depth + 1)]
            return []
        if kind == "integer":
            return max(int(s.get("minimum", 1)), 1)
        if kind == "number":
            return float(max(s.get("exclusiveMinimum", 0) + 1, s.get("minimum", 1)))
        if kind == "boolean":
            return True
        if s.get("format") == "date-time":
            return "2026-01-15T09:30:00.000Z"
        return "string"

    def request_example(self, schema: dict[str, Any]) -> Any:
        """Required fields, plus a few optional ones when nothing is required."""
        name, s = self.resolve(schema)
        props = s.get("properties", {})
        required = s.get("required", [])
        keep = list(required) or list(props)[:2]
        return {k: self.example(props[k], k, name or "") for k in keep if k in props}
