"""The project pages (reading): overview with charts, endpoints, catalog, events, deliveries.

Each view takes the request, the :class:`~hookpost.dashboard.surface.Surface`
(operator or portal) and the submitted form (empty for GET), asks the store
for ``surface.project_id``'s data only, shapes rows with ``web/render.py``
(the same dicts the REST API returns) and renders a template. Lists are
bounded and paged with the store's cursors, like the API.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from fastapi import Request, Response

from hookpost.core import destination_url
from hookpost.dashboard import charts
from hookpost.dashboard.curl import curl_command
from hookpost.dashboard.forms import FieldErrors, Form, endpoint_values
from hookpost.dashboard.html import PageError, flash_params, redirect, render, schedule_text
from hookpost.dashboard.state import now, store
from hookpost.dashboard.surface import Surface
from hookpost.domain import DEFAULT_SCHEDULE, DeliveryStatus, NotFound, roles
from hookpost.profiles import PROFILE_NAMES, RESERIALIZING_PROFILES
from hookpost.store import decode_cursor
from hookpost.web import render as shapes
from hookpost.web.schemas import in_range, iso

View = Callable[[Request, Surface, Form], Awaitable[Response]]

PAGE_SIZE = 50
#: Charts and the live feed look this far back.
WINDOW_SECONDS = 3600
#: Attempts sampled for the latency percentiles.
LATENCY_SAMPLE = 5000
STATUSES = tuple(DeliveryStatus)
#: The service's waits after each failed attempt (the first attempt is at once).
DEFAULT_WAITS = schedule_text(DEFAULT_SCHEDULE[1:])

#: The notice after an action, by its ``done`` code: fixed texts, so a link or a cookie
#: cannot make a page say anything (``{n}`` is only ever a number).
NOTICES = {
    "created": "Endpoint created. Reveal its secret below to configure your receiver.",
    "saved": "Endpoint saved.",
    "enabled": "Endpoint enabled. Deliveries held while it was disabled wait for “Release”.",
    "disabled": "Endpoint disabled. New deliveries are held until it is enabled again.",
    "released": "Held deliveries released: they are being delivered now.",
    "test_sent": "Test event sent. Its delivery appears below.",
    "resent": "Resend queued: the new attempt appears below.",
    "recover": "Bulk resend queued. Progress is shown below.",
    "recover_endpoint": "Resend of the failed deliveries queued: they appear below as they go.",
    "resent_selected": "{n} selected deliveries queued for one more attempt each.",
    "resent_some": "{n} selected deliveries queued; the others were being attempted right "
    "then, so they were left alone.",
    "payloads_shown": "Viewers now see payload bodies in this project.",
    "payloads_hidden": "Viewers no longer see payload bodies in this project.",
}


def notice(request: Request) -> str | None:
    """The one-shot notice after an action (see ``html.notice_redirect``)."""
    flash = flash_params(request)
    text = NOTICES.get(flash.get("done", ""))
    n = flash.get("n", "")
    if text is None or "{n}" not in text:
        return text
    return text.format(n=int(n)) if n.isdigit() and len(n) < 7 else None


def cursor_param(request: Request, *, numeric: bool = False) -> str | None:
    cursor = request.query_params.get("cursor") or None
    if cursor is not None:
        try:
            decode_cursor(cursor, numeric=numeric)
        except ValueError:
            raise PageError(400, "Bad request", "That page link is not valid.") from None
    return cursor


def _param(request: Request, name: str, limit: int = 255) -> str:
    return request.query_params.get(name, "").strip()[:limit]


async def overview(request: Request, s: Surface, form: Form) -> Response:
    return render(request, "overview.html", await overview_context(request, s), surface=s)


async def overview_context(request: Request, s: Surface) -> dict[str, Any]:
    st = store(request)
    t = now(request)
    since = t - WINDOW_SECONDS
    labels = await _labels(request, s)
    per_minute = charts.minute_chart(
        await st.dashboard_outcomes_per_minute(s.project_id, since), int(t // 60)
    )
    latency = charts.latency_chart(
        await st.dashboard_durations(s.project_id, since, LATENCY_SAMPLE)
    )
    rates = charts.success_bars(
        await st.dashboard_endpoint_success(s.project_id, since),
        {k: v["description"] or v["url"] for k, v in labels.items()},
    )
    recent = await st.dashboard_recent_attempts(s.project_id, since, 15)
    for a in recent:
        a["started_at"] = iso(a["started_at"])
    return {
        "per_minute": per_minute,
        "latency": latency,
        "rates": rates,
        "recent": recent,
        "labels": labels,
        "bar": {"width": charts.BAR_WIDTH, "row": charts.BAR_ROW},
        "notice": notice(request),
        "portal_link": None,
        "portal_values": None,
        "portal_errors": {},
    }


async def _labels(request: Request, s: Surface) -> dict[str, dict[str, str]]:
    """``{endpoint id: {"url", "description"}}``: how tables name an endpoint."""
    page = await store(request).list_endpoints(s.project_id, limit=250, cursor=None)
    return {e["id"]: {"url": e["url"], "description": e["description"]} for e in page.data}


async def endpoints(request: Request, s: Surface, form: Form) -> Response:
    page = await store(request).list_endpoints(
        s.project_id, limit=PAGE_SIZE, cursor=cursor_param(request)
    )
    return render(
        request,
        "endpoints.html",
        {
            "endpoints": [shapes.endpoint(e) for e in page.data],
            "next_cursor": page.next_cursor,
            "notice": notice(request),
        },
        surface=s,
    )


async def catalog_names(request: Request, s: Surface) -> list[str]:
    page = await store(request).list_event_types(s.project_id, limit=250, cursor=None)
    return [t["name"] for t in page.data]


async def profile_names(request: Request, s: Surface) -> list[str]:
    page = await store(request).list_profiles(s.project_id, limit=100, cursor=None)
    return [*PROFILE_NAMES, *(p["name"] for p in page.data)]


async def endpoint_form(
    request: Request,
    s: Surface,
    *,
    values: dict[str, Any] | None,
    errors: FieldErrors,
    endpoint: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    """The create/edit form, refilled with what was sent and the errors next to the fields."""
    catalog = await catalog_names(request, s)
    if values is None:
        values = endpoint_values(
            endpoint or {"url": "", "description": "", "profile": "standard", "filter": None},
            catalog,
        )
    return render(
        request,
        "endpoint_form.html",
        {
            "endpoint": endpoint,
            "values": values,
            "errors": errors,
            "catalog": catalog,
            "profiles": await profile_names(request, s),
            "reserializing": RESERIALIZING_PROFILES,
            "default_schedule": DEFAULT_WAITS,
        },
        surface=s,
        status=status,
    )


async def endpoint_new(request: Request, s: Surface, form: Form) -> Response:
    return await endpoint_form(request, s, values=None, errors={})


async def endpoint_edit(request: Request, s: Surface, form: Form) -> Response:
    ep = await store(request).get_endpoint(s.project_id, request.path_params["endpoint_id"])
    return await endpoint_form(request, s, values=None, errors={}, endpoint=shapes.endpoint(ep))


async def endpoint_page(
    request: Request,
    s: Surface,
    *,
    secret: str | None = None,
    revealed_headers: dict[str, str] | None = None,
    message: str | None = None,
    errors: FieldErrors | None = None,
    recover: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    """The endpoint: every setting, its chart, actions; ``recover`` asks to confirm a resend."""
    st = store(request)
    endpoint_id = request.path_params["endpoint_id"]
    ep = await st.get_endpoint(s.project_id, endpoint_id)
    recent = await st.list_deliveries(s.project_id, limit=10, cursor=None, endpoint_id=endpoint_id)
    held = await st.list_deliveries(
        s.project_id, limit=1, cursor=None, endpoint_id=endpoint_id, status=DeliveryStatus.HELD
    )
    range_name = request.query_params.get("range", "24h")
    if range_name not in charts.RANGES:
        range_name = "24h"
    bucket_seconds, n, _ = charts.RANGES[range_name]
    t = now(request)
    last = int(t // bucket_seconds)
    series = charts.series_chart(
        await st.dashboard_endpoint_series(
            s.project_id, endpoint_id, (last - n + 1) * bucket_seconds, bucket_seconds
        ),
        last,
        bucket_seconds,
        n,
    )
    default_since = iso(t - 86400) or ""
    return render(
        request,
        "endpoint.html",
        {
            "ep": shapes.endpoint(ep),
            "secret": secret,
            "revealed_headers": revealed_headers,
            "deliveries": [shapes.delivery(d) for d in recent.data],
            "has_held": bool(held.data),
            "notice": message or notice(request),
            "errors": errors or {},
            "series": series,
            "range": range_name,
            "ranges": charts.RANGES,
            "default_schedule": DEFAULT_WAITS,
            "recover": recover or {"since": default_since[:16], "count": None},
        },
        surface=s,
        status=status,
    )


async def endpoint(request: Request, s: Surface, form: Form) -> Response:
    return await endpoint_page(request, s)


async def event_types(request: Request, s: Surface, form: Form) -> Response:
    page = await store(request).list_event_types(
        s.project_id, limit=PAGE_SIZE, cursor=cursor_param(request)
    )
    rows = [
        {
            "name": t["name"],
            "description": t["description"],
            "schema": t["schema"],
            "created_at": iso(t["created_at"]),
        }
        for t in page.data
    ]
    return render(
        request,
        "event_types.html",
        {"types": rows, "next_cursor": page.next_cursor},
        surface=s,
    )


def parse_when(text: str) -> float | None:
    """A ``datetime-local`` form value (taken as UTC) as epoch seconds; junk is ignored."""
    if not text:
        return None
    try:
        return in_range(datetime.fromisoformat(text)).timestamp()
    except ValueError:  # not a date, or outside the years 1 to 9999 once in UTC
        return None


async def events(request: Request, s: Surface, form: Form) -> Response:
    st = store(request)
    event_type = _param(request, "event_type")
    event_id = _param(request, "event_id")
    search = _param(request, "q") if s.can(roles.PAYLOADS_READ) else ""
    since, until = _param(request, "since"), _param(request, "until")
    next_cursor = None
    if event_id:
        try:
            rows = [await st.get_event(s.project_id, event_id)]
        except NotFound:
            rows = []
        if event_type:
            rows = [r for r in rows if r["event_type"] == event_type]
    else:
        page = await st.list_events(
            s.project_id,
            limit=PAGE_SIZE,
            cursor=cursor_param(request, numeric=True),
            event_type=event_type or None,
            since=parse_when(since),
            until=parse_when(until),
            search=search or None,
        )
        rows, next_cursor = page.data, page.next_cursor
    return render(
        request,
        "events.html",
        {
            "events": [shapes.event(e, bodies=s.can(roles.PAYLOADS_READ)) for e in rows],
            "next_cursor": next_cursor,
            "filters": {
                "event_type": event_type,
                "event_id": event_id,
                "q": search,
                "since": since,
                "until": until,
            },
            "catalog": await catalog_names(request, s),
        },
        surface=s,
    )


async def event(request: Request, s: Surface, form: Form) -> Response:
    """One event: its payload, and its delivery to each endpoint with status and attempts."""
    st = store(request)
    event_id = request.path_params["event_id"]
    row = await st.get_event(s.project_id, event_id)
    page = await st.list_deliveries(
        s.project_id, limit=PAGE_SIZE, cursor=cursor_param(request), event_id=event_id
    )
    return render(
        request,
        "event.html",
        {
            "e": shapes.event(row, bodies=s.can(roles.PAYLOADS_READ)),
            "deliveries": [shapes.delivery(d) for d in page.data],
            "next_cursor": page.next_cursor,
            "labels": await _labels(request, s),
        },
        surface=s,
    )


#: What the search box looks for first, by the id's prefix (see hookpost.core.ids).
#: Event ids may be chosen by the publisher, so anything else is read as an event id,
#: and an id not found as what its prefix says is looked for as the others too.
_SEARCH_ORDER = {
    "dlv_": ("delivery", "event", "endpoint"),
    "ep_": ("endpoint", "event", "delivery"),
}


async def search(request: Request, s: Surface, form: Form) -> Response:
    """The global search box: an event, delivery or endpoint id goes straight to its page."""
    q = _param(request, "q")
    if not q:
        return render(request, "search.html", {"q": q}, surface=s)
    st = store(request)
    lookups = {
        "event": (st.get_event, "/events/"),
        "delivery": (st.get_delivery, "/deliveries/"),
        "endpoint": (st.get_endpoint, "/endpoints/"),
    }
    order = next(
        (kinds for prefix, kinds in _SEARCH_ORDER.items() if q.startswith(prefix)),
        ("event", "delivery", "endpoint"),
    )
    for kind in order:
        find, path = lookups[kind]
        try:
            await find(s.project_id, q)
        except NotFound:
            continue
        return redirect(s.url(path + q), status=302)
    return render(request, "search.html", {"q": q}, surface=s, status=404)


async def deliveries(request: Request, s: Surface, form: Form) -> Response:
    status = _param(request, "status")
    filters = {
        "status": status if status in STATUSES else "",
        "endpoint_id": _param(request, "endpoint_id", 40),
        "event_type": _param(request, "event_type"),
        "event_id": _param(request, "event_id"),
    }
    page = await store(request).list_deliveries(
        s.project_id,
        limit=PAGE_SIZE,
        cursor=cursor_param(request),
        **{k: v or None for k, v in filters.items()},
    )
    return render(
        request,
        "deliveries.html",
        {
            "deliveries": [shapes.delivery(d) for d in page.data],
            "next_cursor": page.next_cursor,
            "filters": filters,
            "statuses": STATUSES,
            "labels": await _labels(request, s),
            "notice": notice(request),
        },
        surface=s,
    )


async def failed_page(
    request: Request,
    s: Surface,
    *,
    values: dict[str, str] | None = None,
    errors: FieldErrors | None = None,
    count: int | None = None,
    status: int = 200,
) -> Response:
    """Failed deliveries; ``count``: how many the bulk form would resend (asks to confirm)."""
    st = store(request)
    page = await st.list_deliveries(
        s.project_id, limit=PAGE_SIZE, cursor=cursor_param(request), status=DeliveryStatus.FAILED
    )
    jobs = await st.list_jobs(s.project_id, limit=5, cursor=None)
    default_since = iso(now(request) - 86400) or ""
    return render(
        request,
        "failed.html",
        {
            "deliveries": [shapes.delivery(d) for d in page.data],
            "next_cursor": page.next_cursor,
            "jobs": [shapes.job(j) for j in jobs.data],
            "labels": await _labels(request, s),
            "values": values or {"since": default_since[:16], "endpoint_id": ""},
            "errors": errors or {},
            "count": count,
            "notice": notice(request),
        },
        surface=s,
        status=status,
    )


async def failed(request: Request, s: Surface, form: Form) -> Response:
    return await failed_page(request, s)


async def delivery(request: Request, s: Surface, form: Form) -> Response:
    st = store(request)
    row = await st.get_delivery(s.project_id, request.path_params["delivery_id"])
    d = shapes.delivery(row, bodies=s.can(roles.PAYLOADS_READ))
    for a in d["attempts"]:
        # A broker attempt (issue 19) was a publish: there is no curl for it.
        url, headers, body = a["url"], a["request_headers"], a["request_body"]
        hidden = body is None  # a viewer the project hides bodies from: no curl either
        broker = destination_url.is_broker(url)
        a["curl"] = None if broker or hidden else curl_command(url, headers, body)
    d["attempts"].reverse()  # newest first: that is what one comes to look at
    try:
        ep = shapes.endpoint(await st.get_endpoint(s.project_id, d["endpoint_id"]))
    except NotFound:
        ep = None
    return render(
        request,
        "delivery.html",
        {"d": d, "ep": ep, "notice": notice(request)},
        surface=s,
    )
