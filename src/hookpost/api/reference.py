"""The Markdown API reference (docs/api.md), generated from the OpenAPI spec.

One section per route: what it does (its docstring), its parameters, its own
request body field by field with an example, and its own answers -- the success
answer with an example, then only the errors that route can give (see
:mod:`hookpost.api.openapi`). ``hookpost openapi --markdown`` prints it, and a
test fails when the committed file differs.

Examples are made from the schemas: a field's own example or default when it
has one, else a value typical of its name (``url``, ``event_type``, ids with
their real prefixes), else one of its type. So a new field appears in the
examples without anyone writing one, and an example never names a field the
API does not have.
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from typing import Any

from hookpost.api.openapi import MEANINGS
from hookpost.domain import DeliveryStatus
from hookpost.web.schemas import PATTERN_WORDS

_METHODS = ("get", "post", "put", "patch", "delete")

#: Typical values by field name, for examples.
_BY_NAME: dict[str, Any] = {
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
    "created_at": "2026-01-15T09:30:00Z",
    "updated_at": "2026-01-15T09:30:00Z",
    "next_attempt_at": "2026-01-15T09:30:05Z",
    "expires_at": "2026-01-15T10:30:00Z",
    "started_at": "2026-01-15T09:30:00Z",
    "revoked_at": None,
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
#: What a parameter is, when its route does not say (the same name means the same everywhere).
_PARAM_WORDS = {
    ("project_id", "path"): "The project's id (`proj_…`).",
    ("endpoint_id", "path"): "The endpoint's id (`ep_…`).",
    ("delivery_id", "path"): "The delivery's id (`dlv_…`).",
    ("event_id", "path"): "The event's id: the `event_id` it was published with, or `msg_…`.",
    ("key_id", "path"): "The API key's id (`key_…`).",
    ("job_id", "path"): "The job's id (`job_…`).",
    ("name", "path"): "The name it was created with.",
    ("event_type", "query"): "Only this event type.",
    ("status", "query"): "Only deliveries in this status.",
    ("endpoint_id", "query"): "Only this endpoint's deliveries.",
    ("event_id", "query"): "Only this event's deliveries.",
    ("order", "query"): "`asc`: oldest first; `desc`: newest first.",
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


def _code(text: str) -> str:
    """Docstring ``double`` backticks to Markdown's single ones."""
    return re.sub(r"``([^`]+)``", r"`\1`", text)


