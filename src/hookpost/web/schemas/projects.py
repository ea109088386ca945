"""Projects and their API keys."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from hookpost.web.schemas.common import In, Timestamp


class ProjectIn(In):
    name: str = Field(min_length=1, max_length=200)


class ProjectOut(BaseModel):
    id: str
    name: str
    created_at: Timestamp
    viewers_see_payloads: bool = Field(
        default=False, description="Whether operators with the viewer role see payload bodies."
    )


class ProjectSettingsIn(In):
    viewers_see_payloads: bool = Field(
        description="Show event payloads and attempt bodies to viewers (default: false)."
    )


class ProjectCreated(ProjectOut):
    api_key: str = Field(description="Shown only once.")


class ApiKeyIn(In):
    scope: Literal["full", "read", "publish"] = Field(
        default="full",
        description="full: everything in the project; read: GET only; "
        "publish: only POST .../events and POST .../events/batch.",
    )
    name: str = Field(default="", max_length=200, description="A label, e.g. 'billing backend'.")


class ApiKeyOut(BaseModel):
    id: str
    name: str
    scope: str
    prefix: str = Field(description="The key's first characters, to recognise it by.")
    created_at: Timestamp
    revoked_at: Timestamp | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="Shown only once; hookpost keeps only its hash.")
