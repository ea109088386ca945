"""Authentication and tenant scoping: the one chokepoint every route goes through.

:func:`get_principal` authenticates (the admin token, compared in constant
time, or a project API key looked up by its hash), applies the per-key rate
limit (429 with Retry-After) and the key's scope (403: see
:mod:`hookpost.web.scopes`) -- for every authenticated route at once, so no
route can forget them. A route that touches a project's data takes
``project: ProjectScope``; that dependency answers 404 -- never 403 -- when the
caller's key belongs to another project, so one tenant cannot even learn that
another's ids exist.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request

from hookpost.domain import ADMIN, Actor, set_actor
from hookpost.store import Store, decode_cursor
from hookpost.web import scopes
from hookpost.web.state import runtime


@dataclass(frozen=True, slots=True)
class Principal:
    admin: bool
    project_id: str | None = None
    scope: str = "full"
    key_id: str | None = None
    #: Who this is, for the audit log (:mod:`hookpost.domain`'s ``Actor``).
    actor: Actor = ADMIN

    def reads(self, route: str) -> bool:
        """May this caller read what ``GET route`` shows (the admin token: always)?"""
        return self.admin or scopes.reads(self.scope, route)


async def get_store(request: Request) -> Store:
    """The store, as a dependency (async: FastAPI runs a plain ``def`` in a thread pool)."""
    return runtime(request).store


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


def auth_lockout(request: Request) -> str | None:
    """``Retry-After`` for a client address locked out by wrong tokens; None if it may try."""
    failures = runtime(request).auth_failures
    wait = failures.blocked(_address(request))
    return failures.retry_after(wait) if wait > 0 else None


def note_auth_failure(request: Request) -> None:
    """Count a wrong token against the caller's address."""
    runtime(request).auth_failures.take(_address(request))


async def get_principal(request: Request) -> Principal:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(
            401, "missing bearer token", headers={"WWW-Authenticate": 'Bearer realm="hookpost"'}
        )
    token = token.strip()
    retry_after = auth_lockout(request)
    if retry_after is not None:
        raise HTTPException(
            429,
            "too many invalid tokens from this address; try again later",
            headers={"Retry-After": retry_after},
        )
    state = runtime(request)
    admin_token = state.settings.admin_token or ""
    if admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
        admin = Actor("admin", label="admin token", address=_address(request) or None)
        set_actor(admin)
        return Principal(admin=True, actor=admin)  # neither rate-limited nor scoped
    key = await state.store.key_principal(token)
    if key is None:
        note_auth_failure(request)
        raise HTTPException(
            401, "invalid token", headers={"WWW-Authenticate": 'Bearer realm="hookpost"'}
        )
    actor = Actor("api_key", id=key["id"], label=key_label(key), address=_address(request) or None)
    principal = Principal(
        admin=False,
        project_id=key["project_id"],
        scope=key["scope"],
        key_id=key["id"],
        actor=actor,
    )
    limiter = state.rate_limiter
    wait = limiter.take(key["id"])
    if wait > 0:
        raise HTTPException(
            429,
            f"rate limit of {limiter.rate:g} requests per second for this API key exceeded",
            headers={"Retry-After": limiter.retry_after(wait)},
        )
    route = getattr(request.scope.get("route"), "path", None)
    if not scopes.allows(principal.scope, request.method, route):
        raise HTTPException(403, f"this API key's scope ({principal.scope}) does not allow this")
    set_actor(actor)
    return principal


def key_label(key: dict[str, object]) -> str:
    """What the audit log shows for a project API key: its visible prefix, never the key."""
    prefix = key.get("prefix")
    return str(prefix) if prefix else f"key {key['id']}"


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
        await runtime(request).store.get_project(project_id)  # 404 if absent
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


async def paging(
    limit: Annotated[int, Query(ge=1, le=250, description="Items per page (1-250).")] = 50,
    cursor: Annotated[
        str | None,
        Query(max_length=200, description="The next_cursor of the previous page."),
    ] = None,
) -> Paging:
    if cursor:
        try:
            decode_cursor(cursor)
        except ValueError:
            raise HTTPException(422, "cursor: is not a cursor this API returned") from None
    return Paging(limit, cursor)


PagingDep = Annotated[Paging, Depends(paging)]
