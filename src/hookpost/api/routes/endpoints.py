"""Endpoint routes: create, read, update, delete, rotate, recover, test, release.

The rules live in :mod:`hookpost.services.endpoints` (shared with the
dashboard); a route parses the body, calls the service and shapes the answer.
The secret is shown once, in the answer to create and rotate (an ed25519
endpoint's public ``whpk_`` key, never its private key).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from hookpost.domain import roles
from hookpost.services import deliveries, endpoints
from hookpost.web import render
from hookpost.web.deps import PagingDep, PrincipalDep, ProjectScope, StoreDep
from hookpost.web.schemas import (
    EndpointCreated,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    EventAccepted,
    ListOut,
    RecoverIn,
    RecoverOut,
    ReleasedOut,
    RotateIn,
    TestIn,
)
from hookpost.web.state import runtime, waker

router = APIRouter(prefix="/projects/{project_id}/endpoints", tags=["endpoints"])


@router.post("", status_code=201, response_model=EndpointCreated)
async def create_endpoint(
    project_id: ProjectScope, body: EndpointIn, store: StoreDep, request: Request
) -> dict[str, Any]:
    """409 ``limit_reached`` once the project has HOOKPOST_MAX_ENDPOINTS_PER_PROJECT endpoints."""
    state = runtime(request)
    made = await endpoints.create(
        store, state.settings, state.destinations, project_id, body.model_dump()
    )
    return {**render.endpoint(made.endpoint), "secret": made.secret}


@router.get("", response_model=ListOut[EndpointOut])
async def list_endpoints(
    project_id: ProjectScope, store: StoreDep, page: PagingDep
) -> dict[str, Any]:
    result = await store.list_endpoints(project_id, limit=page.limit, cursor=page.cursor)
    return {"data": [render.endpoint(e) for e in result.data], "next_cursor": result.next_cursor}


@router.get("/{endpoint_id}", response_model=EndpointOut)
async def get_endpoint(
    project_id: ProjectScope, endpoint_id: str, store: StoreDep
) -> dict[str, Any]:
    return render.endpoint(await store.get_endpoint(project_id, endpoint_id))


@router.patch("/{endpoint_id}", response_model=EndpointOut)
async def update_endpoint(
    project_id: ProjectScope,
    endpoint_id: str,
    body: EndpointPatch,
    store: StoreDep,
    request: Request,
    principal: PrincipalDep,
) -> dict[str, Any]:
    """Operators whose role may only toggle endpoints may change ``enabled`` alone."""
    state = runtime(request)
    values = body.model_dump(exclude_unset=True)
    principal.require(roles.endpoint_patch_permission(set(values)))
    row = await endpoints.update(
        store, state.settings, state.destinations, project_id, endpoint_id, values
    )
    return render.endpoint(row)


@router.delete("/{endpoint_id}", status_code=204, response_class=Response)
async def delete_endpoint(project_id: ProjectScope, endpoint_id: str, store: StoreDep) -> Response:
    await store.delete_endpoint(project_id, endpoint_id)
    return Response(status_code=204)


@router.post("/{endpoint_id}/rotate-secret", response_model=EndpointCreated)
async def rotate_secret(
    project_id: ProjectScope, endpoint_id: str, store: StoreDep, body: RotateIn | None = None
) -> dict[str, Any]:
    body = body or RotateIn()
    rotated = await endpoints.rotate_secret(
        store,
        project_id,
        endpoint_id,
        secret=body.secret,
        signing=body.signing,
        grace_period_seconds=body.grace_period_seconds,
    )
    return {**render.endpoint(rotated.endpoint), "secret": rotated.secret}


@router.post("/{endpoint_id}/recover", status_code=202, response_model=RecoverOut)
async def recover(
    project_id: ProjectScope, endpoint_id: str, body: RecoverIn, store: StoreDep, request: Request
) -> dict[str, Any]:
    """Queue a background job resending the endpoint's failed deliveries in the window."""
    until = body.until.timestamp() if body.until else None
    job = await deliveries.recover(
        store, project_id, endpoint_id, body.since.timestamp(), until, waker(request)
    )
    return {**render.job(job), "recovered": job["total"]}


@router.post("/{endpoint_id}/test", status_code=202, response_model=EventAccepted)
async def send_test(
    project_id: ProjectScope,
    endpoint_id: str,
    store: StoreDep,
    request: Request,
    body: TestIn | None = None,
) -> dict[str, Any]:
    body = body or TestIn()
    event, count = await endpoints.send_test(
        store, project_id, endpoint_id, body.event_type, body.payload, waker(request)
    )
    return {**render.event(event), "deliveries": count}


@router.post("/{endpoint_id}/release-held", status_code=202, response_model=ReleasedOut)
async def release_held(
    project_id: ProjectScope, endpoint_id: str, store: StoreDep, request: Request
) -> dict[str, Any]:
    """Queue every delivery held while the endpoint was disabled (409 while it still is)."""
    released = await endpoints.release_held(store, project_id, endpoint_id, waker(request))
    return {"released": released}
