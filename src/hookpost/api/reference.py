"""The Markdown API reference (docs/api.md), generated from the OpenAPI spec.

One section per route: what it does (its docstring), its parameters, its own
request body field by field with an example, and its own answers -- the success
answer with an example, then only the errors that route can give (see
:mod:`hookpost.api.openapi`). ``hookpost openapi --markdown`` prints it, and a
test fails when the committed file differs.

Examples are those of the spec, made from its schemas by
:mod:`hookpost.api.examples`.
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from typing import Any

from hookpost.api.examples import SpecExamples
from hookpost.api.openapi import MEANINGS
from hookpost.web.schemas import PATTERN_WORDS

_METHODS = ("get", "post", "put", "patch", "delete")

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


def _code(text: str) -> str:
    """Docstring ``double`` backticks to Markdown's single ones."""
    return re.sub(r"``([^`]+)``", r"`\1`", text)


class _Spec(SpecExamples):
    def type_text(self, schema: dict[str, Any]) -> str:
        name, s = self.resolve(schema)
        if name and "enum" in s:
            return f"`{name}`: one of " + ", ".join(f"`{v}`" for v in s["enum"])
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
        shown = content["example"] if "example" in content else s.request_example(schema)
        lines += ["", "Example request body:", "", *_json_block(shown), ""]
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


def _webhooks(hooks: dict[str, Any]) -> list[str]:
    """What a receiver gets, per profile: the spec's ``webhooks``, headers and body."""
    if not hooks:
        return []
    lines = [
        "## Webhooks",
        "",
        "What an endpoint receives, per profile (the spec's `webhooks`, made by each",
        "profile's own signing code with an example secret). Every request also carries",
        "`Content-Type: application/json`, the endpoint's custom headers and, with tracing",
        "on, `traceparent`.",
        "",
    ]
    for key, item in hooks.items():
        op = item["post"]
        lines += [f"### `{key}`", "", _code(op["description"]), ""]
        lines += ["| header | example | |", "|---|---|---|"]
        for p in op.get("parameters", []):
            lines.append(f"| `{p['name']}` | `{p['example']}` | {_code(p['description'])} |")
        body = op["requestBody"]["content"]["application/json"]["example"]
        lines += ["", "Body:", "", *_json_block(body), ""]
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
        "Every `POST` under `/api/v1/` takes an optional `Idempotency-Key` header (1-255",
        "visible ASCII characters): the same key, token, route and body within 24 hours",
        "replays the first 2xx answer with `Idempotent-Replayed: true` instead of running",
        "again; the key with another route or body is `422 idempotency_key_reused`, while",
        "the first request still runs `409 idempotency_key_in_use` (retry after",
        "`Retry-After`). Only 2xx answers are kept. See [client.md](client.md#idempotency).",
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
    lines += _webhooks(spec.get("webhooks", {}))
    lines += ["## Schemas", ""]
    for name in sorted(s.schemas):
        props = s.schemas[name].get("properties", {})
        required = set(s.schemas[name].get("required", []))
        if not props:
            continue
        fields = ", ".join(f"`{p}`{'' if p in required else '?'}" for p in props)
        lines.append(f"- **{name}**: {fields}")
    return "\n".join(lines) + "\n"
