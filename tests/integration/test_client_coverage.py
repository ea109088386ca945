"""The client covers every operation of the OpenAPI, and its models every answer's fields.

Each client method is called once over ``httpx.MockTransport`` to see which
route it asks for; the routes seen must be exactly the spec's. Then each
method's answer model (a TypedDict) must name exactly the properties of the
schema its route answers with, so a field added to the API fails here until
the client has it too.
"""

from __future__ import annotations

import functools
import re
import typing
from typing import Any

import httpx
import pytest

from hookpost.api.app import create_app
from hookpost.client import Client, models
from hookpost.client._api import Operations
from hookpost.config import Settings

SPEC = create_app(Settings(admin_token="unused")).openapi()
P, E = "proj_1", "ep_1"

#: method name -> (arguments, the answer model, or None for 204/text)
CALLS: dict[str, tuple[tuple[Any, ...], dict[str, Any], Any]] = {
    "create_project": (("acme",), {}, models.ProjectCreated),
    "list_projects": ((), {}, models.Project),
    "get_project": ((P,), {}, models.Project),
    "update_project": ((P,), {"name": "b"}, models.Project),
    "update_project_settings": ((P,), {"viewers_see_payloads": True}, models.Project),
    "delete_project": ((P,), {}, None),
    "create_api_key": ((P,), {}, models.ApiKeyCreated),
    "list_api_keys": ((P,), {}, models.ApiKey),
    "revoke_api_key": ((P, "key_1"), {}, models.ApiKey),
    "create_endpoint": ((P, "https://x.example/h"), {}, models.EndpointCreated),
    "list_endpoints": ((P,), {}, models.Endpoint),
    "get_endpoint": ((P, E), {}, models.Endpoint),
    "update_endpoint": ((P, E), {"enabled": False}, models.Endpoint),
    "delete_endpoint": ((P, E), {}, None),
    "rotate_secret": ((P, E), {}, models.EndpointCreated),
    "recover": ((P, E, "2026-01-01T00:00:00Z"), {}, models.Recovery),
    "send_test": ((P, E), {}, models.EventAccepted),
    "release_held": ((P, E), {}, models.Released),
    "publish": ((P, "a.b", {}), {}, models.EventAccepted),
    "publish_batch": ((P, []), {}, models.BatchResult),
    "list_events": ((P,), {}, models.Event),
    "get_event": ((P, "evt_1"), {}, models.Event),
    "list_deliveries": ((P,), {}, models.Delivery),
    "get_delivery": ((P, "dlv_1"), {}, models.DeliveryDetail),
    "resend": ((P, "dlv_1"), {}, models.DeliveryDetail),
    "create_event_type": ((P, "a.b"), {}, models.EventType),
    "seed_event_types": ((P, "byl"), {}, models.EventType),
    "list_event_types": ((P,), {}, models.EventType),
    "get_event_type": ((P, "a.b"), {}, models.EventType),
    "delete_event_type": ((P, "a.b"), {}, None),
    "create_profile": ((P, "mine", {}), {}, models.CustomProfile),
    "list_profiles": ((P,), {}, models.CustomProfile),
    "get_profile": ((P, "mine"), {}, models.CustomProfile),
    "delete_profile": ((P, "mine"), {}, None),
    "recover_project": ((P, "2026-01-01T00:00:00Z"), {}, models.Recovery),
    "list_jobs": ((P,), {}, models.Job),
    "get_job": ((P, "job_1"), {}, models.Job),
    "create_portal_link": ((P,), {}, models.PortalLink),
    "create_token": (("ci",), {"expires_in_days": 30}, models.TokenCreated),
    "list_tokens": ((), {}, models.Token),
    "revoke_token": (("tok_1",), {}, models.Token),
    "list_audit_log": ((), {"action": "endpoint.*"}, models.AuditEntry),
    "export_audit_log": ((), {}, None),
    "health": ((), {}, models.Health),
    "ready": ((), {}, models.Readiness),
    "metrics": ((), {}, None),
}

_PARAM = re.compile(r"\{[^}]+\}")


def _route(method: str, path: str) -> tuple[str, str] | None:
    """The spec's route a concrete path belongs to."""
    for template, ops in SPEC["paths"].items():
        if method.lower() in ops and re.fullmatch(_PARAM.sub("[^/]+", template), path):
            return method, template
    return None


@functools.cache
def _seen_routes() -> dict[str, tuple[str, str] | None]:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": [], "next_cursor": None})

    out = {}
    with Client("http://h.test", transport=httpx.MockTransport(answer), max_retries=0) as hp:
        for name, (args, kwargs, _) in CALLS.items():
            getattr(hp, name)(*args, **kwargs)
            out[name] = _route(seen[-1].method, seen[-1].url.path)
    return out


def test_every_operation_of_the_spec_has_a_method() -> None:
    methods = {n for n, v in vars(Operations).items() if not n.startswith("_")}
    assert methods == set(CALLS)
    seen = _seen_routes()
    assert None not in seen.values(), seen
    spec_routes = {(m.upper(), p) for p, ops in SPEC["paths"].items() for m in ops}
    assert {r for r in seen.values() if r} == spec_routes
    assert len(spec_routes) == len(CALLS) == 46


def _schema(ref_or_schema: dict[str, Any]) -> dict[str, Any]:
    ref = ref_or_schema.get("$ref")
    return SPEC["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else ref_or_schema


def _answer_schema(method: str, path: str) -> dict[str, Any] | None:
    responses = SPEC["paths"][path][method.lower()]["responses"]
    for status in sorted(s for s in responses if s.startswith("2"))[::-1]:  # 202 before 200
        content = responses[status].get("content", {}).get("application/json")
        if content and "$ref" in content["schema"]:
            schema = _schema(content["schema"])
            if set(schema.get("properties", {})) == {"data", "next_cursor"}:
                return _schema(schema["properties"]["data"]["items"])
            return schema
    return None


@pytest.mark.parametrize("name", [n for n, c in CALLS.items() if c[2] is not None])
def test_answer_models_name_every_field(name: str) -> None:
    model = CALLS[name][2]
    route = _seen_routes()[name]
    assert route is not None
    schema = _answer_schema(*route)
    if schema is None:  # /healthz, /readyz: documented by example only
        return
    assert set(typing.get_type_hints(model)) == set(schema["properties"]), name


def test_endpoint_fields_cover_the_create_and_patch_bodies() -> None:
    create = _schema(
        SPEC["paths"]["/api/v1/projects/{project_id}/endpoints"]["post"]["requestBody"]["content"][
            "application/json"
        ]["schema"]
    )
    patch = _schema(
        SPEC["paths"]["/api/v1/projects/{project_id}/endpoints/{endpoint_id}"]["patch"][
            "requestBody"
        ]["content"]["application/json"]["schema"]
    )
    assert {"url", *typing.get_type_hints(models.EndpointFields)} == set(create["properties"])
    assert set(typing.get_type_hints(models.EndpointChanges)) == set(patch["properties"])


#: POSTs whose answer holds a credential shown once: the server keeps no copy to replay.
NOT_KEPT = {"create_token"}


def test_every_post_takes_the_callers_idempotency_key() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    with Client("http://h.test", transport=httpx.MockTransport(answer), max_retries=0) as hp:
        for name, (args, kwargs, _) in CALLS.items():
            route = _seen_routes()[name]
            if route is None or route[0] != "POST" or name in NOT_KEPT:
                continue
            getattr(hp, name)(*args, **kwargs, idempotency_key=f"mine-{name}")
            assert seen[-1].headers["idempotency-key"] == f"mine-{name}"
    assert len(seen) == 15
