"""The OpenAPI spec is one generators can use: ids, security, types, examples, webhooks.

Each test reads the spec the app serves (built without a database) and checks
one promise of :mod:`hookpost.api.openapi` over every operation or schema, so a
route added without an id, a timestamp typed as a bare string or an example
that does not match its schema fails here, naming the place.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import jsonschema
import pytest

from hookpost.api import openapi, webhooks
from hookpost.api.app import create_app
from hookpost.config import Settings
from hookpost.domain import DeliveryStatus
from hookpost.profiles import PROFILE_NAMES, get_profile, public_key_for
from hookpost.web.errors import code_of

SYSTEM = {"/healthz", "/readyz", "/metrics"}


@cache
def _spec() -> dict[str, Any]:
    return create_app(Settings(admin_token="unused")).openapi()


def _operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in _spec()["paths"].items():
        for method, op in item.items():
            yield method.upper(), path, op


def _walk(node: Any, where: str = "") -> Iterator[tuple[str, Any]]:
    yield where, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, f"{where}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{where}/{i}")


def test_every_operation_has_its_short_id_from_the_table() -> None:
    ids = {(m, p): op.get("operationId") for m, p, op in _operations()}
    missing = [f"{m} {p}" for m, p in ids if (m, p) not in openapi.OPERATION_IDS]
    assert not missing, f"add to hookpost.api.openapi.OPERATION_IDS: {missing}"
    assert len(set(ids.values())) == len(ids), "operationIds must be unique"
    for where, op_id in ids.items():
        assert re.fullmatch(r"[a-z_]+\.[a-z_]+", str(op_id)), where


@pytest.mark.parametrize(
    ("method", "path", "op_id"),
    [
        ("POST", "/api/v1/projects", "projects.create"),
        ("POST", "/api/v1/projects/{project_id}/endpoints", "endpoints.create"),
        ("POST", "/api/v1/projects/{project_id}/events", "events.publish"),
        ("POST", "/api/v1/projects/{project_id}/events/batch", "events.publish_batch"),
        ("GET", "/api/v1/projects/{project_id}/deliveries", "deliveries.list"),
        (
            "POST",
            "/api/v1/projects/{project_id}/deliveries/{delivery_id}/resend",
            "deliveries.resend",
        ),
        ("GET", "/readyz", "system.readyz"),
    ],
)
def test_well_known_operation_ids(method: str, path: str, op_id: str) -> None:
    assert _spec()["paths"][path][method.lower()]["operationId"] == op_id


def test_bearer_on_every_api_operation_and_none_on_system_routes() -> None:
    schemes = _spec()["components"]["securitySchemes"]
    assert schemes == {"bearer": {**schemes["bearer"], "type": "http", "scheme": "bearer"}}
    for method, path, op in _operations():
        want = [{"bearer": []}] if path.startswith("/api/v1/") else []
        assert op.get("security") == want, f"{method} {path}"
    assert {p for _, p, op in _operations() if op["security"] == []} == SYSTEM


def test_response_times_are_date_time_and_the_epoch_one_says_so() -> None:
    schemas = _spec()["components"]["schemas"]
    seen = 0
    for name, schema in schemas.items():
        for field, prop in schema.get("properties", {}).items():
            times = field == "at" or field.endswith(("_at", "_since", "_until"))
            if not times or name.endswith("In"):
                continue
            options = prop.get("anyOf", [prop])
            strings = [o for o in options if o.get("type") == "string"]
            assert strings and all(o.get("format") == "date-time" for o in strings), (
                f"{name}.{field}"
            )
            seen += 1
    assert seen >= 15
    timestamp = schemas["EventOut"]["properties"]["timestamp"]
    assert timestamp["type"] == "integer" and "Unix seconds" in timestamp["description"]


def test_one_delivery_status_enum_used_everywhere() -> None:
    states = [s.value for s in DeliveryStatus]
    spec = _spec()
    assert spec["components"]["schemas"]["DeliveryStatus"]["enum"] == states
    inline = [w for w, n in _walk(spec) if isinstance(n, dict) and n.get("enum") == states]
    assert inline == ["/components/schemas/DeliveryStatus"]
    ref = {"$ref": "#/components/schemas/DeliveryStatus"}
    assert spec["components"]["schemas"]["DeliveryOut"]["properties"]["status"] == ref
    (param,) = [
        p
        for p in spec["paths"]["/api/v1/projects/{project_id}/deliveries"]["get"]["parameters"]
        if p["name"] == "status"
    ]
    assert ref in param["schema"]["anyOf"]


def test_error_detail_items_are_typed() -> None:
    schemas = _spec()["components"]["schemas"]
    error = schemas["ErrorOut"]
    assert error["required"] == ["error", "message", "detail"]
    assert error["properties"]["detail"]["items"] == {"$ref": "#/components/schemas/ErrorDetail"}
    assert schemas["ErrorDetail"]["required"] == ["field", "message", "type"]
    batch_detail = schemas["EventBatchItem"]["properties"]["detail"]["anyOf"][0]
    assert batch_detail["items"] == {"$ref": "#/components/schemas/ErrorDetail"}


def test_request_schemas_carry_no_default() -> None:
    """openapi-typescript (default settings) makes a property with a default required."""
    request = openapi._request_schemas(_spec())
    assert {"EndpointIn", "EventIn", "ApiKeyIn", "EventBatchIn"} <= request
    schemas = _spec()["components"]["schemas"]
    for name in request:
        for field, prop in schemas[name].get("properties", {}).items():
            assert "default" not in prop, f"{name}.{field}"
    assert 'Default: "full"' in schemas["ApiKeyIn"]["properties"]["scope"]["description"]


@pytest.mark.parametrize(
    ("path", "codes"),
    [
        ("/healthz", ["200"]),
        ("/readyz", ["200", "503"]),
        ("/metrics", ["200", "401"]),
    ],
)
def test_system_routes_list_their_own_answers(path: str, codes: list[str]) -> None:
    assert sorted(_spec()["paths"][path]["get"]["responses"]) == codes


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    root = {**schema, "components": _spec()["components"]}
    return jsonschema.Draft202012Validator(root, format_checker=jsonschema.FormatChecker())


def test_every_json_body_and_success_answer_has_a_valid_example() -> None:
    checked = 0
    for method, path, op in _operations():
        media = [op.get("requestBody", {}).get("content", {}).get("application/json")]
        media += [
            answer.get("content", {}).get("application/json")
            for code, answer in op["responses"].items()
            if code.startswith("2")
        ]
        for m in media:
            if m is None or "schema" not in m:
                continue
            assert "example" in m, f"{method} {path}"
            errors = [e.message for e in _validator(m["schema"]).iter_errors(m["example"])]
            assert not errors, f"{method} {path}: {errors}"
            checked += 1
    assert checked >= 45


def test_error_answers_have_examples_of_their_own_status() -> None:
    """Each error example is a valid ErrorOut whose code is the one its status answers."""
    own_codes = {
        400: {"bad_request", "invalid_json"},
        409: {"conflict", "limit_reached", "idempotency_key_in_use"},
    }
    checked = 0
    for method, path, op in _operations():
        for status, answer in op["responses"].items():
            media = answer.get("content", {}).get("application/json", {})
            if not status.startswith(("4", "5")) or "example" not in media:
                continue
            if not path.startswith("/api/v1/"):  # /readyz's 503 is its own shape
                continue
            example = media["example"]
            assert not list(_validator(media["schema"]).iter_errors(example)), (method, path)
            allowed = own_codes.get(int(status), {code_of(int(status))})
            assert example["error"] in allowed, (method, path, status)
            checked += 1
    assert checked >= 300
    resend = _spec()["paths"]["/api/v1/projects/{project_id}/deliveries/{delivery_id}/resend"]
    assert (
        resend["post"]["responses"]["404"]["content"]["application/json"]["example"]["message"]
        == "delivery not found"
    )


@pytest.mark.parametrize("key", [*PROFILE_NAMES, "standard-ed25519"])
def test_each_webhook_is_a_request_its_profile_verifies(key: str) -> None:
    """The documented headers and body are a real signed request, not prose."""
    op = _spec()["webhooks"][key]["post"]
    name = key.removesuffix("-ed25519")
    profile = get_profile(name)
    body = profile.body(webhooks.SAMPLE)
    media = op["requestBody"]["content"]["application/json"]
    assert json.loads(body) == media["example"]
    assert not list(_validator(media["schema"]).iter_errors(media["example"]))
    headers = {p["name"]: p["example"] for p in op["parameters"] if p["in"] == "header"}
    ed = key.endswith("ed25519")
    key_ = public_key_for(webhooks.ED25519_SECRET) if ed else webhooks.HMAC_SECRET
    now = webhooks.SAMPLE.created_at
    assert profile.verify(body, headers, [key_], tolerance=300, now=now) is not None
    assert headers, "a webhook without its signature header"
    assert op["security"] == [] and op["operationId"].startswith("webhooks.")


def test_every_profile_has_a_webhook() -> None:
    assert set(_spec()["webhooks"]) == {*PROFILE_NAMES, "standard-ed25519"}
