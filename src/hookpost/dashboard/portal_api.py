"""``POST /api/v1/projects/{project_id}/portal-link``: a signed URL into the customer portal.

The provider's backend (admin token or that project's key) asks for a link
and hands it to its customer, typically in an iframe of its own site. The
link is the credential: it carries the project, the scope (``view`` or
``manage``) and the expiry, signed with the dashboard key; nothing is
stored, so there is nothing to clean up, and a link cannot be widened to
another project or scope without breaking its signature.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from hookpost.dashboard.auth import portal_fingerprint
from hookpost.dashboard.state import dashboard, now, store
from hookpost.web.deps import ProjectScope
from hookpost.web.links import public_link
from hookpost.web.schemas import Timestamp, iso

#: Longest a portal link may live: a week.
MAX_EXPIRES_IN = 7 * 86400

router = APIRouter(prefix="/projects/{project_id}", tags=["customer portal"])


class PortalLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: Literal["view", "manage"] = Field(
        default="view",
        description="view: read only; manage: also create/edit endpoints and resend.",
    )
    expires_in: int = Field(
        default=3600, ge=1, le=MAX_EXPIRES_IN, description="Seconds the link works (max 7 days)."
    )


class PortalLinkOut(BaseModel):
    url: str = Field(description="Open it, or put it in an iframe.")
    expires_at: Timestamp
    scope: Literal["view", "manage"]


async def make_link(request: Request, project_id: str, body: PortalLinkIn) -> dict[str, Any]:
    """Sign a link, and record its issue in the audit log (by fingerprint, never the link)."""
    expires_at = int(now(request) + body.expires_in)
    token = dashboard(request).signer.portal_token(project_id, body.scope, expires_at)
    await store(request).record_audit(
        "portal_link.create",
        "portal_link",
        portal_fingerprint(token),
        project_id=project_id,
        after={"scope": body.scope, "expires_at": expires_at},
    )
    return {
        "url": public_link(request, "portal_overview", token=token),
        "expires_at": iso(expires_at),
        "scope": body.scope,
    }


@router.post("/portal-link", response_model=PortalLinkOut)
async def create_portal_link(
    project_id: ProjectScope, request: Request, body: PortalLinkIn | None = None
) -> dict[str, Any]:
    """A short-lived signed URL showing only this project (admin token or its key)."""
    return await make_link(request, project_id, body or PortalLinkIn())
