"""Authentication and tenant scoping: the one chokepoint every route goes through.

A route that touches a project's data takes ``project: ProjectScope``; the
dependency answers 404 -- never 403 -- when the caller's key belongs to another
project, so one tenant cannot even learn that another's ids exist.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request

from hookpost.store import Store
from hookpost.store.store import decode_cursor


@dataclass(frozen=True, slots=True)
class Principal:
    admin: bool
    project_id: str | None = None


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def get_principal(request: Request) -> Principal:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(
            401, "missing bearer token", headers={"WWW-Authenticate": 'Bearer realm="hookpost"'}
        )
    token = token.strip()
    admin_token: str = request.app.state.settings.admin_token or ""
    if admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
        return Principal(admin=True)
    project_id = await get_store(request).project_for_key(token)
    if project_id is None:
        raise HTTPException(
            401, "invalid token", headers={"WWW-Authenticate": 'Bearer realm="hookpost"'}
        )
    return Principal(admin=False, project_id=project_id)


async def require_admin(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if not principal.admin:
        raise HTTPException(403, "this operation needs the admin token")
    return principal


async def project_scope(
    project_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(get_principal)],
) -> str:
    if principal.admin:
        await get_store(request).get_project(project_id)  # 404 if absent
        return project_id
    if principal.project_id != project_id:
        raise HTTPException(404, "project not found")
    return project_id


ProjectScope = Annotated[str, Depends(project_scope)]
StoreDep = Annotated[Store, Depends(get_store)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]


@dataclass(frozen=True, slots=True)
class Paging:
    limit: int
    cursor: str | None


def paging(
    limit: Annotated[int, Query(ge=1, le=250)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Paging:
    if cursor:
        try:
            decode_cursor(cursor)
        except ValueError:
            raise HTTPException(422, "cursor: is not a cursor this API returned") from None
    return Paging(limit, cursor)


PagingDep = Annotated[Paging, Depends(paging)]
