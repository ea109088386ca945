"""``GET /api/v1/audit-log``: who changed what, read and exported by those who may.

Reading the log needs the ``audit.read`` permission: the admin token, and
the personal tokens of owners and admins (``hookpost.domain.roles``) -- one
limited to some projects reads the entries of those only; project API keys never read it, whatever
their scope -- as with Stripe's security history and Svix's audit log, the
record of who changed an account is for the people running it, not for the
integration keys it records (a leaked key must not be able to read which
other keys exist and who rotated what). Each page is newest first with a
cursor, like every list; ``/audit-log/export`` streams every matching entry,
oldest first, as JSON lines, reading the database in bounded batches.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import StreamingResponse

from hookpost.domain import AUDIT_ACTIONS, AUDIT_OBJECT_TYPES
from hookpost.store import AuditFilter
from hookpost.web import render
from hookpost.web.deps import PagingDep, Principal, PrincipalDep, StoreDep
from hookpost.web.schemas import AuditEntryOut, ListOut, Moment

router = APIRouter(prefix="/audit-log", tags=["audit log"])

#: Who may read the log, as docs/api.md says it.
_WHO = {
    "x-token": "the admin token, or an owner's or admin's personal token (the `audit.read` "
    "permission); project API keys get 403."
}
_EXAMPLE_LINE = (
    '{"id": "aud_01JD...", "at": "2026-12-01T09:30:00.000Z", "actor": {"kind": "admin", '
    '"id": "", "label": "admin token", "address": "192.0.2.10"}, "action": "endpoint.update", '
    '"object": {"type": "endpoint", "id": "ep_01JD..."}, "project_id": "proj_01JD...", '
    '"before": {"enabled": true}, "after": {"enabled": false}}'
)

#: The permission reading the log takes (the role table maps roles to it).
PERMISSION = "audit.read"


async def audit_reader(principal: PrincipalDep) -> Principal:
    """403 naming :data:`PERMISSION` for a project key (an operator's token whose role lacks
    it never gets here: the role table refused it)."""
    if not principal.admin and principal.role is None:
        raise HTTPException(403, f"reading the audit log needs the {PERMISSION} permission")
    return principal


def _action(action: str | None) -> str | None:
    if action is None:
        return None
    known = action in AUDIT_ACTIONS or (
        action.endswith(".*") and any(a.startswith(action[:-1]) for a in AUDIT_ACTIONS)
    )
    if not known:
        raise HTTPException(422, "action: is not an audit action (see docs/security.md)")
    return action


def _epoch(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


async def audit_filter(
    actor: Annotated[
        str | None, Query(max_length=320, description="An actor's id or label (email, prefix).")
    ] = None,
    actor_kind: Annotated[
        str | None,
        Query(pattern="^(admin|operator|token|api_key|portal|shell|system|anonymous)$"),
    ] = None,
    action: Annotated[
        str | None,
        Query(max_length=64, description="An action, or 'endpoint.*' for all under endpoint."),
    ] = None,
    object_type: Annotated[str | None, Query(max_length=32)] = None,
    object_id: Annotated[str | None, Query(max_length=255)] = None,
    project_id: Annotated[str | None, Query(max_length=40)] = None,
    since: Annotated[Moment | None, Query(description="From this time (inclusive).")] = None,
    until: Annotated[Moment | None, Query(description="Before this time (exclusive).")] = None,
) -> AuditFilter:
    if object_type is not None and object_type not in AUDIT_OBJECT_TYPES:
        raise HTTPException(
            422, f"object_type: must be one of {', '.join(sorted(AUDIT_OBJECT_TYPES))}"
        )
    return AuditFilter(
        actor=actor,
        actor_kind=actor_kind,
        action=_action(action),
        object_type=object_type,
        object_id=object_id,
        project_id=project_id,
        since=_epoch(since),
        until=_epoch(until),
    )


AuditFilterDep = Annotated[AuditFilter, Depends(audit_filter)]
Reader = Annotated[Principal, Depends(audit_reader)]


@router.get("", response_model=ListOut[AuditEntryOut], openapi_extra=_WHO)
async def list_audit_log(
    reader: Reader, where: AuditFilterDep, store: StoreDep, page: PagingDep
) -> Any:
    """Entries matching every filter given, newest first."""
    result = await store.list_audit(_seen_by(reader, where), limit=page.limit, cursor=page.cursor)
    return {"data": [render.audit_entry(r) for r in result.data], "next_cursor": result.next_cursor}


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {"example": _EXAMPLE_LINE + "\n"}}}},
    openapi_extra=_WHO,
)
async def export_audit_log(reader: Reader, where: AuditFilterDep, store: StoreDep) -> Any:
    """Every matching entry, oldest first, one JSON object a line (``application/x-ndjson``)."""
    return render.audit_export(store, _seen_by(reader, where))


def _seen_by(reader: Principal, where: AuditFilter) -> AuditFilter:
    """``where``, narrowed to the reader's projects when it is limited to some."""
    if reader.all_projects:
        return where
    return dataclasses.replace(where, within=reader.projects or frozenset())
