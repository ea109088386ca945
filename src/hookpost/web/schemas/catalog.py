"""The project's catalog: custom signing profiles, event types and seeded providers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hookpost.profiles import PROFILE_NAMES
from hookpost.web.schemas.common import (
    EVENT_TYPE_RE,
    PROFILE_NAME_RE,
    In,
    Timestamp,
    check_json_payload,
)


class CustomProfileIn(In):
    name: str = Field(pattern=PROFILE_NAME_RE, description="Unique in the project.")
    definition: dict[str, Any] = Field(
        description="header, signed_content, encoding, timestamp_unit, envelope, ..."
    )

    @field_validator("name")
    @classmethod
    def _not_builtin(cls, v: str) -> str:
        if v in PROFILE_NAMES:
            raise ValueError("is the name of a built-in profile")
        return v


class CustomProfileOut(BaseModel):
    name: str
    definition: dict[str, Any]
    created_at: Timestamp


class EventTypeIn(In):
    name: str = Field(pattern=EVENT_TYPE_RE, max_length=255)
    description: str = Field(default="", max_length=1000)
    schema_: dict[str, Any] | None = Field(
        default=None, alias="schema", description="A JSON Schema the payload must satisfy."
    )

    @field_validator("schema_")
    @classmethod
    def _schema(cls, v: Any) -> Any:
        return check_json_payload(v)


class EventTypeOut(BaseModel):
    name: str
    description: str
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    created_at: Timestamp

    model_config = ConfigDict(populate_by_name=True)


class SeedIn(In):
    provider: Literal["galaxyjoy", "gluwa", "justwallet", "byl"]
