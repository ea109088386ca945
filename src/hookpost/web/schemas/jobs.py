"""Background jobs (recovery of failed deliveries over a time window)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from hookpost.web.schemas.common import In, Moment, Timestamp


class RecoverIn(In):
    since: Moment
    until: Moment | None = None


class ProjectRecoverIn(RecoverIn):
    endpoint_id: str | None = Field(default=None, max_length=40)


class JobOut(BaseModel):
    id: str
    kind: str
    status: Literal["queued", "running", "succeeded", "failed"]
    total: int
    done: int
    params: dict[str, Any]
    error: str | None
    created_at: Timestamp
    updated_at: Timestamp


class RecoverOut(JobOut):
    recovered: int = Field(description="How many failed deliveries the job resends (= total).")
