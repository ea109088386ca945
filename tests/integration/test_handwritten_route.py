"""The hand-written publish handler answers every bad body exactly as FastAPI would.

Two routes take an ``EventIn`` body in one app with hookpost's error handlers:
one solved by FastAPI, one by :class:`~hookpost.web.handwritten.HandWrittenRoute`
with ``json_body`` and ``validated``. Each request of the table goes to both;
status, headers that matter and the JSON answer must be the same -- so the
publish route's 400/415/422 answers cannot drift from what FastAPI (and so the
rest of the API) says. The content-type rule is also checked against the
``email`` module's reading that FastAPI uses.
"""

from __future__ import annotations

import email.message
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request, Response

from hookpost.web import errors, handwritten
from hookpost.web.schemas import EventIn

_OK = {"event_type": "user.created", "payload": {"n": 1}}


def _app() -> FastAPI:
    app = FastAPI()
    errors.install(app, "sqlite:///unused.db")

    async def by_hand(request: Request) -> Response:
        sent = handwritten.validated(EventIn, await handwritten.json_body(request))
        return Response(sent.model_dump_json(), 202, media_type="application/json")

    fastapi_router = APIRouter()
    hand_router = APIRouter(route_class=handwritten.HandWrittenRoute)

    @fastapi_router.post("/fastapi/{project_id}", status_code=202)
    async def solved(project_id: str, body: EventIn) -> Response:
        return Response(body.model_dump_json(), 202, media_type="application/json")

    @hand_router.post("/hand/{project_id}", status_code=202)
    @handwritten.handled_by(by_hand)
    async def declared(project_id: str, body: EventIn) -> Response:
        raise AssertionError("the hand-written handler answers")  # pragma: no cover

    app.include_router(fastapi_router)
    app.include_router(hand_router)
    return app


#: (name, Content-Type or None, body bytes)
REQUESTS: list[tuple[str, str | None, bytes]] = [
    ("valid", "application/json", b'{"event_type":"user.created","payload":{"n":1}}'),
    ("charset param", "application/json; charset=utf-8", b'{"event_type":"a.b","payload":{}}'),
    ("+json subtype", "application/vnd.api+json", b'{"event_type":"a.b","payload":{}}'),
    ("upper case", "Application/JSON", b'{"event_type":"a.b","payload":{}}'),
    ("empty body", "application/json", b""),
    ("no content type", None, b'{"event_type":"a.b","payload":{}}'),
    ("form encoded", "application/x-www-form-urlencoded", b"event_type=a.b"),
    ("text plain", "text/plain", b'{"event_type":"a.b","payload":{}}'),
    ("no subtype", "application", b'{"event_type":"a.b","payload":{}}'),
    ("two slashes", "application/json/x", b'{"event_type":"a.b","payload":{}}'),
    ("invalid JSON", "application/json", b'{"event_type": '),
    ("trailing garbage", "application/json", b'{"event_type":"a.b","payload":{}} x'),
    ("a list", "application/json", b"[1, 2]"),
    ("a string", "application/json", b'"hello"'),
    ("null", "application/json", b"null"),
    ("missing fields", "application/json", b"{}"),
    ("bad event_type", "application/json", b'{"event_type":"not a type","payload":{}}'),
    ("payload a list", "application/json", b'{"event_type":"a.b","payload":[1]}'),
    ("unknown field", "application/json", b'{"event_type":"a.b","payload":{},"x":1}'),
    ("empty event_id", "application/json", b'{"event_type":"a.b","payload":{},"event_id":""}'),
    ("nested too deep", "application/json", b'{"event_type":"a.b","payload":' + b"[" * 5000),
    ("deep but valid", "application/json",
     b'{"event_type":"a.b","payload":{"a":' + b"[" * 3000 + b"]" * 3000 + b"}}"),
    ("long number", "application/json",
     b'{"event_type":"a.b","payload":{"n":' + b"9" * 5000 + b"}}"),
    ("not UTF-8", "application/json", b'{"event_type":"a.b","payload":{"s":"\xff"}}'),
    ("NaN", "application/json", b'{"event_type":"a.b","payload":{"n":NaN}}'),
]  # fmt: skip


@pytest.mark.parametrize(("name", "ctype", "body"), REQUESTS, ids=[r[0] for r in REQUESTS])
async def test_hand_written_answers_are_fastapis(name: str, ctype: str | None, body: bytes) -> None:
    transport = httpx.ASGITransport(app=_app())
    headers = {"content-type": ctype} if ctype is not None else {}
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answers: list[tuple[int, Any]] = []
        for prefix in ("fastapi", "hand"):
            r = await client.post(f"/{prefix}/p1", content=body, headers=headers)
            answers.append((r.status_code, r.json()))
    assert answers[0] == answers[1], name


@pytest.mark.parametrize("ctype", [r[1] for r in REQUESTS if r[1]] + ["", " ; x", "*/*"])
def test_content_type_rule_is_the_email_modules(ctype: str) -> None:
    message = email.message.Message()
    message["content-type"] = ctype
    sub = message.get_content_subtype()
    expected = message.get_content_maintype() == "application" and (
        sub == "json" or sub.endswith("+json")
    )
    assert handwritten.content_is_json(ctype) == expected


def _routed_app(*, overlapping: bool) -> tuple[FastAPI, APIRouter]:
    """Two routers under /v1; the second's POST .../events is tried first. With
    ``overlapping`` the first also has a route that would answer that path."""
    app = FastAPI()
    first, events = APIRouter(prefix="/things"), APIRouter(prefix="/things/{tid}/events")

    @first.get("/{tid}/events")
    async def listed(tid: str, request: Request) -> dict[str, Any]:
        return {"by": "first", "route": request.scope["route"].path}

    if overlapping:

        @first.post("/{tid}/{anything}")
        async def anything(tid: str, anything: str) -> dict[str, str]:
            return {"by": "first"}

    @events.post("")
    async def publish(tid: str, request: Request) -> dict[str, Any]:
        return {"by": "events", "tid": tid, "route": request.scope["route"].path}

    app.include_router(first, prefix="/v1")
    app.include_router(events, prefix="/v1")
    return app, events


async def test_a_router_tried_first_answers_as_in_the_declared_order() -> None:
    answers = []
    for first in (False, True):
        app, events = _routed_app(overlapping=False)
        spec = app.openapi()
        if first:
            assert handwritten.try_first(app, events, "POST", "/v1/things/{tid}/events")
            app.openapi_schema = None
            assert app.openapi() == spec  # the spec is the routes' as declared
            assert app.url_path_for("publish", tid="t1") == "/v1/things/t1/events"
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            answers.append([
                (r.status_code, r.json())
                for r in [
                    await client.post("/v1/things/t1/events"),
                    await client.get("/v1/things/t1/events"),  # another method: declared order
                    await client.post("/v1/other/events"),  # ends the same, no route: 404
                ]
            ])  # fmt: skip
    assert answers[0] == answers[1]
    assert answers[1][0] == (200, {"by": "events", "tid": "t1", "route": "/things/{tid}/events"})
    assert answers[1][1][1]["by"] == "first" and answers[1][2][0] == 404


def test_a_router_is_not_tried_first_when_a_route_before_it_answers_the_path() -> None:
    app, events = _routed_app(overlapping=True)
    routes = list(app.router.routes)
    assert not handwritten.try_first(app, events, "POST", "/v1/things/{tid}/events")
    assert app.router.routes == routes
