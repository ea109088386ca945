"""Hand-written request handling for the hottest route, behind the one FastAPI declares.

FastAPI turns a route's signature into a tree of dependencies and solves it on
every request: the body read and validated, each dependency called with the
values it asks for, the results cached for the request. For the publish route
(hundreds of requests a second, issue 15) that solving cost about a fifth of the
API process's CPU -- more than the database. A route made with
:class:`HandWrittenRoute` keeps its declaration exactly as it is -- the
OpenAPI operation, its parameters, security, answers and docs come from the
decorated function as before -- but a request to it runs the handler given with
:func:`handled_by`, which calls the same dependencies itself, in the order
FastAPI would, and reads the body with :func:`json_body` and :func:`validated`,
FastAPI's own rules written out: the same 400/415/422 answers, field for field.

Only the path through FastAPI is replaced: the route's matching, its
``scope["route"]`` (which scopes and metrics read), the body-size limit and
the app's middleware and exception handlers are FastAPI's and Starlette's.

FastAPI matches a request against every route of every router included
before the one that answers it, each through its effective (prefixed)
context, then once more inside that router: for the publish route, behind
the projects', API keys' and endpoints' routers, that was a fifth of the
event loop's CPU under load. :func:`try_first` lets the app try one
router first for one method and path ending -- with FastAPI's own matching
and handling of that router, so nothing but the order of the tries changes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, APIRouter
from pydantic import BaseModel, ValidationError
from starlette.datastructures import URLPath
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

__all__ = [
    "HandWrittenRoute",
    "Missing",
    "content_is_json",
    "handled_by",
    "json_body",
    "try_first",
    "validated",
]

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
_F = TypeVar("_F", bound=Callable[..., Any])
_M = TypeVar("_M", bound=BaseModel)

_HANDLER = "__hookpost_handler__"


class HandWrittenRoute(APIRoute):
    """An ``APIRoute`` whose requests go to the endpoint's :func:`handled_by` handler,
    if it has one (an ``APIRouter(route_class=...)``: its other routes are FastAPI's)."""

    def get_route_handler(self) -> Handler:
        handler: Handler | None = getattr(self.endpoint, _HANDLER, None)
        return handler if handler is not None else super().get_route_handler()


def handled_by(handler: Handler) -> Callable[[_F], _F]:
    """Mark a declared endpoint as answered by ``handler`` (see the module)."""

    def mark(endpoint: _F) -> _F:
        setattr(endpoint, _HANDLER, handler)
        return endpoint

    return mark


class Missing:
    """No body was sent (FastAPI's ``Undefined``): a required body is a 422 ``missing``."""


MISSING = Missing()


def content_is_json(content_type: str) -> bool:
    """``application/json`` or ``application/*+json``, parameters ignored -- what FastAPI
    asks of ``email.message.Message``'s content type, without building one per request."""
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype.count("/") != 1:
        return False  # the email module reads it as text/plain
    main, sub = ctype.split("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


async def json_body(request: Request) -> Any:
    """The body as FastAPI reads it for a JSON body parameter.

    Parsed JSON when the Content-Type says JSON; the raw bytes when it says
    anything else or nothing (validation then refuses them: a 415);
    :data:`MISSING` when empty. Invalid JSON is FastAPI's ``json_invalid``
    validation error (a 400 ``invalid_json``); a body that cannot be read or
    parsed otherwise (too deep, a number too long) is its 400, which
    :mod:`hookpost.web.errors` words.
    """
    try:
        raw = await request.body()
        if not raw:
            return MISSING
        content_type = request.headers.get("content-type")
        if content_type and content_is_json(content_type):
            return json.loads(raw)
        return raw
    except json.JSONDecodeError as exc:
        error = {
            "type": "json_invalid",
            "loc": ("body", exc.pos),
            "msg": "JSON decode error",
            "input": {},
            "ctx": {"error": exc.msg},
        }
        raise RequestValidationError([error], body=exc.doc) from exc
    except HTTPException:
        raise
    except Exception as exc:
        raise HTTPException(400, "There was an error parsing the body") from exc


def validated(model: type[_M], body: Any) -> _M:
    """``body`` as ``model``, or FastAPI's 422: each error's ``loc`` under ``"body"``."""
    if isinstance(body, Missing):
        error = {"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}
        raise RequestValidationError([error], body=None)
    try:
        return model.model_validate(body, from_attributes=True)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors, body=body) from None


class _TriedFirst(BaseRoute):
    """The route FastAPI made of an included router, tried ahead of the app's other
    routes for ``method`` requests whose path ends with ``ending`` (see the module)."""

    def __init__(self, included: BaseRoute, method: str, ending: str) -> None:
        self._included = included
        self._method = method
        self._ending = ending

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if (
            scope["type"] == "http"
            and scope["method"] == self._method
            and scope["path"].endswith(self._ending)
        ):
            return self._included.matches(scope)
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._included.handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        raise NoMatchFound(name, path_params)  # found where it is declared, further on


def try_first(app: FastAPI, router: APIRouter, method: str, path: str) -> bool:
    """Have ``app`` try ``router`` (included already) first for a ``method`` request whose
    path ends as ``path`` does after its last ``}``; False, changing nothing, when the
    router is not found or a route before it would answer ``path`` itself -- the answer
    to every request stays the one the declared order gives."""
    routes = app.router.routes
    at = next(
        (i for i, r in enumerate(routes) if getattr(r, "original_router", None) is router), None
    )
    if at is None:
        return False
    probe = path.replace("{", "").replace("}", "")
    scope = {"type": "http", "method": method, "path": probe, "root_path": "", "path_params": {}}
    if any(r.matches(dict(scope))[0] is Match.FULL for r in routes[:at]):  # PARTIAL loses
        return False
    routes.insert(0, _TriedFirst(routes[at], method, path.rsplit("}", 1)[-1]))
    return True
