"""Events: publish (:func:`hookpost.services.events.publish`), publish a batch, list, read.

A route here decides what the caller may be answered with: a repeated
``event_id`` answers a key that may not read events with no more than it sent,
and a refusal by the catalog's schema quotes the schema only to a key that may
read the catalog (:mod:`hookpost.web.scopes`).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from hookpost.core import jsonenc
from hookpost.domain import Conflict, Invalid, roles
from hookpost.services import events
from hookpost.store import MAX_BIGINT, Store, decode_cursor
from hookpost.web import errors, handwritten, render, scopes
from hookpost.web.deps import (
    PagingDep,
    PayloadAccess,
    Principal,
    PrincipalDep,
    ProjectScope,
    StoreDep,
    forbidden,
    get_principal,
    project_scope,
)
from hookpost.web.handwritten import HandWrittenRoute
from hookpost.web.schemas import (
    ErrorOut,
    EventAccepted,
    EventBatchIn,
    EventBatchOut,
    EventIn,
    EventOut,
    EventRepeated,
    ListOut,
    Moment,
    read_event,
)
from hookpost.web.state import runtime, waker

JSON = "application/json"

#: Publish and publish a batch are answered by hand-written handlers (see
#: :mod:`hookpost.web.handwritten`).
router = APIRouter(
    prefix="/projects/{project_id}/events", tags=["events"], route_class=HandWrittenRoute
)


#: An event as the route read it: ``(event_type, payload, payload's compact JSON text
#: if encoded already, event_id)``.
_Read = tuple[str, dict[str, Any], str | None, str | None]


async def _publish_request(request: Request) -> Response:
    """:func:`publish`, handled by hand (:mod:`hookpost.web.handwritten`): the body read,
    then the key and project checked, then the body validated -- FastAPI's order."""
    body = await handwritten.json_body(request)
    principal = await get_principal(request)
    project_id = await project_scope(request.path_params["project_id"], request, principal)
    # The plain case is read without a model, its payload encoded once for the
    # check and the store (as a batch reads its events); anything else is EventIn's.
    read: _Read | None = read_event(body)
    if read is None:
        sent = handwritten.validated(EventIn, body)
        read = (sent.event_type, sent.payload, None, sent.event_id)
    return await _publish(project_id, read, runtime(request).store, request, principal)


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
@handwritten.handled_by(_publish_request)
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
    read = (body.event_type, body.payload, None, body.event_id)
    return await _publish(project_id, read, store, request, principal)


async def _publish(
    project_id: str, read: _Read, store: Store, request: Request, principal: Principal
) -> Response:
    event_type, payload, text, event_id = read
    published = await events.publish(
        store,
        project_id,
        event_type,
        payload,
        event_id,
        waker(request),
        explain=principal.reads(scopes.EVENT_TYPES_ROUTE),
        text=text,
    )
    event, count = published.event, published.deliveries
    if not published.created:
        if principal.reads(scopes.EVENTS_ROUTE):
            repeat = {**render.event(event), "deliveries": count}
        else:
            sent = EventIn.model_construct(event_type=event_type, payload=payload)
            repeat = render.event_receipt(event, sent, count)
        return JSONResponse(repeat, status_code=200)
    # The answer is written here, its payload the text just stored: neither a
    # second encoding of the payload nor FastAPI's validation of the answer
    # against EventAccepted (which it is, field for field).
    return Response(
        render.event_accepted_json(event, published.payload, count), 202, media_type=JSON
    )


async def _publish_batch_request(request: Request) -> Response:
    """:func:`publish_batch`, handled by hand as :func:`_publish_request` is: the body
    read, the key and project checked, then the request's shape validated."""
    body = await handwritten.json_body(request)
    principal = await get_principal(request)
    project_id = await project_scope(request.path_params["project_id"], request, principal)
    sent = handwritten.validated(EventBatchIn, body)
    return await _publish_batch(project_id, sent.events, runtime(request).store, request, principal)


