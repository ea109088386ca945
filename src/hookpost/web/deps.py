"""Authentication and tenant scoping: the one chokepoint every route goes through.

:func:`get_principal` authenticates (the admin token, compared in constant
time; an operator's personal token ``hpu_...`` or a project API key, each
looked up by its hash), applies the per-key rate limit (429 with
Retry-After), the key's scope (403: see :mod:`hookpost.web.scopes`) and, for
a personal token, its owner's role (403 naming the permission the route
needs: :mod:`hookpost.domain.roles`) -- for every authenticated route at
once, so no route can forget them. A personal token acts as its owner: the
admin token acts as an owner. A route that touches a project's data takes
``project: ProjectScope``; that dependency answers 404 -- never 403 -- when the
caller's key belongs to another project, or an operator limited to some
projects asks for another, so one tenant cannot even learn that another's ids
exist.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request

from hookpost.domain import ADMIN, Actor, roles, set_actor
from hookpost.store import TOKEN_PREFIX, Store, decode_cursor
from hookpost.web import scopes
from hookpost.web.errors import database_errors
from hookpost.web.state import runtime

log = logging.getLogger("hookpost.api")


@dataclass(frozen=True, slots=True)
class Principal:
    admin: bool
    project_id: str | None = None
    scope: str = "full"
    key_id: str | None = None
    #: Who this is, for the audit log (:mod:`hookpost.domain`'s ``Actor``).
    actor: Actor = ADMIN
    #: A personal token's owner: its role and id (None for the admin token and API keys).
    role: str | None = None
    operator_id: str | None = None
    #: The projects a limited operator may see (None: every project).
    projects: frozenset[str] | None = None

    def reads(self, route: str) -> bool:
        """May this caller read what ``GET route`` shows (the admin token: always)?"""
        if self.role is not None:
            return roles.allows(self.role, roles.PROJECTS_READ)
        return self.admin or scopes.reads(self.scope, route)

    @property
    def all_projects(self) -> bool:
        """Whether every project is in reach (the admin token, an unlimited operator)."""
        return self.admin or (self.role is not None and self.projects is None)

    def sees(self, project_id: str) -> bool:
        """Whether ``project_id`` is in this caller's reach (else: 404)."""
        if self.all_projects:
            return True
        if self.role is not None:
            return self.projects is not None and project_id in self.projects
        return self.project_id == project_id

    def visible_projects(self) -> str | frozenset[str] | None:
        """What ``Store.list_projects(only=...)`` should be limited to (None: nothing)."""
        if self.all_projects:
            return None
        return self.projects if self.role is not None else self.project_id

    def may(self, permission: str) -> bool:
        """Whether the caller holds ``permission`` (the admin token acts as an owner; a
        project key's scope was already checked, so it holds what its route needs)."""
        return self.role is None or roles.allows(self.role, permission)

    def require(self, permission: str) -> None:
        """403 naming ``permission`` unless the caller holds it."""
        if not self.may(permission):
            raise forbidden(permission, self.role)

    def sees_payloads(self, project: dict[str, object]) -> bool:
        """Whether answers about ``project`` may carry payload bodies for this caller."""
        if self.role is None:
            return True
        return roles.sees_payloads(self.role, bool(project.get("viewers_see_payloads")))


def forbidden(permission: str | None, role: str | None) -> HTTPException:
    """The 403 an operator gets for a route its role does not allow."""
    if permission is None:
        return HTTPException(403, "this operation is not open to operator tokens")
    return HTTPException(
        403, f"this operation needs permission {permission}, which role {role} does not have"
    )


async def get_store(request: Request) -> Store:
    """The store, as a dependency (async: FastAPI runs a plain ``def`` in a thread pool)."""
    return runtime(request).store


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


def _failure_keys(request: Request, account: str | None) -> list[str]:
    keys = [_address(request)]
    if account:  # the same buckets, another key space: an email never looks like an IP
        keys.append("account:" + account.strip().lower())
    return keys


def auth_lockout(request: Request, account: str | None = None) -> str | None:
    """``Retry-After`` for a client address -- or, with ``account``, an email -- locked out by
    wrong tokens or passwords; None if it may try."""
    failures = runtime(request).auth_failures
    wait = max(failures.blocked(key) for key in _failure_keys(request, account))
    return failures.retry_after(wait) if wait > 0 else None


