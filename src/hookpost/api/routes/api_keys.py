"""A project's API keys: create (the key is shown once), list (prefix only), revoke."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from hookpost.web.deps import PagingDep, ProjectScope, StoreDep
from hookpost.web.schemas import ApiKeyCreated, ApiKeyIn, ApiKeyOut, ListOut, iso

router = APIRouter(prefix="/projects/{project_id}/api-keys", tags=["api keys"])


def _render(row: dict[str, Any]) -> dict[str, Any]:
    """Never the key nor its hash: only what identifies it."""
    return {
        "id": row["id"],
        "name": row["name"],
        "scope": row["scope"],
        "prefix": row["prefix"],
        "created_at": iso(row["created_at"]),
        "revoked_at": iso(row["revoked_at"]),
    }


@router.post("", status_code=201, response_model=ApiKeyCreated)
async def create_api_key(project_id: ProjectScope, body: ApiKeyIn, store: StoreDep) -> Any:
    row, key = await store.create_api_key(project_id, body.scope, body.name)
    return {**_render(row), "key": key}


@router.get("", response_model=ListOut[ApiKeyOut])
async def list_api_keys(project_id: ProjectScope, store: StoreDep, page: PagingDep) -> Any:
    result = await store.list_api_keys(project_id, limit=page.limit, cursor=page.cursor)
    return {"data": [_render(r) for r in result.data], "next_cursor": result.next_cursor}


@router.delete("/{key_id}", response_model=ApiKeyOut)
async def revoke_api_key(project_id: ProjectScope, key_id: str, store: StoreDep) -> Any:
    """Revoke at once (idempotent); the key is kept, marked revoked, for the record."""
    return _render(await store.revoke_api_key(project_id, key_id))
