"""The project's event-type catalog, with optional JSON Schemas enforced on publish."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Response

from hookpost.api.deps import PagingDep, ProjectScope, StoreDep
from hookpost.api.errors import ValidationProblem
from hookpost.api.schemas import EventTypeIn, EventTypeOut, ListOut, SeedIn, iso
from hookpost.core import tenant_schema
from hookpost.core.catalogs import PROVIDER_EVENT_TYPES
from hookpost.store import Store

router = APIRouter(prefix="/projects/{project_id}/event-types", tags=["event types"])


def _render(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": row["name"],
        "description": row["description"],
        "schema": row["schema"],
        "created_at": iso(row["created_at"]),
    }


async def check_schema(project_id: str, schema: dict[str, Any]) -> None:
    """422 naming the field when ``schema`` cannot be saved (see core/tenant_schema.py)."""
    problems = await tenant_schema.check_schema(project_id, schema)
    if problems:
        raise ValidationProblem(problems)


async def validate_payload(store: Store, project_id: str, event_type: str, payload: Any) -> None:
    """422 naming the payload field when the catalog's schema for this type rejects it."""
    schema = await store.event_type_schema(project_id, event_type)
    if schema is None:
        return
    problems = await tenant_schema.check_payload(
        project_id, event_type, json.dumps(schema, sort_keys=True), payload
    )
    if problems:
        raise ValidationProblem(problems)


@router.post("", status_code=201, response_model=EventTypeOut)
async def create_event_type(project_id: ProjectScope, body: EventTypeIn, store: StoreDep) -> Any:
    if body.schema_ is not None:
        await check_schema(project_id, body.schema_)
    item = {"name": body.name, "description": body.description, "schema": body.schema_}
    (row,) = await store.upsert_event_types(project_id, [item], replace=False)
    return _render(row)


@router.post("/seed", status_code=201, response_model=ListOut[EventTypeOut])
async def seed(project_id: ProjectScope, body: SeedIn, store: StoreDep) -> Any:
    """Add (or refresh) every event type a seed provider documents."""
    rows = await store.upsert_event_types(
        project_id, PROVIDER_EVENT_TYPES[body.provider], replace=True
    )
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
