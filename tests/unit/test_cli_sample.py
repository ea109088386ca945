"""``hookpost trigger``'s sample payloads: a table of JSON Schemas and the value made for each."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from hookpost.cli._publish import sample

CASES: list[tuple[str, Any, Any]] = [
    ("no schema", {}, "sample"),
    ("examples win", {"type": "integer", "examples": [7, 8], "default": 1}, 7),
    ("example", {"type": "string", "example": "hi"}, "hi"),
    ("default", {"type": "integer", "default": 3}, 3),
    ("const", {"const": "v1"}, "v1"),
    ("enum", {"type": "string", "enum": ["EUR", "USD"]}, "EUR"),
    ("string", {"type": "string"}, "string"),
    ("string, long", {"type": "string", "minLength": 9}, "stringxxx"),
    ("date-time", {"type": "string", "format": "date-time"}, "2026-01-15T09:30:00Z"),
    ("email", {"type": "string", "format": "email"}, "jane@example.com"),
    ("integer", {"type": "integer"}, 1),
    ("integer, minimum", {"type": "integer", "minimum": 100}, 100),
    ("integer, exclusive", {"type": "integer", "exclusiveMinimum": 5}, 6),
    ("integer, maximum", {"type": "integer", "maximum": 0}, 0),
    ("number", {"type": "number"}, 1.0),
    ("boolean", {"type": "boolean"}, True),
    ("null", {"type": "null"}, None),
    ("nullable string", {"type": ["null", "string"]}, "string"),
    ("array", {"type": "array", "items": {"type": "integer"}}, [1]),
    ("array, no items", {"type": "array"}, []),
    ("anyOf", {"anyOf": [{"type": "boolean"}, {"type": "string"}]}, True),
    (
        "allOf",
        {"allOf": [{"properties": {"a": {"type": "integer"}}}, {"properties": {"b": {}}}]},
        {"a": 1, "b": "sample"},
    ),
    (
        "object",
        {
            "type": "object",
            "required": ["id"],
            "properties": {"id": {"type": "string"}, "tags": {"type": "array", "items": {}}},
        },
        {"id": "string", "tags": ["sample"]},
    ),
    ("not a schema", ["x"], "sample"),
]


@pytest.mark.parametrize(("schema", "want"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_sample(schema: Any, want: Any) -> None:
    got = sample(schema)
    assert got == want
    assert type(got) is type(want)
    if isinstance(schema, dict) and schema:
        jsonschema.validate(got, schema)  # what the catalog's check would say
