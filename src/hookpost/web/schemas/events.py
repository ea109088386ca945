"""Events (single and batch publish, test events), deliveries and their attempts."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hookpost.domain import DeliveryStatus
from hookpost.web.schemas.common import (
    EVENT_ID_RE,
    EVENT_TYPE_RE,
    ErrorDetail,
    In,
    Timestamp,
    check_json_payload,
    json_payload_text,
)


class TestIn(In):
    event_type: str = Field(default="hookpost.test", pattern=EVENT_TYPE_RE, max_length=255)
    payload: dict[str, Any] | None = None

    @field_validator("payload")
    @classmethod
    def _payload(cls, v: Any) -> Any:
        return check_json_payload(v)


class EventIn(In):
    event_type: str = Field(pattern=EVENT_TYPE_RE, max_length=255)
    payload: dict[str, Any] = Field(
        description="The event's data, a JSON object; each endpoint's profile wraps it."
    )
    event_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        pattern=EVENT_ID_RE,
        description="Your idempotency key, then the event's id: the same event_id with the "
        "same type and payload is stored once; with a different one it is a 409.",
    )

    @field_validator("payload")
    @classmethod
    def _payload(cls, v: Any) -> Any:
        return check_json_payload(v)


_EVENT_FIELDS = frozenset(EventIn.model_fields)
_EVENT_TYPE = re.compile(EVENT_TYPE_RE)
_EVENT_ID = re.compile(EVENT_ID_RE)


def read_event(raw: Any) -> tuple[str, dict[str, Any], str, str | None] | None:
    """An event as :class:`EventIn` reads it -- ``(event_type, payload, payload's
    compact JSON text, event_id)`` -- checked without building the model; ``None``
    when ``EventIn`` might refuse it or read it otherwise (then validating it
    with ``EventIn`` is the answer, its errors the refusal).

    A batch reads up to 500 events: a model each, and its payload encoded once
    to be checked and once more to be stored, cost more than everything else
    the API does for them. These are the model's checks for the plain case --
    exact types, the same patterns and lengths, the payload's check on the
    text that is then stored -- and anything else goes to the model.
    """
    if type(raw) is not dict or not raw.keys() <= _EVENT_FIELDS:
        return None
    event_type = raw.get("event_type")
    if (
        type(event_type) is not str
        or len(event_type) > 255
        or not _EVENT_TYPE.fullmatch(event_type)
    ):
        return None
    event_id = raw.get("event_id")
    if event_id is not None and (
        type(event_id) is not str or len(event_id) > 255 or not _EVENT_ID.fullmatch(event_id)
    ):
        return None
    payload = raw.get("payload")
    if type(payload) is not dict:
        return None
    text = json_payload_text(payload)
    return None if text is None else (event_type, payload, text, event_id)


class EventOut(BaseModel):
    id: str
    event_type: str
    payload: dict[str, Any] | None = Field(
        description="null for a viewer in a project that hides payloads from viewers."
    )
    sequence: int
    created_at: Timestamp
    timestamp: int = Field(
        description="When it was published, in Unix seconds: the value receivers get in "
        "the signed timestamp header (webhook-timestamp for the standard profile)."
    )


class EventAccepted(EventOut):
    deliveries: int


class EventRepeated(BaseModel):
    """A repeated ``event_id``: the first event (its id, sequence and delivery count).

    A key that may read events (``full``, ``read``, the admin token) gets the
    first event whole; a ``publish`` key gets back only the ``event_type`` and
    ``payload`` it sent, without ``created_at`` and ``timestamp``.
    """

    id: str
    event_type: str
    payload: dict[str, Any]
    sequence: int
    created_at: Timestamp | None = Field(
        default=None, description="Only for keys that read events."
    )
    timestamp: int | None = Field(
        default=None, description="Unix seconds; only for keys that read events."
    )
    deliveries: int


#: The most events one ``POST .../events/batch`` takes.
MAX_BATCH = 500


class EventBatchIn(In):
    """Up to 500 events, each checked on its own as a single publish checks it."""

    events: list[Any] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description="Each item is an event as a single publish takes it (EventIn): "
        "event_type, payload and optionally event_id. An item that is not valid is "
        "refused alone, in its own result.",
        json_schema_extra={"items": {"$ref": "#/components/schemas/EventIn"}},
    )


class EventBatchItem(BaseModel):
    """What became of one event of a batch, at the same index as the event sent.

    ``status`` is what a single publish of it would have answered: 202 created,
    200 a repeated ``event_id`` (nothing created), 409 an ``event_id`` already
    used by a different event, 422 an invalid event. 200 and 202 carry the
    event's ``id``, ``sequence`` and ``deliveries``; 409 and 422 carry
    ``error``, ``message`` and ``detail`` as an error answer does. No item
    carries a payload: the sender has it.
    """

    index: int
    status: Literal[200, 202, 409, 422]
    id: str | None = None
    event_type: str | None = None
    sequence: int | None = None
    deliveries: int | None = None
    error: str | None = None
    message: str | None = None
    detail: list[ErrorDetail] | None = None


class EventBatchOut(BaseModel):
    """One result per event sent, at its index (fields a result has not are left out)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "data": [
                        {"index": 0, "status": 202, "id": "msg_2b7QdA1cZy8RtE",
                         "event_type": "invoice.paid", "sequence": 1042, "deliveries": 2},
                        {"index": 1, "status": 200, "id": "inv_1041",
                         "event_type": "invoice.paid", "sequence": 1041, "deliveries": 2},
                        {"index": 2, "status": 422, "error": "validation_error",
                         "message": "event_type: Field required",
                         "detail": [{"field": "event_type", "message": "Field required",
                                     "type": "missing"}]},
                    ],
                    "created": 1,
                    "repeated": 1,
                    "refused": 1,
                }
            ]
        }
    )  # fmt: skip

    data: list[EventBatchItem]
    created: int = Field(description="Items with status 202.")
    repeated: int = Field(description="Items with status 200: nothing created.")
    refused: int = Field(description="Items with status 409 or 422.")


class DeliveryOut(BaseModel):
    id: str
    event_id: str
    endpoint_id: str
    event_type: str
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: Timestamp | None = Field(
        description="When the next attempt is due (pending); null once final or held."
    )
    last_status_code: int | None
    last_error: str | None
    created_at: Timestamp
    updated_at: Timestamp


class AttemptOut(BaseModel):
    number: int
    started_at: Timestamp
    url: str
    status_code: int | None
    duration_ms: float
    error: str | None
    request_headers: dict[str, str]
    request_body: str | None = Field(
        description="null for a viewer in a project that hides payloads from viewers."
    )
    response_headers: dict[str, str] | None
    response_body: str | None


class DeliveryDetail(DeliveryOut):
    attempts: list[AttemptOut]


class ReleasedOut(BaseModel):
    released: int
