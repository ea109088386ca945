"""What every request and response body shares: patterns, times, the strict base and errors.

Request models derive from :class:`In`, which forbids unknown fields (a typo is a
422 naming the field rather than a silently ignored setting), NUL characters and
non-finite numbers. Response times are ISO 8601 strings in UTC with milliseconds
(:func:`iso`), the form stored timestamps (epoch seconds) take on the wire.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from hookpost.core import jsonenc, limits

EVENT_TYPE_RE = r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$"
SUBSCRIPTION_RE = r"^(\*|[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*(\.\*)?)$"
EVENT_ID_RE = r"^[A-Za-z0-9_\-.:]+$"
PROFILE_NAME_RE = r"^[a-z0-9][a-z0-9_\-]{0,63}$"
#: What each pattern allows, in words: the 422 says this, not the regular expression.
PATTERN_WORDS = {
    EVENT_TYPE_RE: "must be words of letters, digits, '_' or '-' joined by single dots, "
    "like user.created (no spaces or other characters, no dot at either end)",
    SUBSCRIPTION_RE: "must be an event type like user.created, a prefix ending in .* "
    "like user.* (its types and their subtypes), or * for every type",
    EVENT_ID_RE: "may contain only letters, digits and the characters _ - . :",
    PROFILE_NAME_RE: "must be 1 to 64 lowercase letters, digits, '_' or '-', "
    "starting with a letter or digit",
}


#: What a time in a request may be (UTC): later arithmetic and ``iso()`` stay in datetime's range.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)


def in_range(moment: datetime) -> datetime:
    """``moment`` in UTC (without an offset: taken as UTC); ValueError outside the years 1-9999."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("must be between the years 1 and 9999") from None
    if not EARLIEST <= moment <= LATEST:
        raise ValueError("must be between the years 1 and 9999")
    return moment


#: A time in a request: ISO 8601 (or epoch seconds), kept within :func:`in_range`.
Moment = Annotated[datetime, AfterValidator(in_range)]


def iso(ts: float | None) -> str | None:
    """Epoch seconds as the API writes a time: ISO 8601 in UTC with milliseconds
    (``2026-01-15T09:30:00.000Z``), or None for None."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


#: A time in a response, as :func:`iso` writes it; the spec says ``format: date-time``.
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


#: Fields whose JSON is checked by their own validators, not by ``In``'s finiteness check:
#: an event's payload, and a batch's events (each validated as ``EventIn``).
_CHECKED_APART = frozenset({"payload", "events"})


class In(BaseModel):
    """A request body: unknown fields, NUL characters and non-finite numbers are refused."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, v: Any) -> Any:
        # PostgreSQL text cannot hold NUL, and no name, URL or id needs one.
        if isinstance(v, str) and "\x00" in v:
            raise ValueError("must not contain NUL characters")
        return v

    @field_validator("*", mode="after")
    @classmethod
    def _finite(cls, v: Any, info: ValidationInfo) -> Any:
        # Python reads NaN, Infinity and 1e400 in a JSON body; PostgreSQL's json
        # type refuses them (a 500 when stored) and no filter, schema or
        # definition means anything by them. Payloads have their own check, and a
        # batch's events are each checked as a single publish (one refused alone).
        if isinstance(v, (dict, list)) and info.field_name not in _CHECKED_APART:
            try:
                json.dumps(v, allow_nan=False)
            except ValueError:
                raise ValueError("numbers must be finite (no NaN, Infinity or 1e400)") from None
            except RecursionError:
                raise ValueError("is nested too deeply") from None
        return v


def check_json_payload(payload: Any) -> Any:
    """The payload must be real JSON (no NaN/Infinity, no unpaired surrogates),
    within the nesting and size limits every later layer can handle."""
    limits.check_shape(payload)
    try:
        json.dumps(payload, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except ValueError as exc:
        raise ValueError(f"is not valid JSON ({exc})") from None
    except UnicodeEncodeError:
        raise ValueError(
            "contains text that is not valid Unicode (an unpaired surrogate)"
        ) from None
    return payload


def json_payload_text(payload: Any) -> str | None:
    """The payload's compact JSON text (as ``jsonenc.compact`` writes it) when
    :func:`check_json_payload` accepts it; ``None`` when it might not (then that
    check says why).

    One encoding does both jobs: the check's, and the text the store keeps. The
    shape limits follow from the text in the common case -- a value holds no
    more values than its text has characters, nor nests deeper than its text
    has opening brackets -- so the walk runs only when the text is too big to tell.
    """
    try:
        text = jsonenc.compact_parsed(payload)
    except Exception:  # NaN, too deep for the encoder, ...: the check words it
        return None
    if (
        len(text) > limits.MAX_NODES or text.count("{") + text.count("[") > limits.MAX_DEPTH
    ) and limits.shape_problem(payload) is not None:
        return None
    if not text.isascii():  # an unpaired surrogate cannot be UTF-8
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return None
    return text


T = TypeVar("T")


class ListOut(BaseModel, Generic[T]):
    """One page of a list, oldest or newest first as the route says."""

    data: list[T]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null on the last page."
    )


class ErrorDetail(BaseModel):
    """What is wrong with one field of a refused request."""

    field: str = Field(
        description="Dotted path of the field (body fields by name, e.g. headers.X-Team; "
        "query and path parameters by name); 'body' for the body as a whole."
    )
    message: str = Field(description="What is wrong, in words.")
    type: str = Field(
        description="A machine-readable kind: pydantic's error type (missing, "
        "string_too_long, ...), value_error, conflict or content_type."
    )


class ErrorOut(BaseModel):
    """Every error answer: a stable code, a sentence, and the fields at fault."""

    model_config = ConfigDict(
        json_schema_serialization_defaults_required=True,  # every answer has a detail
        json_schema_extra={
            "examples": [
                {
                    "error": "validation_error",
                    "message": "url: must include a host",
                    "detail": [
                        {"field": "url", "message": "must include a host", "type": "value_error"}
                    ],
                }
            ]
        },
    )

    error: str = Field(description="A stable code: validation_error, not_found, conflict, ...")
    message: str = Field(description="What went wrong, in a sentence (fields named).")
    detail: list[ErrorDetail] = Field(
        default_factory=list, description="One item per field at fault; empty otherwise."
    )
