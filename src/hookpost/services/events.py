"""Publishing: check the payload against the catalog, store the event, count it, wake the workers.

The store writes the event and one delivery per target endpoint in one
transaction (:meth:`~hookpost.store.Store.publish`); this is what surrounds
it. A payload the catalog's schema for its type refuses is :class:`Invalid`
naming its fields -- with the schema's own reasons only when the caller may
read the catalog (``explain``), since they quote it (enums, patterns,
required names). The publish is one ``hookpost.publish`` span, carrying the
trace context on to the deliveries. An ``event_id`` seen before in the project
creates nothing and wakes no one: repeated with the same type and payload it
answers with the first event (:attr:`Published.created` is false); with a
different one it is a :class:`Conflict` naming ``event_id`` and what differs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hookpost import tracing
from hookpost.core import jsonenc, tenant_schema
from hookpost.domain import Conflict, Invalid, repeat_differences
from hookpost.observability import metrics
from hookpost.services import Wake
from hookpost.store import Store

#: Why a payload was refused, told to a caller that may not read the catalog: the
#: schema's own messages quote it (enums, patterns, required names).
NOT_THE_SCHEMA = (
    "does not match this event type's schema in the catalog "
    "(a key that may read the catalog is told why)"
)


def reused_event_id(event_id: str | None, differ: list[str]) -> str:
    """The Conflict message for an ``event_id`` already used by a different event."""
    what = " and ".join(differ)
    return (
        f"event_id: {event_id!r} was already used for an event with a different {what}; "
        "nothing was created. Repeat an event with the same event_type and payload, "
        "or give a new event a new event_id"
    )


@dataclass(frozen=True, slots=True)
class Published:
    """The stored event, its delivery count, whether this call created it, and the
    payload as stored (encoded once: the answer reuses the text)."""

    event: dict[str, Any]
    deliveries: int
    created: bool
    payload: str


async def validate_payload(store: Store, project_id: str, event_type: str, payload: Any) -> None:
    """Invalid naming the payload field when the catalog's schema for this type rejects it."""
    schema = await store.event_type_schema(project_id, event_type)
    if schema is None:
        return
    problems = await tenant_schema.check_payload(
        project_id, event_type, json.dumps(schema, sort_keys=True), payload
    )
    if problems:
        raise Invalid.of(problems)


async def publish(
    store: Store,
    project_id: str,
    event_type: str,
    payload: Any,
    event_id: str | None,
    wake: Wake,
    *,
    explain: bool,
    text: str | None = None,
) -> Published:
    """Store the event and its deliveries in one transaction (a repeated ``event_id``: the first).

    ``explain``: may a refusal by the catalog's schema say why (see the module)?
    ``text``: the payload's compact JSON (``jsonenc.compact``), if the caller
    encoded it already when checking it (``web.schemas.read_event``).
    """
    try:
        await validate_payload(store, project_id, event_type, payload)
    except Invalid as exc:
        if explain:
            raise
        raise Invalid.of([(field, NOT_THE_SCHEMA) for field, _ in exc.problems]) from None
    attrs = {"hookpost.project_id": project_id, "hookpost.event_type": event_type}
    if text is None:
        text = jsonenc.compact(payload)
    with tracing.span("hookpost.publish", attrs) as span:
        event, count, created = await store.publish(
            project_id,
            event_type,
            text,
            event_id,
            trace_context=tracing.current_traceparent(),
        )
        if span is not None:
            span.set_attribute("hookpost.event_id", event["id"])
            span.set_attribute("hookpost.deliveries", count)
    if not created:
        if differ := repeat_differences(event["event_type"], event["payload"], event_type, payload):
            raise Conflict(reused_event_id(event_id, differ), field="event_id")
        return Published(event, count, False, text)
    metrics.events.inc()
    metrics.fanned_out(count)
    wake()
    return Published(event, count, True, text)


#: What the store answers for one event: ``(event, deliveries, created)``.
StoredEvent = tuple[dict[str, Any], int, bool]
#: One event of a batch as the API read it: ``(event_type, payload, text, event_id)``,
#: ``text`` the payload's compact JSON (``jsonenc.compact``), encoded once when it
#: was checked and stored as it is.
BatchEvent = tuple[str, Any, str, str | None]
#: A batch event's outcome: the store's answer, or what a single publish of it would have raised.
BatchOutcome = StoredEvent | Invalid | Conflict


async def publish_batch(
    store: Store,
    project_id: str,
    events: Sequence[BatchEvent],
    wake: Wake,
    *,
    explain: bool,
) -> list[BatchOutcome]:
    """Publish a batch's events, each checked as :func:`publish` checks one and
    refused alone; the valid ones are stored in one transaction.

    One outcome per event, in order. The catalog's schema is read once per
    event type of the batch (most batches have one or two), not once per event.
    """
    outcomes: list[BatchOutcome | None] = [None] * len(events)
    schemas: dict[str, str | None] = {}
    for event_type, _, _, _ in events:
        if event_type not in schemas:
            schema = await store.event_type_schema(project_id, event_type)
            schemas[event_type] = None if schema is None else json.dumps(schema, sort_keys=True)
    valid: list[int] = []
    for i, (event_type, payload, _, _) in enumerate(events):
        schema_json = schemas[event_type]
        if schema_json is not None:
            problems = await tenant_schema.check_payload(
                project_id, event_type, schema_json, payload
            )
            if problems:
                outcomes[i] = Invalid.of(
                    problems if explain else [(f, NOT_THE_SCHEMA) for f, _ in problems]
                )
                continue
        valid.append(i)
    attrs = {"hookpost.project_id": project_id, "hookpost.events": len(valid)}
    with tracing.span("hookpost.publish_batch", attrs):
        published = await store.publish_many(
            project_id,
            [(events[i][0], events[i][2], events[i][3]) for i in valid],
            trace_context=tracing.current_traceparent(),
        )
    created = deliveries = 0
    for i, stored in zip(valid, published, strict=True):
        event, count, new = stored
        if new:
            created += 1
            deliveries += count
        else:
            event_type, payload, text, event_id = events[i]
            first = (event["event_type"], event["payload"])
            # The same text is the same payload: the first is parsed only to find a difference.
            if first != (event_type, text) and (
                differ := repeat_differences(*first, event_type, payload)
            ):
                outcomes[i] = Conflict(reused_event_id(event_id, differ), field="event_id")
                continue
        outcomes[i] = stored
    if created:
        metrics.events.inc(created)
        metrics.fanned_out(deliveries)
        wake()
    return [o for o in outcomes if o is not None]