@router.post(
    "/batch",
    response_model=EventBatchOut,
    response_model_exclude_none=True,
    responses={200: {"description": "One result per event, in order, each with its status"}},
)
@handwritten.handled_by(_publish_batch_request)
async def publish_batch(
    project_id: ProjectScope,
    body: EventBatchIn,
    store: StoreDep,
    request: Request,
    principal: PrincipalDep,
) -> Any:
    """Publish up to 500 events in one request; answer 200 with one result per event.

    Each event is checked as a single publish checks it (its fields, the
    catalog's schema, its ``event_id``) and refused alone: the result at its
    index has the ``status`` a single publish would have answered -- 202
    created, 200 a repeated ``event_id`` (nothing created), 409 an
    ``event_id`` used by a different event, 422 invalid -- with ``error``,
    ``message`` and ``detail`` for a refusal. The valid ones are stored in one
    transaction: one lookup of their ``event_id`` s and one multi-row insert of
    the events and one of their deliveries. The request as a whole is refused
    only when it is not ``{"events": [...]}`` with 1 to 500 items.
    """
    return await _publish_batch(project_id, body.events, store, request, principal)


async def _publish_batch(
    project_id: str, items: list[Any], store: Store, request: Request, principal: Principal
) -> Response:
    """Each item read (:func:`~hookpost.web.schemas.read_event`, else ``EventIn``), the
    valid ones published, and the answer written here, item by item: FastAPI would
    validate each of up to 500 results against ``EventBatchItem`` and encode them
    through pydantic, and every field is already what the model says."""
    results: list[str | None] = [None] * len(items)
    sent: list[events.BatchEvent] = []
    at: list[int] = []
    for i, raw in enumerate(items):
        event = read_event(raw)
        if event is None:
            try:
                model = EventIn.model_validate(raw)
            except ValidationError as exc:
                results[i] = _refused(i, 422, [errors.problem(e) for e in exc.errors()])
                continue
            payload = model.payload
            event = (model.event_type, payload, jsonenc.compact(payload), model.event_id)
        sent.append(event)
        at.append(i)
    outcomes = await events.publish_batch(
        store, project_id, sent, waker(request), explain=principal.reads(scopes.EVENT_TYPES_ROUTE)
    )
    created, refused = 0, len(items) - len(sent)
    for i, (event_type, _, _, _), outcome in zip(at, sent, outcomes, strict=True):
        if isinstance(outcome, Invalid):
            detail = [errors.detail_item(f, m) for f, m in outcome.problems]
            results[i] = _refused(i, 422, detail)
            refused += 1
        elif isinstance(outcome, Conflict):
            reused = str(outcome)
            results[i] = _refused(
                i, 409, [errors.detail_item("event_id", reused, "conflict")], reused
            )
            refused += 1
        else:
            stored, count, new = outcome
            created += new
            results[i] = (
                f'{{"index":{i},"status":{202 if new else 200},"id":{_string(stored["id"])},'
                f'"event_type":{_string(event_type)},"sequence":{int(stored["seq"])},'
                f'"deliveries":{int(count)}}}'
            )
    answer = (
        f'{{"data":[{",".join(r for r in results if r is not None)}],"created":{created},'
        f'"repeated":{len(items) - created - refused},"refused":{refused}}}'
    )
    return Response(answer.encode(), media_type=JSON)


#: A string as JSON text, as ``jsonenc.compact`` writes it (non-ASCII kept).
_string = json.encoder.encode_basestring


def _refused(
    index: int, status: int, detail: list[dict[str, Any]], message: str | None = None
) -> str:
    """A batch item refused as a single publish would be: its status, error, message,
    detail -- as JSON text."""
    if len(detail) == 1 and detail[0]["field"] == "body":
        detail[0]["field"] = "event"  # the item itself, not the request's body
    return jsonenc.compact(
        {
            "index": index,
            "status": status,
            "error": errors.code_of(status),
            "message": message or errors.detail_message(detail),
            "detail": detail,
        }
    )


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
    *,
    bodies: PayloadAccess,
    principal: PrincipalDep,
) -> dict[str, Any]:
    """Newest first by default; ``?order=asc&after=<sequence>`` to catch up on missed events.

    A caller shown no payloads (a viewer, see ``viewers_see_payloads``) may not search them.
    """
    if q and not bodies:
        raise forbidden(roles.PAYLOADS_READ, principal.role)
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
    data = [render.event(e, bodies=bodies) for e in result.data]
    return {"data": data, "next_cursor": result.next_cursor}


@router.get("/{event_id}", response_model=EventOut)
async def get_event(
    project_id: ProjectScope, event_id: str, store: StoreDep, bodies: PayloadAccess
) -> dict[str, Any]:
    return render.event(await store.get_event(project_id, event_id), bodies=bodies)
