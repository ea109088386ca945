"""The project's event-type catalog, with optional JSON Schemas enforced on publish."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from hookpost.services import catalog
from hookpost.web.deps import PagingDep, ProjectScope, StoreDep
from hookpost.web.schemas import EventTypeIn, EventTypeOut, ListOut, SeedIn, iso

router = APIRouter(prefix="/projects/{project_id}/event-types", tags=["event types"])


def _render(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": row["name"],
        "description": row["description"],
        "schema": row["schema"],
        "created_at": iso(row["created_at"]),
    }


@router.post("", status_code=201, response_model=EventTypeOut)
async def create_event_type(project_id: ProjectScope, body: EventTypeIn, store: StoreDep) -> Any:
    row = await catalog.create_event_type(
        store, project_id, body.name, body.description, body.schema_
    )
    return _render(row)


@router.post("/seed", status_code=201, response_model=ListOut[EventTypeOut])
async def seed(project_id: ProjectScope, body: SeedIn, store: StoreDep) -> Any:
    """Add (or refresh) every event type a seed provider documents."""
    rows = await catalog.seed(store, project_id, body.provider)
    return {"data": [_render(r) for r in rows], "next_cursor": None}


@router.get("", response_model=ListOut[EventTypeOut])
async def list_event_types(project_id: ProjectScope, store: StoreDep, page: PagingDep) -> Any:
    result = await store.list_event_types(project_id, limit=page.limit, cursor=page.cursor)
    return {"data": [_render(r) for r in result.data], "next_cursor": result.next_cursor}


@router.get("/{name}", response_model=EventTypeOut)
async def get_event_type(project_id: ProjectScope, name: str, store: StoreDep) -> Any:
    return _render(await store.get_event_type(project_id, name))


@router.delete("/{name}", status_code=204, response_class=Response)
async def delete_event_type(project_id: ProjectScope, name: str, store: StoreDep) -> Response:
    await store.delete_event_type(project_id, name)
    return Response(status_code=204)
