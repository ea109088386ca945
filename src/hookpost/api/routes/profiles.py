"""Custom profiles: an operator-defined wire format, stored per project."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from hookpost.services import catalog
from hookpost.web.deps import PagingDep, ProjectScope, StoreDep
from hookpost.web.schemas import CustomProfileIn, CustomProfileOut, ListOut, iso

router = APIRouter(prefix="/projects/{project_id}/profiles", tags=["profiles"])


def _render(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": row["name"],
        "definition": row["definition"],
        "created_at": iso(row["created_at"]),
    }


@router.post("", status_code=201, response_model=CustomProfileOut)
async def create_profile(project_id: ProjectScope, body: CustomProfileIn, store: StoreDep) -> Any:
    return _render(await catalog.create_profile(store, project_id, body.name, body.definition))


@router.get("", response_model=ListOut[CustomProfileOut])
async def list_profiles(project_id: ProjectScope, store: StoreDep, page: PagingDep) -> Any:
    result = await store.list_profiles(project_id, limit=page.limit, cursor=page.cursor)
    return {"data": [_render(r) for r in result.data], "next_cursor": result.next_cursor}


@router.get("/{name}", response_model=CustomProfileOut)
async def get_profile(project_id: ProjectScope, name: str, store: StoreDep) -> Any:
    return _render(await store.get_profile(project_id, name))


@router.delete("/{name}", status_code=204, response_class=Response)
async def delete_profile(project_id: ProjectScope, name: str, store: StoreDep) -> Response:
    """409 while an endpoint still uses the profile."""
    await store.delete_profile(project_id, name)
    return Response(status_code=204)
