"""docs/api.md shows each route's own body, answers and examples, and they are right.

- Every operation of the spec has its section (tests/e2e/test_ops.py keeps the file
  current with the generator); every route with a body lists
  each of its fields and an example request body that the route's own JSON
  Schema accepts; every success answer with a body has an example its schema
  accepts.
- The error answers are the route's own: no 413/415 on a GET, no 404 without a
  path parameter, 409 only where the store can refuse.
- ``/healthz``, ``/readyz`` and ``/metrics`` are described as a live server
  answers them (no token; readiness can be 503; metrics are Prometheus text).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from hookpost.api.app import create_app
from hookpost.api.openapi import CONFLICTS
from hookpost.config import Settings
from hookpost.web.idempotency import NOT_KEPT
from tests.conftest import Hookpost

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
SPEC = create_app(Settings(admin_token="unused")).openapi()
OPERATIONS = [
    (method, path, op)
    for path, item in SPEC["paths"].items()
    for method, op in item.items()
    if method in ("get", "post", "put", "patch", "delete")
]


def _section(method: str, path: str) -> str:
    text = DOC.read_text()
    head = f"### `{method.upper()} {path}`\n"
    assert head in text, f"docs/api.md has no section for {method.upper()} {path}"
    rest = text.split(head, 1)[1]
    return rest.split("\n### ", 1)[0].split("\n## ", 1)[0]


def _blocks(section: str, title: str) -> list[Any]:
    found = re.findall(rf"{title}[^\n]*:\n\n```json\n(.*?)\n```", section, re.S)
    return [json.loads(x) for x in found]


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    whole = {**schema, "components": SPEC["components"]}
    return jsonschema.Draft202012Validator(whole)


@pytest.mark.parametrize(("method", "path", "op"), OPERATIONS, ids=lambda x: str(x)[:60])
def test_each_route_shows_its_own_body_answers_and_examples(
    method: str, path: str, op: dict[str, Any]
) -> None:
    section = _section(method, path)
    body = (op.get("requestBody") or {}).get("content", {}).get("application/json")
    if body:
        schema = body["schema"]
        if "anyOf" in schema:
            schema = next(x for x in schema["anyOf"] if x.get("type") != "null")
        name = schema["$ref"].rsplit("/", 1)[-1]
        assert f"Request body: `{name}`" in section
        for field in SPEC["components"]["schemas"][name].get("properties", {}):
            assert f"| `{field}` |" in section, f"{path}: body field {field} not shown"
        (example,) = _blocks(section, "Example request body")
        _validator(schema).validate(example)
    else:
        assert "Request body" not in section
    answers = op["responses"]
    for code in answers:
        assert re.search(rf"^\| [0-9, ]*\b{code}\b", section, re.M), f"{path}: {code} not listed"
    examples = _blocks(section, "Example answer")
    with_body = [c for c in answers if c.startswith("2") and answers[c].get("content")]
    if with_body:
        plain = re.findall(r"Example answer[^\n]*:\n\n```\n(.*?)\n```", section, re.S)
        assert examples or plain, f"{path}: no example answer"
        if any("application/x-ndjson" in answers[c]["content"] for c in with_body):
            assert all(json.loads(line) for line in plain[0].splitlines()), path
        for code in with_body:
            content = answers[code]["content"].get("application/json", {})
            if examples and "schema" in content and f"Example answer ({code})" in section:
                _validator(content["schema"]).validate(examples[0])
    codes = set(answers)
    if method in ("get", "delete"):
        assert not codes & {"413", "415"}, path
    if not any(p["in"] == "path" for p in op.get("parameters", [])):
        assert "404" not in codes, path
    if "409" in codes:
        assert (method.upper(), path) in CONFLICTS or answers["409"]["description"] != "", path
    if path.startswith("/api/"):
        assert {"401", "403", "503"} <= codes, path
        assert "Token: the admin token" in section
    elif path == "/metrics":  # a token (so a 401) only when the operator sets one
        assert "unless `HOOKPOST_METRICS_TOKEN` is set" in section
        assert "HOOKPOST_METRICS_TOKEN is set" in answers["401"]["description"]
    else:
        assert "No token." in section and "401" not in codes


def test_the_three_bodies_the_old_reference_missed() -> None:
    for path in (
        "/api/v1/projects/{project_id}/portal-link",
        "/api/v1/projects/{project_id}/endpoints/{endpoint_id}/test",
        "/api/v1/projects/{project_id}/endpoints/{endpoint_id}/rotate-secret",
    ):
        section = _section("post", path)
        assert "Request body: `" in section and "Example request body" in section, path


def test_409_only_where_the_store_can_refuse_or_an_idempotency_key_is_in_use() -> None:
    with_409 = {(m.upper(), p) for m, p, op in OPERATIONS if "409" in op["responses"]}
    posts = {
        (m.upper(), p)
        for m, p, _ in OPERATIONS
        if m == "post" and p.startswith("/api/v1/") and p not in NOT_KEPT
    }
    assert with_409 == set(CONFLICTS) | posts
    for method, path, op in OPERATIONS:  # the header is declared exactly where it is honoured
        names = {p["name"] for p in op.get("parameters", []) if p.get("in") == "header"}
        assert ("Idempotency-Key" in names) is ((method.upper(), path) in posts), (method, path)
    assert set(CONFLICTS) <= {(m.upper(), p) for m, p, _ in OPERATIONS}, "a stale CONFLICTS key"


async def test_system_routes_answer_as_documented(sqlite_api: Hookpost) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=sqlite_api.base_url) as anonymous:
        health = await anonymous.get("/healthz")
        assert health.json() == _blocks(_section("get", "/healthz"), "Example answer")[0]
        ready = await anonymous.get("/readyz")
        documented = _blocks(_section("get", "/readyz"), "Example answer")[0]
        assert ready.status_code == 200 and set(ready.json()) == set(documented)
        assert set(ready.json()["checks"]) <= set(documented["checks"])
        metrics = await anonymous.get("/metrics")
        assert metrics.status_code == 200
        assert metrics.headers["content-type"].startswith("text/plain")
        assert "hookpost_queue_deliveries" in metrics.text
    assert "503" in SPEC["paths"]["/readyz"]["get"]["responses"]
    assert "text/plain" in SPEC["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
