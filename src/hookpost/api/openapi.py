"""What each route may answer, in the OpenAPI description (and so in docs/api.md).

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
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

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
    if (method.upper(), path) in CONFLICTS:
        codes.append(409)
    if method in _BODY_METHODS:
        codes.append(413)
    if json_body:
        codes.append(415)
    if json_body or where:
        codes.append(422)
    return sorted(codes)


def describe_errors(spec: dict[str, Any]) -> None:
    """Add each ``/api/v1`` operation's own error answers to ``spec`` (in place).

    An answer the route declares itself (publish's 409) is kept as it is.
    """
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    error_schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
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
                text = CONFLICTS[(method.upper(), path)] if code == 409 else MEANINGS[code]
                answer: dict[str, Any] = {
                    "description": text,
                    "content": {"application/json": {"schema": _ERROR_REF}},
                }
                if code in (429, 503, 507):
                    answer["headers"] = _RETRY_AFTER
                answers[str(code)] = answer
            operation["responses"] = dict(sorted(answers.items()))
    # FastAPI's own 422 shape, which hookpost never sends, is gone from every route.
    if "HTTPValidationError" not in str(spec["paths"]):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)


def _fastapi_default(answer: dict[str, Any]) -> bool:
    """FastAPI's automatic 422 (``HTTPValidationError``): replaced by hookpost's."""
    return "HTTPValidationError" in str(answer.get("content", {}))


def install(app: FastAPI) -> None:
    """Build the spec as FastAPI does, then give each API operation its error answers."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = build()
            describe_errors(spec)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
