r"""What each route may answer, in the OpenAPI description (and so in docs/api.md).

Every API route used to list the same ten error answers, so the reference said
a ``GET`` could answer 413 and 415 and a route without a path parameter 404.
Here the error answers of a route follow from what it is, by the same rules the
code follows:

- every ``/api/v1`` route: 401 (no or unknown token), 403 (outside the token's
  scope), 429 (rate limit, wrong-token lockout), 503/507 (the database), and 400
  (a NUL in the path or query, or a body that is not JSON);
- 404 where the path names something (a path parameter);
- 422 where there is anything to validate (parameters or a body);
- 413 for the methods that carry a body; 415 where that body must be JSON;
- 409 only where the store can refuse for the current state: the routes in
  :data:`CONFLICTS` (or a route's own ``responses=``, as publish declares).

The system routes (``/healthz``, ``/readyz``, ``/metrics``) take no token and
describe their own answers.

Then what makes the spec pleasant to generate clients from, all decided here
rather than on each route (route modules stay about behaviour):

- one ``bearer`` security scheme, required by every ``/api/v1`` operation and
  explicitly none (``security: []``) on the system routes;
- short stable ``operationId``\s from :data:`OPERATION_IDS` (``endpoints.create``,
  ``events.publish``): generated clients name their methods after them;
- a request body's defaults said in words, not as ``default``: openapi-typescript
  (default settings) makes a property with a ``default`` required, so a client
  would have to send every defaulted field;
- examples on each request body and success answer (:mod:`hookpost.api.examples`);
- the OpenAPI 3.1 ``webhooks``: what a receiver gets for each signing profile
  (:mod:`hookpost.api.webhooks`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import FastAPI

from hookpost.api import webhooks
from hookpost.api.examples import SpecExamples
from hookpost.config import Settings
from hookpost.store.outage import Outage
from hookpost.web.errors import SEND_JSON, code_of, detail_item
from hookpost.web.idempotency import HEADER as IDEMPOTENCY_HEADER
from hookpost.web.idempotency import NOT_KEPT
from hookpost.web.schemas import ErrorOut

API = "/api/v1"
_P = f"{API}/projects/{{project_id}}"

MEANINGS: dict[int, str] = {
    400: "Not JSON (see the message), or a NUL character in the path or query",
    401: "Missing or unknown bearer token",
    403: "The token may not do this (admin only, or outside the API key's scope)",
    404: "Not found, or not in the caller's project",
    413: "Request body too large (HOOKPOST_MAX_BODY_BYTES)",
    415: "The body was not sent as JSON: send it with Content-Type: application/json",
    422: "Invalid input; the message and detail name the field",
    429: "Rate limit of the API key exceeded, or too many wrong tokens (see Retry-After)",
    503: "The database is unreachable, timed out, busy or read-only: the request could "
    "not be completed; retry after Retry-After seconds (a publish repeated with the "
    "same event_id is stored once)",
    507: "The database's disk is full: the request could not be completed; retry after "
    "Retry-After seconds",
}

#: Routes the store may refuse for the state things are in: (method, path) -> why.
CONFLICTS: dict[tuple[str, str], str] = {
    ("POST", f"{_P}/endpoints"): "limit_reached: the project already has "
    "HOOKPOST_MAX_ENDPOINTS_PER_PROJECT endpoints",
    ("POST", f"{_P}/endpoints/{{endpoint_id}}/release-held"): "The endpoint is still "
    "disabled: enable it first",
    ("POST", f"{_P}/deliveries/{{delivery_id}}/resend"): "An attempt of this delivery "
    "is in flight right now",
    ("POST", f"{_P}/event-types"): "An event type of that name is already in the catalog",
    ("POST", f"{_P}/profiles"): "A profile of that name already exists",
    ("DELETE", f"{_P}/profiles/{{name}}"): "Endpoints still use the profile",
}

_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer"},
    }
}
_BODY_METHODS = {"post", "put", "patch"}
_ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}


def error_codes(method: str, path: str, operation: dict[str, Any]) -> list[int]:
    """The error statuses ``method`` (lower case) on ``path`` may answer, by the rules above."""
    where = {p.get("in") for p in operation.get("parameters", [])}
    json_body = "application/json" in (operation.get("requestBody") or {}).get("content", {})
    codes = [400, 401, 403, 429, 503, 507]
    if "path" in where:
        codes.append(404)
    if (method.upper(), path) in CONFLICTS or _idempotent(method, path):
        codes.append(409)
    if method in _BODY_METHODS:
        codes.append(413)
    if json_body:
        codes.append(415)
    if json_body or where or _idempotent(method, path):
        codes.append(422)
    return sorted(codes)


def _idempotent(method: str, path: str) -> bool:
    """Does ``Idempotency-Key`` apply (every POST under ``/api/v1`` but those whose answer is
    a credential kept only as a hash, ``NOT_KEPT``: web/idempotency.py)?"""
    return method.lower() == "post" and path.startswith(API + "/") and path not in NOT_KEPT


#: The ``Idempotency-Key`` request header, on every POST under ``/api/v1``.
IDEMPOTENCY_KEY = {
    "name": IDEMPOTENCY_HEADER,
    "in": "header",
    "required": False,
    "description": "Run this POST at most once per key, caller and 24 hours (Stripe's rules): "
    "the same key with the same route and body replays the first 2xx answer with "
    "Idempotent-Replayed: true; with another route or body the answer is 422 "
    "idempotency_key_reused; while the first request runs, 409 idempotency_key_in_use "
    "with Retry-After. 1 to 255 visible ASCII characters, e.g. a UUID.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
    "example": "4f1c2a9e-0d7b-4e59-9a8e-2c1f3b5d6e70",
}
_IDEMPOTENCY_CONFLICT = "Idempotency-Key: the first request with this key is still running "


#: Each operation's id, (method, path) -> ``resource.verb``: stable names for generated clients.
OPERATION_IDS: dict[tuple[str, str], str] = {
    ("POST", f"{API}/projects"): "projects.create",
    ("GET", f"{API}/projects"): "projects.list",
    ("GET", _P): "projects.get",
    ("PATCH", _P): "projects.update",
    ("DELETE", _P): "projects.delete",
    ("PATCH", f"{_P}/settings"): "projects.update_settings",
    ("POST", f"{_P}/api-keys"): "api_keys.create",
    ("GET", f"{_P}/api-keys"): "api_keys.list",
    ("DELETE", f"{_P}/api-keys/{{key_id}}"): "api_keys.revoke",
    ("POST", f"{_P}/endpoints"): "endpoints.create",
    ("GET", f"{_P}/endpoints"): "endpoints.list",
    ("GET", f"{_P}/endpoints/{{endpoint_id}}"): "endpoints.get",
    ("PATCH", f"{_P}/endpoints/{{endpoint_id}}"): "endpoints.update",
    ("DELETE", f"{_P}/endpoints/{{endpoint_id}}"): "endpoints.delete",
    ("POST", f"{_P}/endpoints/{{endpoint_id}}/rotate-secret"): "endpoints.rotate_secret",
    ("POST", f"{_P}/endpoints/{{endpoint_id}}/recover"): "endpoints.recover",
    ("POST", f"{_P}/endpoints/{{endpoint_id}}/test"): "endpoints.send_test",
    ("POST", f"{_P}/endpoints/{{endpoint_id}}/release-held"): "endpoints.release_held",
    ("POST", f"{_P}/events"): "events.publish",
    ("GET", f"{_P}/events"): "events.list",
    ("POST", f"{_P}/events/batch"): "events.publish_batch",
    ("GET", f"{_P}/events/{{event_id}}"): "events.get",
    ("GET", f"{_P}/deliveries"): "deliveries.list",
    ("GET", f"{_P}/deliveries/{{delivery_id}}"): "deliveries.get",
    ("POST", f"{_P}/deliveries/{{delivery_id}}/resend"): "deliveries.resend",
    ("POST", f"{_P}/event-types"): "event_types.create",
    ("GET", f"{_P}/event-types"): "event_types.list",
    ("POST", f"{_P}/event-types/seed"): "event_types.seed",
    ("GET", f"{_P}/event-types/{{name}}"): "event_types.get",
    ("DELETE", f"{_P}/event-types/{{name}}"): "event_types.delete",
    ("POST", f"{_P}/profiles"): "profiles.create",
    ("GET", f"{_P}/profiles"): "profiles.list",
    ("GET", f"{_P}/profiles/{{name}}"): "profiles.get",
    ("DELETE", f"{_P}/profiles/{{name}}"): "profiles.delete",
    ("POST", f"{_P}/recover"): "jobs.recover",
    ("GET", f"{_P}/jobs"): "jobs.list",
    ("GET", f"{_P}/jobs/{{job_id}}"): "jobs.get",
    ("POST", f"{_P}/portal-link"): "portal.create_link",
    ("POST", f"{API}/tokens"): "tokens.create",
    ("GET", f"{API}/tokens"): "tokens.list",
    ("DELETE", f"{API}/tokens/{{token_id}}"): "tokens.revoke",
    ("GET", f"{API}/audit-log"): "audit_log.list",
    ("GET", f"{API}/audit-log/export"): "audit_log.export",
    ("GET", "/healthz"): "system.healthz",
    ("GET", "/readyz"): "system.readyz",
    ("GET", "/metrics"): "system.metrics",
}

#: The one security scheme: what every ``/api/v1`` operation needs.
BEARER = "bearer"
SECURITY_SCHEMES = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "description": "Authorization: Bearer <token>, the token being the admin token "
        "(HOOKPOST_ADMIN_TOKEN: every project), an operator's personal token (hpu_..., "
        "acting with the operator's role) or an API key of the project (hpk_..., "
        "its scope full, read or publish).",
    }
}


def describe(spec: dict[str, Any]) -> None:
    """Everything this module adds to the spec FastAPI built (in place; see the docstring)."""
    describe_errors(spec)
    info = spec.setdefault("info", {})
    info.setdefault("license", {"name": "Apache-2.0", "identifier": "Apache-2.0"})
    spec.setdefault("servers", [{"url": "/", "description": "This hookpost server"}])
    spec.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    examples = SpecExamples(spec)
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            own = OPERATION_IDS.get((method.upper(), path))
            if own is not None:
                operation["operationId"] = own
            operation["security"] = [{BEARER: []}] if path.startswith(API) else []
            if _idempotent(method, path):
                operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
            _add_examples(examples, operation)
    for name in _request_schemas(spec):
        _defaults_in_words(spec["components"]["schemas"][name])
    webhooks.describe(spec)


def _add_examples(examples: SpecExamples, operation: dict[str, Any]) -> None:
    """An example on the JSON request body and each success answer that has none."""
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None and "example" not in body and "examples" not in body:
        schema = body.get("schema", {})
        if "anyOf" in schema:  # an optional body: Model | None
            schema = next(x for x in schema["anyOf"] if x.get("type") != "null")
        body["example"] = examples.request_example(schema)
    for code, answer in operation.get("responses", {}).items():
        media = answer.get("content", {}).get("application/json")
        if code.startswith("2") and media and media.get("schema"):
            if "example" not in media and "examples" not in media:
                media["example"] = examples.example(media["schema"])


def _request_schemas(spec: dict[str, Any]) -> set[str]:
    """The component schemas that request bodies use, directly or through a $ref."""
    schemas = spec.get("components", {}).get("schemas", {})
    todo = [
        op["requestBody"]
        for item in spec["paths"].values()
        for op in item.values()
        if "requestBody" in op
    ]
    seen: set[str] = set()
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[-1]
                if name not in seen and name in schemas:
                    seen.add(name)
                    todo.append(schemas[name])
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return seen


def _defaults_in_words(schema: dict[str, Any]) -> None:
    """Move each property's ``default`` into its description (a ``null`` one goes):
    leaving a defaulted field out of a request is what the default is for."""
    for prop in schema.get("properties", {}).values():
        if "default" not in prop:
            continue
        value = prop.pop("default")
        if value is None:
            continue
        said = f"Default: {json.dumps(value)}"
        text = prop.get("description", "")
        prop["description"] = f"{text.rstrip()} {said}".strip() if said not in text else text


def describe_errors(spec: dict[str, Any]) -> None:
    """Add each ``/api/v1`` operation's own error answers to ``spec`` (in place).

    An answer the route declares itself (publish's 409) is kept as it is.
    """
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    error_schema = ErrorOut.model_json_schema(
        ref_template="#/components/schemas/{model}", mode="serialization"
    )
    schemas.update(error_schema.pop("$defs", {}))
    schemas["ErrorOut"] = error_schema
    for path, item in spec["paths"].items():
        if not path.startswith(API):
            continue
        for method, operation in item.items():
            answers = operation.setdefault("responses", {})
            for code in error_codes(method, path, operation):
                if str(code) in answers and not _fastapi_default(answers[str(code)]):
                    continue
                text = MEANINGS.get(code, "")
                if code == 409:
                    own = CONFLICTS.get((method.upper(), path))
                    text = (
                        _IDEMPOTENCY_CONFLICT
                        + "(idempotency_key_in_use; retry after "
                        + ("Retry-After)" if own is None else f"Retry-After); or: {own}")
                    )
                media: dict[str, Any] = {"schema": _ERROR_REF}
                example = _error_example(code, method, path, operation, schemas)
                if example is not None:
                    media["example"] = example
                answer: dict[str, Any] = {
                    "description": text,
                    "content": {"application/json": media},
                }
                if code in (429, 503, 507) or (code == 409 and _idempotent(method, path)):
                    answer["headers"] = _RETRY_AFTER
                answers[str(code)] = answer
            operation["responses"] = dict(sorted(answers.items()))
    # FastAPI's own 422 shape, which hookpost never sends, is gone from every route.
    if "HTTPValidationError" not in str(spec["paths"]):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)


_DEFAULT_MAX_BODY = Settings.model_fields["max_body_bytes"].default
#: Example answers by status: (error code or None for the usual one, message), the
#: messages as the handlers word them (an outage's from the store's own table).
_ERROR_MESSAGES = {
    400: ("invalid_json", f"body: invalid JSON (Expecting value): {SEND_JSON}"),
    401: (None, "invalid token"),
    403: (None, "this API key's scope (read) does not allow this"),
    413: (None, f"body: request body is larger than {_DEFAULT_MAX_BODY} bytes"),
    415: (None, f"body: {SEND_JSON} (this request's Content-Type is 'text/plain')"),
    429: (None, "rate limit of 20 requests per second for this API key exceeded"),
    503: (None, Outage("unreachable", "").message),
    507: (None, Outage("full", "").message),
}


def _error_example(
    code: int, method: str, path: str, operation: dict[str, Any], schemas: dict[str, Any]
) -> dict[str, Any] | None:
    """A typical answer of ``code`` on this route; None where no one example is typical."""
    if code == 404:
        names = re.findall(r"{(\w+)}", path)
        what = {"key_id": "api key", "name": "profile" if "/profiles/" in path else "event type"}
        last = names[-1] if names else "project_id"
        thing = what.get(last, last.removesuffix("_id").replace("_", " "))
        return {"error": code_of(404), "message": f"{thing} not found", "detail": []}
    if code == 422:
        body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
        ref = body.get("schema", {}).get("$ref", "")
        required = schemas.get(ref.rsplit("/", 1)[-1], {}).get("required", [])
        if not required:
            return None
        field = required[0]
        item = {"field": field, "message": "Field required", "type": "missing"}
        return {"error": code_of(422), "message": f"{field}: Field required", "detail": [item]}
    if code == 409:
        why = CONFLICTS.get((method.upper(), path))
        if why is None:
            why = "a request with this key is still running; retry after Retry-After seconds"
            kind = "idempotency_key_in_use"
            return {
                "error": kind,
                "message": f"{IDEMPOTENCY_HEADER}: {why}",
                "detail": [detail_item(IDEMPOTENCY_HEADER, why, kind)],
            }
        kind, _, said = why.partition(": ") if why.startswith("limit_reached") else ("", "", why)
        return {"error": kind or code_of(409), "message": said, "detail": []}
    if code not in _ERROR_MESSAGES:
        return None
    own, message = _ERROR_MESSAGES[code]
    return {"error": own or code_of(code), "message": message, "detail": []}


def _fastapi_default(answer: dict[str, Any]) -> bool:
    """FastAPI's automatic 422 (``HTTPValidationError``): replaced by hookpost's."""
    return "HTTPValidationError" in str(answer.get("content", {}))


def install(app: FastAPI) -> None:
    """Build the spec as FastAPI does, then :func:`describe` it."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = build()
            describe(spec)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
