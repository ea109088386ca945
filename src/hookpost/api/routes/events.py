from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from hookpost import tracing
from hookpost.api import render, scopes
from hookpost.api.deps import PagingDep, PrincipalDep, ProjectScope, StoreDep
from hookpost.api.errors import ValidationProblem
from hookpost.api.routes.endpoints import wake
from hookpost.api.routes.event_types import validate_payload
from hookpost.api.schemas import (
    ErrorOut,
    EventAccepted,
    EventIn,
    EventOut,
    EventRepeated,
    ListOut,
    Moment,
)
from hookpost.core import jsonenc
from hookpost.domain import Conflict, repeat_differences
from hookpost.observability import metrics
from hookpost.store import MAX_BIGINT, decode_cursor

router = APIRouter(prefix="/projects/{project_id}/events", tags=["events"])

#: Why a payload was refused, told to a key that may not read the catalog: the
#: schema's own messages quote it (enums, patterns, required names).
NOT_THE_SCHEMA = (
    "does not match this event type's schema in the catalog "
    "(a key that may read the catalog is told why)"
)


def reused_event_id(event_id: str | None, differ: list[str]) -> str:
    """The 409 message for an ``event_id`` already used by a different event."""
    what = " and ".join(differ)
    return (
        f"event_id: {event_id!r} was already used for an event with a different {what}; "
        "nothing was created. Repeat an event with the same event_type and payload, "
        "or give a new event a new event_id"
    )


@router.post(
    "",
    status_code=202,
    response_model=EventAccepted,
    responses={
        200: {
            "model": EventRepeated,
            "description": "A repeated event_id with the same event_type and payload: "
            "the first event, nothing created",
        },
        409: {
            "model": ErrorOut,
            "description": "The event_id was already used for an event with a different "
            "event_type or payload; nothing created",
        },
    },
)
async def publish(
    project_id: ProjectScope,
    body: EventIn,
    store: StoreDep,
    request: Request,
    principal: PrincipalDep,
) -> Any:
    """Store the event and its deliveries in one transaction, then answer 202.

    An ``event_id`` used before in this project by a different event_type
    or payload is a 409 naming ``event_id`` and what differs. One repeated
    with the same type and payload answers 200 and creates nothing: with
    the first event to a key that may read events, and to a ``publish`` key
    with only what it sent plus the first event's id, sequence and delivery
    count -- a leaked publish key reads no payload.
    A payload the catalog's schema refuses is a 422 naming its fields; the
    schema's reasons only to a key that may read the catalog.
    """
    try:
        await validate_payload(store, project_id, body.event_type, body.payload)
    except ValidationProblem as exc:
        if principal.reads(scopes.EVENT_TYPES_ROUTE):
            raise
        raise ValidationProblem([(field, NOT_THE_SCHEMA) for field, _ in exc.problems]) from None
    attrs = {"hookpost.project_id": project_id, "hookpost.event_type": body.event_type}
    with tracing.span("hookpost.publish", attrs) as span:
        event, count, created = await store.publish(
            project_id,
            body.event_type,
            jsonenc.compact(body.payload),
            body.event_id,
            trace_context=tracing.current_traceparent(),
        )
        if span is not None:
            span.set_attribute("hookpost.event_id", event["id"])
            span.set_attribute("hookpost.deliveries", count)
    if not created:
        if differ := repeat_differences(
            event["event_type"], event["payload"], body.event_type, body.payload
        ):
            raise Conflict(reused_event_id(body.event_id, differ), field="event_id")
        if principal.reads(scopes.EVENTS_ROUTE):
            repeat = {**render.event(event), "deliveries": count}
        else:
            repeat = render.event_receipt(event, body, count)
        return JSONResponse(repeat, status_code=200)
    # A new event answers with the payload it was sent (no second parse).
    out = {**render.event(event, body.payload), "deliveries": count}
    metrics.events.inc()
    metrics.deliveries_created.inc(count)
    wake(request)
    return out


@router.get("", response_model=ListOut[EventOut])
async def list_events(
    project_id: ProjectScope,
    store: StoreDep,
    page: PagingDep,
    event_type: Annotated[str | None, Query(max_length=255)] = None,
    after: Annotated[
        int | None,
        Query(ge=0, le=MAX_BIGINT, description="Only events with a larger sequence (catch-up)."),
    ] = None,
    order: Literal["asc", "desc"] = "desc",
    since: Annotated[Moment | None, Query(description="Created at or after.")] = None,
    until: Annotated[Moment | None, Query(description="Created before.")] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Text the payload contains.")
    ] = None,
) -> dict[str, Any]:
    """Newest first by default; ``?order=asc&after=<sequence>`` to catch up on missed events."""
    if page.cursor:  # events page by sequence
        try:
            decode_cursor(page.cursor, numeric=True)
        except ValueError:
            raise HTTPException(422, "cursor: is not a cursor this API returned") from None
    result = await store.list_events(
        project_id,
        limit=page.limit,
        cursor=page.cursor,
        event_type=event_type,
        after=after,
        order=order,
        since=since.timestamp() if since else None,
        until=until.timestamp() if until else None,
        search=q,
    )
    return {"data": [render.event(e) for e in result.data], "next_cursor": result.next_cursor}


@router.get("/{event_id}", response_model=EventOut)
async def get_event(project_id: ProjectScope, event_id: str, store: StoreDep) -> dict[str, Any]:
    return render.event(await store.get_event(project_id, event_id))