class _Spec:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.schemas: dict[str, Any] = spec.get("components", {}).get("schemas", {})

    def resolve(self, schema: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
        ref = schema.get("$ref")
        if ref:
            name = ref.rsplit("/", 1)[-1]
            return name, self.schemas.get(name, {})
        return None, schema

    def type_text(self, schema: dict[str, Any]) -> str:
        name, s = self.resolve(schema)
        if name:
            return f"`{name}`"
        if "anyOf" in s:
            parts = [self.type_text(x) for x in s["anyOf"] if x.get("type") != "null"]
            nullable = any(x.get("type") == "null" for x in s["anyOf"])
            return " or ".join(parts) + (" or null" if nullable else "")
        if "enum" in s:
            return "one of " + ", ".join(f"`{v}`" for v in s["enum"])
        if "const" in s:
            return f"`{s['const']}`"
        kind = s.get("type", "any")
        if kind == "array":
            return f"array of {self.type_text(s.get('items', {}))}"
        if s.get("format") == "date-time":
            return "date-time"
        return str(kind)

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
        if field in _BY_NAME:
            return _BY_NAME[field]
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
            return "2026-01-15T09:30:00Z"
        return "string"

    def request_example(self, schema: dict[str, Any]) -> Any:
        """Required fields, plus a few optional ones when nothing is required."""
        name, s = self.resolve(schema)
        props = s.get("properties", {})
        required = s.get("required", [])
        keep = list(required) or list(props)[:2]
        return {k: self.example(props[k], k, name or "") for k in keep if k in props}


def _json_block(value: Any) -> list[str]:
    return ["```json", json.dumps(value, indent=2, ensure_ascii=False), "```"]


def _describe_field(s: _Spec, schema: dict[str, Any]) -> str:
    _, resolved = s.resolve(schema)
    text = resolved.get("description") or schema.get("description") or ""
    for option in [resolved, *resolved.get("anyOf", [])]:
        words = PATTERN_WORDS.get(option.get("pattern", ""))
        if words:
            text = (text + "; " if text else "") + words
    return _code(text).replace("|", "\\|").replace("\n", " ")


def _operation(s: _Spec, method: str, path: str, op: dict[str, Any]) -> list[str]:
    lines = [f"### `{method.upper()} {path}`", ""]
    if op.get("description"):
        lines += [_code(op["description"]), ""]
    elif op.get("summary"):
        lines += [op["summary"] + ".", ""]
    if op.get("x-token"):  # a route that says who may call it (openapi_extra)
        lines += [f"Token: {op['x-token']}", ""]
    elif path.startswith("/api/"):
        lines += ["Token: the admin token, or an API key of the project whose scope allows it.", ""]
    elif path == "/metrics":
        lines += ["No token, unless `HOOKPOST_METRICS_TOKEN` is set: then that bearer token.", ""]
    else:
        lines += ["No token.", ""]
    params = op.get("parameters", [])
    if params:
        lines += ["| parameter | in | type | |", "|---|---|---|---|"]
        for p in params:
            schema = p.get("schema", {})
            said = p.get("description") or _PARAM_WORDS.get((p["name"], p["in"]), "")
            text = _describe_field(s, {**schema, "description": said})
            required = "" if p.get("required") else " (optional)"
            lines.append(
                f"| `{p['name']}` | {p['in']}{required} | {s.type_text(schema)} | {text} |"
            )
        lines.append("")
    body = op.get("requestBody")
    if body:
        content = body.get("content", {}).get("application/json", {})
        schema = content.get("schema", {})
        if "anyOf" in schema:  # an optional body: Model | None
            schema = next(x for x in schema["anyOf"] if x.get("type") != "null")
        name, resolved = s.resolve(schema)
        optional = "" if body.get("required") else "; the body may be left out"
        lines += [
            f"Request body: `{name or 'object'}`, JSON "
            f"(`Content-Type: application/json`){optional}.",
            "",
            "| field | type | required | |",
            "|---|---|---|---|",
        ]
        needed = set(resolved.get("required", []))
        for field, fschema in resolved.get("properties", {}).items():
            lines.append(
                f"| `{field}` | {s.type_text(fschema)} | {'yes' if field in needed else ''} "
                f"| {_describe_field(s, fschema)} |"
            )
        lines += ["", "Example request body:", "", *_json_block(s.request_example(schema)), ""]
    lines += ["| answer | when | body |", "|---|---|---|"]
    example: tuple[str, Any] | None = None
    common = []
    for code, answer in op.get("responses", {}).items():
        if MEANINGS.get(int(code)) == answer.get("description"):
            common.append(code)  # said once, under Errors
            continue
        media = answer.get("content", {})
        kind = next(iter(media), None)
        schema = media.get(kind, {}).get("schema", {}) if kind else {}
        body_text = s.type_text(schema) if schema.get("$ref") or schema.get("type") else ""
        if not body_text and kind:
            body_text = "JSON" if kind == "application/json" else f"`{kind}`"
        body_text = body_text or "none"
        when = answer.get("description", "")
        main = when == "Successful Response"  # the route's own status_code
        if main:
            when = HTTPStatus(int(code)).phrase
        lines.append(f"| {code} | {_code(when).replace('|', chr(92) + '|')} | {body_text} |")
        if code.startswith("2") and kind and (example is None or main):
            if "example" in media[kind]:
                example = (code, media[kind]["example"])
            elif schema:
                example = (code, s.example(schema))
    if common:
        lines.append(f"| {', '.join(common)} | see [errors](#errors) | `ErrorOut` |")
    lines.append("")
    if example is not None:
        code, value = example
        lines += [f"Example answer ({code}):", ""]
        if isinstance(value, str):
            lines += ["```", value.rstrip("\n"), "```"]
        else:
            lines += _json_block(value)
        lines.append("")
    return lines


def markdown_reference(spec: dict[str, Any]) -> str:
    s = _Spec(spec)
    lines = [
        "# API reference",
        "",
        "Generated from `/openapi.json` by `hookpost openapi --markdown` (a test keeps it",
        "current). API routes take `Authorization: Bearer <admin token or project API key>`",
        "and JSON bodies sent with `Content-Type: application/json`. Every error is",
        '`{"error": code, "message": text, "detail": [{"field", "message", "type"}]}`,',
        "and each route lists the errors it can give. Lists answer",
        '`{"data": [...], "next_cursor": str | null}` and take `?limit=&cursor=`.',
        "",
    ]
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, item in spec["paths"].items():
        for method in _METHODS:
            op = item.get(method)
            if op:
                by_tag.setdefault((op.get("tags") or ["other"])[0], []).append((method, path, op))
    lines += [
        "## Errors",
        "",
        "What each error status means on any route that lists it (a route's own",
        "meaning, such as a 409, is in its table):",
        "",
        "| status | meaning |",
        "|---|---|",
        *(f"| {code} | {text} |" for code, text in sorted(MEANINGS.items())),
        "",
        "Contents:",
        "",
    ]
    for tag in sorted(by_tag):
        routes = ", ".join(f"`{m.upper()} {p}`" for m, p, _ in by_tag[tag])
        lines.append(f"- **{tag}**: {routes}")
    lines.append("")
    for tag in sorted(by_tag):
        lines += [f"## {tag}", ""]
        for method, path, op in by_tag[tag]:
            lines += _operation(s, method, path, op)
    lines += ["## Schemas", ""]
    for name in sorted(s.schemas):
        props = s.schemas[name].get("properties", {})
        required = set(s.schemas[name].get("required", []))
        if not props:
            continue
        fields = ", ".join(f"`{p}`{'' if p in required else '?'}" for p in props)
        lines.append(f"- **{name}**: {fields}")
    return "\n".join(lines) + "\n"
