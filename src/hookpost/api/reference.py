"""The Markdown API reference (docs/api.md), generated from the OpenAPI spec."""

from __future__ import annotations

from typing import Any

_METHODS = ("get", "post", "patch", "put", "delete")


def _schema_name(schema: dict[str, Any] | None) -> str:
    if not schema:
        return ""
    ref = schema.get("$ref") or (schema.get("items") or {}).get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else str(schema.get("type", ""))


def markdown_reference(spec: dict[str, Any]) -> str:
    lines = [
        "# API reference",
        "",
        "Generated from `/openapi.json` by `hookpost openapi --markdown` (a test keeps",
        "it current). Every path takes `Authorization: Bearer <admin token or project",
        'API key>`; errors are `{"error", "message", "detail": [{"field", "message"}]}`.',
        "",
    ]
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, item in spec["paths"].items():
        for method in _METHODS:
            op = item.get(method)
            if op:
                by_tag.setdefault((op.get("tags") or ["other"])[0], []).append((method, path, op))
    for tag in sorted(by_tag):
        lines += [
            f"## {tag}",
            "",
            "| method | path | summary | body | answers |",
            "|---|---|---|---|---|",
        ]
        for method, path, op in by_tag[tag]:
            body = (op.get("requestBody") or {}).get("content", {}).get("application/json", {})
            answers = ", ".join(
                code for code in sorted(op.get("responses", {})) if code != "default"
            )
            summary = (op.get("summary") or "").replace("|", "\\|")
            lines.append(
                f"| {method.upper()} | `{path}` | {summary} | {_schema_name(body.get('schema'))} "
                f"| {answers} |"
            )
        lines.append("")
    schemas = spec.get("components", {}).get("schemas", {})
    lines += ["## Schemas", ""]
    for name in sorted(schemas):
        props = schemas[name].get("properties", {})
        required = set(schemas[name].get("required", []))
        if not props:
            continue
        fields = ", ".join(f"`{p}`{'' if p in required else '?'}" for p in props)
        lines.append(f"- **{name}**: {fields}")
    return "\n".join(lines) + "\n"
