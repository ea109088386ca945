"""Endpoint routes: create, read, update, delete, rotate, recover, test, release.

An endpoint's secret is shown once, in the answer to create and rotate: the
HMAC secret receivers share, or -- for ed25519 signing -- only the public
``whpk_`` key. hookpost keeps the private ``whsk_`` key it generated or was
given and never shows it again, so whoever can read an answer (or a portal
page) can verify deliveries but never forge them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from hookpost.api import render
from hookpost.api.deps import PagingDep, ProjectScope, StoreDep
from hookpost.api.errors import ValidationProblem
from hookpost.api.schemas import (
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
    Signing,
    TestIn,
)
from hookpost.core import destination_url, jsonenc, secret_headers
from hookpost.core.signing import generate_secret
from hookpost.domain import NotFound
from hookpost.profiles import PROFILE_NAMES, Profile, ed25519, resolve_profile
from hookpost.store import Store

router = APIRouter(prefix="/projects/{project_id}/endpoints", tags=["endpoints"])


async def profile_for(store: Store, project_id: str, name: str) -> Profile:
    """A built-in profile, or this project's custom profile of that name (else 422)."""
    if name in PROFILE_NAMES:
        return resolve_profile(name)
    try:
        row = await store.get_profile(project_id, name)
    except NotFound:
        raise ValidationProblem(
            [("profile", f"unknown profile {name!r}; built in: {', '.join(PROFILE_NAMES)}")]
        ) from None
    return resolve_profile(name, row["definition"])


def _secret_for(profile: Profile, given: str | None, signing: Signing | None) -> str:
    """The secret to store: ``given`` once checked, else a new one of the kind ``signing`` asks.

    ``signing`` None follows the secret given (a ``whsk_`` key means ed25519),
    and without one means hmac.
    """
    field = "signing" if signing else "secret"  # what the caller chose, to name in a refusal
    signing = signing or ed25519.signing_of(given) or "hmac"
    if signing == "ed25519":
        if profile.name != "standard":
            raise ValidationProblem(
                [(field, "ed25519 signing works only with the standard profile")]
            )
        if given is not None and not given.startswith(ed25519.SECRET_KEY_PREFIX):
            raise ValidationProblem(
                [("secret", "ed25519 signing needs a whsk_ secret key, or none to generate a pair")]
            )
    elif given is not None and given.startswith(ed25519.SECRET_KEY_PREFIX):
        raise ValidationProblem([("secret", "a whsk_ key signs with ed25519, not hmac")])
    if given is None:
        return ed25519.generate_keypair()[0] if signing == "ed25519" else generate_secret()
    problem = profile.validate_secret(given)
    if problem:
        raise ValidationProblem([("secret", problem)])
    return given


def merged_headers(values: dict[str, Any], before: dict[str, Any] | None = None) -> dict[str, Any]:
    """``values`` with its ``headers`` and ``secret_headers`` as they will be stored.

    A masked value keeps the stored one; secret marks add up (see
    :func:`hookpost.core.secret_headers.merge`); 422 naming the field otherwise.
    """
    try:
        headers, secret = secret_headers.merge(
            values.get("headers"),
            values.get("secret_headers"),
            before["headers"] if before else None,
            before["secret_headers"] if before else (),
        )
    except secret_headers.HeaderProblem as exc:
        raise ValidationProblem([(exc.field, exc.message)]) from None
    return {**values, "headers": headers, "secret_headers": secret}


def wake(request: Request) -> None:
    dispatcher = getattr(request.app.state, "dispatcher", None)
    if dispatcher is not None:
        dispatcher.wake()


@router.post("", status_code=201, response_model=EndpointCreated)
async def create_endpoint(
    project_id: ProjectScope, body: EndpointIn, store: StoreDep, request: Request
) -> dict[str, Any]:
    """409 ``limit_reached`` once the project has HOOKPOST_MAX_ENDPOINTS_PER_PROJECT endpoints."""
    await request.app.state.destinations.check(body.url)
    profile = await profile_for(store, project_id, body.profile)
    secret = _secret_for(profile, body.secret, body.signing)
    values = body.model_dump(exclude={"secret", "signing"})
    values["event_types"] = values["event_types"] or []
    values = merged_headers({**values, "headers": values["headers"] or {}})
    row = await store.create_endpoint(
        project_id,
        {**values, "secret": secret},
        max_endpoints=request.app.state.settings.max_endpoints_per_project,
    )
    return {**render.endpoint(row), "secret": ed25519.shown_key(secret)}


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
) -> dict[str, Any]:
    values = body.model_dump(exclude_unset=True)
    for not_null in ("url", "description", "enabled", "ordering"):
        if not_null in values and values[not_null] is None:
            raise ValidationProblem([(not_null, "may not be null")])
    if values.get("url"):
        await request.app.state.destinations.check(values["url"])
        if destination_url.has_credentials(values["url"]):
            # A broker URL sent back as shown: its masked password keeps the stored one.
            before = await store.get_endpoint(project_id, endpoint_id)
            try:
                stored = before.get("wire_url") or before["url"]
                values["url"] = destination_url.unmask(values["url"], stored)
            except destination_url.DestinationProblem as exc:
                raise ValidationProblem([("url", str(exc))]) from None
    if "event_types" in values:
        values["event_types"] = values["event_types"] or []
    if "headers" in values:
        values["headers"] = values["headers"] or {}
    if "headers" in values or "secret_headers" in values:
        values = merged_headers(values, await store.get_endpoint(project_id, endpoint_id))
    ops = request.app.state.settings.operations_project
    row = await store.update_endpoint(project_id, endpoint_id, values, operations_project=ops)
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
    ep = await store.get_endpoint(project_id, endpoint_id)
    profile = await profile_for(store, project_id, ep["profile"])
    signing = body.signing or (None if body.secret else ed25519.signing_of(ep["secret"]))
    secret = _secret_for(profile, body.secret, signing)
    row = await store.rotate_secret(project_id, endpoint_id, secret, body.grace_period_seconds)
    return {**render.endpoint(row), "secret": ed25519.shown_key(secret)}


@router.post("/{endpoint_id}/recover", status_code=202, response_model=RecoverOut)
async def recover(
    project_id: ProjectScope, endpoint_id: str, body: RecoverIn, store: StoreDep, request: Request
) -> dict[str, Any]:
    """Queue a background job resending the endpoint's failed deliveries in the window."""
    until = body.until.timestamp() if body.until else None
    job = await store.create_recover_job(project_id, endpoint_id, body.since.timestamp(), until)
    wake(request)
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
    await store.get_endpoint(project_id, endpoint_id)
    payload = body.payload if body.payload is not None else {"message": "test event from hookpost"}
    event, count, _ = await store.publish(
        project_id,
        body.event_type,
        jsonenc.compact(payload),
        only_endpoint=endpoint_id,
    )
    wake(request)
    return {**render.event(event), "deliveries": count}


@router.post("/{endpoint_id}/release-held", status_code=202, response_model=ReleasedOut)
async def release_held(
    project_id: ProjectScope, endpoint_id: str, store: StoreDep, request: Request
) -> dict[str, Any]:
    """Queue every delivery held while the endpoint was disabled (409 while it still is)."""
    n = await store.release_held(project_id, endpoint_id)
    wake(request)
    return {"released": n}