def note_auth_failure(request: Request, account: str | None = None) -> None:
    """Count a wrong token (or password for ``account``) against the caller's address and
    the account: guessing one account's password from many addresses is slowed too."""
    for key in _failure_keys(request, account):
        runtime(request).auth_failures.take(key)


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
    if token.startswith(TOKEN_PREFIX):
        return await _operator_token(request, token)
    key = await state.store.key_principal(token)
    if key is None:
        raise await _refused(request, "unknown or revoked API key")
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


async def record_refusal(request: Request, action: str, object_type: str, reason: str) -> None:
    """Audit a refused credential (``token.refused``, ``session.sign_in_failed``) as the
    current actor -- best effort, and capped.

    The caller's answer (a 401) must not change with the database: an entry that
    cannot be written (the disk full, the write lock busy) is logged and dropped,
    never turned into a 503. And guessing must not become a flood of synced writes:
    past :data:`~hookpost.web.ratelimit.REFUSAL_RECORD_BURST` entries, the whole
    process records one a second, whatever the addresses (each address is also
    locked out on its own, :func:`auth_lockout`).
    """
    state = runtime(request)
    if state.refusal_records.take("") > 0:
        return
    try:
        await state.store.record_audit(action, object_type, "", after={"reason": reason})
    except database_errors() as exc:
        log.warning("a refused credential was not audited: %s", type(exc).__name__)


async def _refused(request: Request, reason: str) -> HTTPException:
    """The 401 for a bearer token nobody issued (or no longer valid), counted against the
    caller's address and recorded as ``token.refused`` by an ``anonymous`` actor.

    The entry names the address and ``reason``, never the token (it may be a real
    one with a typo); see :func:`record_refusal` for its bounds.
    """
    note_auth_failure(request)
    set_actor(Actor("anonymous", address=_address(request) or None))
    await record_refusal(request, "token.refused", "token", reason)
    return HTTPException(
        401, "invalid token", headers={"WWW-Authenticate": 'Bearer realm="hookpost"'}
    )


async def _operator_token(request: Request, token: str) -> Principal:
    """A personal token: its owner's role decides, route by route (one table)."""
    found = await runtime(request).store.token_principal(token)
    if found is None:
        raise await _refused(request, "unknown, revoked or expired personal token")
    projects = found["projects"]
    principal = Principal(
        admin=False,
        role=str(found["role"]),
        operator_id=str(found["operator_id"]),
        projects=None if projects is None else frozenset(projects),
        actor=Actor(
            "token",
            id=str(found["operator_id"]),
            label=str(found["prefix"]),
            address=_address(request) or None,
        ),
    )
    route = getattr(request.scope.get("route"), "path", None)
    needed = roles.route_permission(request.method, route)
    if needed is None or not roles.allows(principal.role or "", needed):
        raise forbidden(needed, principal.role)
    set_actor(principal.actor)
    return principal


def key_label(key: dict[str, object]) -> str:
    """What the audit log shows for a project API key: its visible prefix, never the key."""
    prefix = key.get("prefix")
    return str(prefix) if prefix else f"key {key['id']}"


async def require_admin(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    """The admin token or an operator's token (whose role the table already checked)."""
    if not principal.admin and principal.role is None:
        raise HTTPException(403, "this operation needs the admin token")
    return principal


async def require_operator(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    """An operator's personal token (its own tokens are what the route is about)."""
    if principal.operator_id is None:
        raise HTTPException(
            403,
            "this operation needs an operator's personal token (hpu_...); "
            "the admin token and project keys have no personal tokens",
        )
    return principal


async def project_scope(
    project_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(get_principal)],
) -> str:
    if not principal.sees(project_id):
        raise HTTPException(404, "project not found")
    if principal.project_id != project_id:  # admin or operator: 404 if absent
        await runtime(request).store.get_project(project_id)
    return project_id


async def payload_access(
    project_id: ProjectScope,
    request: Request,
    principal: Annotated[Principal, Depends(get_principal)],
) -> bool:
    """Whether this answer may carry payload bodies (False: a viewer the project hides them
    from; see ``roles.sees_payloads``)."""
    if principal.role is None:
        return True
    return principal.sees_payloads(await runtime(request).store.get_project(project_id))


ProjectScope = Annotated[str, Depends(project_scope)]
PayloadAccess = Annotated[bool, Depends(payload_access)]
OperatorDep = Annotated[Principal, Depends(require_operator)]
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
