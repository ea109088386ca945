"""The audit log's entries as the API shows them (``GET /api/v1/audit-log``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from hookpost.web.schemas.common import Timestamp


class AuditActorOut(BaseModel):
    kind: Literal["admin", "operator", "token", "api_key", "portal", "shell", "system", "anonymous"]
    id: str = Field(description="The operator's or key's id; empty for the admin token.")
    label: str = Field(description="An email, a token or key prefix, 'admin token': no secret.")
    address: str | None = Field(description="The client's IP address, for changes over HTTP.")


class AuditObjectOut(BaseModel):
    type: str = Field(description="project, endpoint, api_key, delivery, event_type, ...")
    id: str


class AuditEntryOut(BaseModel):
    id: str
    at: Timestamp
    actor: AuditActorOut
    action: str = Field(description="One of the actions listed in docs/security.md.")
    object: AuditObjectOut
    project_id: str | None
    before: dict[str, Any] | None = Field(
        description="The changed fields before the change (secrets as [redacted]); "
        "null for a create."
    )
    after: dict[str, Any] | None = Field(
        description="The changed fields after it (secrets as [redacted]); null for a delete."
    )
