"""Projects: the admin token (or an operator whose role may) creates and deletes them; a
project's key sees only its own, an operator limited to some projects only those."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Response

from hookpost.web import render
from hookpost.web.deps import (
    PagingDep,
    Principal,
    PrincipalDep,
    ProjectScope,
    StoreDep,
    require_admin,
)
from hookpost.web.schemas import ListOut, ProjectCreated, ProjectIn, ProjectOut, ProjectSettingsIn

router = APIRouter(prefix="/projects", tags=["projects"])


@router.post("", status_code=201, response_model=ProjectCreated)
async def create_project(
    body: ProjectIn, store: StoreDep, admin: Annotated[Principal, Depends(require_admin)]
) -> dict[str, Any]:
    if not admin.all_projects:
        raise HTTPException(403, "an operator limited to some projects cannot create projects")
    project, key = await store.create_project(body.name)
    return {**render.project(project), "api_key": key}


@router.get("", response_model=ListOut[ProjectOut])
async def list_projects(
    store: StoreDep, principal: PrincipalDep, page: PagingDep
) -> dict[str, Any]:
    result = await store.list_projects(
        limit=page.limit, cursor=page.cursor, only=principal.visible_projects()
    )
    return {"data": [render.project(p) for p in result.data], "next_cursor": result.next_cursor}


@router.get("/{project_id}", response_model=ProjectOut)
async def get_project(project_id: ProjectScope, store: StoreDep) -> dict[str, Any]:
    return render.project(await store.get_project(project_id))


@router.patch("/{project_id}", response_model=ProjectOut)
async def update_project(
    project_id: ProjectScope, body: ProjectIn, store: StoreDep
) -> dict[str, Any]:
    return render.project(await store.update_project(project_id, body.name))


@router.patch("/{project_id}/settings", response_model=ProjectOut)
async def update_settings(
    project_id: ProjectScope,
    body: ProjectSettingsIn,
    store: StoreDep,
    _admin: Annotated[Principal, Depends(require_admin)],
) -> dict[str, Any]:
    """The project's settings (owners): whether viewers see payload bodies."""
    return render.project(
        await store.set_viewers_see_payloads(project_id, body.viewers_see_payloads)
    )


@router.delete("/{project_id}", status_code=204, response_class=Response)
async def delete_project(
    project_id: ProjectScope, store: StoreDep, _admin: Annotated[Principal, Depends(require_admin)]
) -> Response:
    await store.delete_project(project_id)
    return Response(status_code=204)
