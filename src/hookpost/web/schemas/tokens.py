"""Operators' personal API tokens (``hpu_...``)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from hookpost.web.schemas.common import In, Timestamp

#: Longest a personal token may live (days); a token may also never expire.
MAX_TOKEN_DAYS = 3650


class TokenIn(In):
    name: str = Field(
        min_length=1, max_length=200, description="What it is for, e.g. 'deploy script'."
    )
    expires_in_days: int | None = Field(
        default=None,
        ge=1,
        le=MAX_TOKEN_DAYS,
        description="Days until it stops working; omit for a token that does not expire.",
    )


class TokenOut(BaseModel):
    id: str
    name: str
    prefix: str = Field(description="The token's first characters, to recognise it by.")
    created_at: Timestamp
    expires_at: Timestamp | None
    last_used_at: Timestamp | None = Field(description="Updated at most once a minute.")
    revoked_at: Timestamp | None


class TokenCreated(TokenOut):
    token: str = Field(
        description="Shown only once; hookpost keeps only its hash. Acts with your role."
    )
