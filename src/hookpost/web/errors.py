"""Every error is JSON: ``{"error": code, "message": text, "detail": [...]}``.

Validation errors name the field (``"message": "url: must include a host"``), so
an integrator can fix the request without guessing. The domain's errors, raised
by the store and the services, are mapped here once:
:class:`~hookpost.domain.NotFound` 404, :class:`~hookpost.domain.Conflict` 409,
:class:`~hookpost.domain.LimitReached` 409 ``limit_reached``,
:class:`~hookpost.domain.Invalid` 422 with one ``detail`` entry per field.

A database that is unreachable, times out or is full is not a bug: every route
answers ``503`` (``507`` for a full disk) with ``Retry-After`` and a message
that says what is wrong (see :mod:`hookpost.store.outage`), as an ordinary
answer on a connection that stays open. An exception left to Starlette would
become ``500 text/plain`` and a dropped keep-alive connection, so the client
could not tell whether its request was stored.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import sys
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hookpost.core import dburl, limits
from hookpost.domain import Conflict, Invalid, LimitReached, NotFound
from hookpost.store.outage import Outage, classify
from hookpost.web.state import store_if_open

log = logging.getLogger("hookpost.api")

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "database_unavailable",
    507: "database_full",
}

_DATABASE_ERRORS: tuple[type[Exception], ...] = (
    SQLAlchemyError,
    OSError,  # and TimeoutError, ConnectionRefusedError: asyncpg connecting
    sqlite3.Error,
)


def database_errors() -> tuple[type[Exception], ...]:
    """Exception types that may carry a database outage; :func:`classify` decides.

    asyncpg's own errors (raised by the paths that use its connection without
    SQLAlchemy's wrapper) join once asyncpg is imported -- by a PostgreSQL store,
    or by :func:`install` for a PostgreSQL URL; a SQLite server never imports it
    (about 3 MB of resident memory).
    """
    pg = sys.modules.get("asyncpg")
    if pg is None:
        return _DATABASE_ERRORS
    return (*_DATABASE_ERRORS, pg.PostgresError, pg.InterfaceError)


def error_response(
    status: int, message: str, detail: list[dict[str, Any]] | None = None, code: str | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": code or code_of(status), "message": message, "detail": detail or []},
        status_code=status,
    )


def code_of(status: int) -> str:
    """The ``error`` code of an answer with this status."""
    return _CODES.get(status, "error")


def detail_item(field: str, message: str, kind: str = "value_error") -> dict[str, Any]:
    """One ``detail`` item of an error answer."""
    return {"field": field, "message": message, "type": kind}


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


SEND_JSON = "send a JSON object with the header Content-Type: application/json"


def _not_json(request: Request) -> JSONResponse:
    """A body FastAPI did not read as JSON because its Content-Type said otherwise.

    Pydantic's own words for it ("Input should be a valid dictionary or object
    to extract fields from") send people looking at their JSON, not at the
    header that curl's ``-d`` sets to ``application/x-www-form-urlencoded``.
    """
    sent = request.headers.get("content-type")
    said = (
        f"this request's Content-Type is {sent!r}" if sent else "this request has no Content-Type"
    )
    return error_response(
        415,
        f"body: {SEND_JSON} ({said})",
        [{"field": "body", "message": SEND_JSON, "type": "content_type"}],
    )


#: pydantic's types for "this is not an object" (a JSON string, list or number as the body).
_NOT_AN_OBJECT = {"model_attributes_type", "model_type", "dict_type"}


def readable(err: Mapping[str, Any]) -> str:
    """One pydantic error in the API's words (the dashboard's forms use it too):
    no "Value error, " prefix, and a pattern said in words, never as its regex."""
    from hookpost.web.schemas import PATTERN_WORDS

    msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    if err.get("type") == "extra_forbidden":
        return "unknown field"
    if tuple(err.get("loc", ())) == ("body",) and err.get("type") in _NOT_AN_OBJECT:
        return "must be a JSON object"
    if err.get("type") == "string_pattern_mismatch":
        return PATTERN_WORDS.get(str((err.get("ctx") or {}).get("pattern")), msg)
    return msg


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    detail = []
    for err in exc.errors():
        loc = err.get("loc", ())
        if err.get("type") == "json_invalid":
            ctx = err.get("ctx") or {}
            return error_response(
                400,
                f"body: invalid JSON ({ctx.get('error', 'cannot parse')}): {SEND_JSON}",
                code="invalid_json",
            )
        if tuple(loc) == ("body",) and isinstance(err.get("input"), bytes | bytearray):
            return _not_json(request)  # only a non-JSON Content-Type leaves the body as bytes
        detail.append(problem(err))
    return error_response(422, detail_message(detail), detail)


def problem(err: Mapping[str, Any]) -> dict[str, Any]:
    """One of pydantic's errors as a ``detail`` item: the field and what is wrong, in words."""
    return {"field": _field(err.get("loc", ())), "message": readable(err), "type": err.get("type")}


def detail_message(detail: list[dict[str, Any]]) -> str:
    """The ``message`` of a 422: each field and what is wrong with it."""
    return "; ".join(f"{d['field']}: {d['message']}" for d in detail) or "invalid request"


def _unparsable(exc: BaseException | None) -> str | None:
    """Why a well-formed JSON body could not be parsed: beyond a parser's limit.

    FastAPI answers 400 "There was an error parsing the body" for any parse
    failure; these are valid JSON that exceeds a limit, so they are a 422.
    """
    if isinstance(exc, RecursionError):
        return (
            f"JSON nests too deeply (a payload, schema or filter may nest at most "
            f"{limits.MAX_DEPTH} levels)"
        )
    if isinstance(exc, ValueError) and "digits" in str(exc):
        return (
            f"a number is too long (a payload or any other field may hold integers of at "
            f"most {sys.get_int_max_str_digits()} digits)"
        )
    return None


_FIELD_MESSAGE = re.compile(r"([A-Za-z_][\w.\[\]-]*): (.+)", re.DOTALL)


def _named_field(status: int, message: str) -> list[dict[str, Any]] | None:
    """The ``detail`` of a 422 a route raised as ``"field: why"``: that field, that why.

    Routes word their own refusals of a query or path value this way
    (``cursor: is not a cursor this API returned``); the answer's ``detail``
    then names the field as a body refusal's does, so a client reads one place.
    """
    found = _FIELD_MESSAGE.fullmatch(message) if status == 422 else None
    return None if found is None else [detail_item(found[1], found[2])]


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and (why := _unparsable(exc.__cause__)):
        detail = [{"field": "body", "message": why, "type": "value_error"}]
        return error_response(422, f"body: {why}", detail)
    message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    resp = error_response(exc.status_code, message, _named_field(exc.status_code, message))
    if exc.headers:
        resp.headers.update(exc.headers)
    return resp


async def _not_found(request: Request, exc: Exception) -> JSONResponse:
    return error_response(404, f"{exc} not found")


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Invalid)
    detail = [detail_item(f, m) for f, m in exc.problems]
    return error_response(422, str(exc), detail)


async def _conflict(request: Request, exc: Exception) -> JSONResponse:
    field = getattr(exc, "field", None)
    detail = [detail_item(field, str(exc), "conflict")] if field else None
    return error_response(409, str(exc), detail)


async def _limit(request: Request, exc: Exception) -> JSONResponse:
    return error_response(409, str(exc), code="limit_reached")


def outage_response(outage: Outage) -> JSONResponse:
    resp = error_response(outage.status, outage.message, code=outage.code)
    resp.headers["Retry-After"] = str(outage.retry_after)
    return resp


def note_outage(request: Request, exc: BaseException) -> Outage | None:
    """The outage ``exc`` means, counted in the store's health (one log line per interval)."""
    store = store_if_open(request)
    if store is None:
        return classify(exc)
    route = getattr(request.scope.get("route"), "path", request.url.path)
    outage: Outage | None = store.health.note(exc, f"{request.method} {route}")
    return outage


async def _database(request: Request, exc: Exception) -> JSONResponse:
    outage = note_outage(request, exc)
    if outage is None:
        raise exc  # a bug, not an outage: Starlette's 500
    return outage_response(outage)


def install(app: FastAPI, database_url: str) -> None:
    """Map every error to its JSON answer; ``database_url`` says which driver's
    errors are database outages."""
    if not dburl.is_sqlite_url(database_url):
        import asyncpg  # noqa: F401  (its errors are handled below)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(Conflict, _conflict)
    app.add_exception_handler(LimitReached, _limit)
    app.add_exception_handler(Invalid, _invalid)
    for kind in database_errors():
        app.add_exception_handler(kind, _database)


class RejectNulMiddleware:
    """400 for a NUL byte in the path or query: no id or filter contains one, and
    PostgreSQL would refuse it deep inside a query (a 500)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = scope.get("raw_path") or scope.get("path", "").encode()
            query = scope.get("query_string", b"")
            for where, value in (("path", raw), ("query", query)):
                if b"%00" in value or b"\x00" in value:
                    resp = error_response(400, f"{where}: must not contain NUL characters")
                    await resp(scope, receive, send)
                    return
        await self.app(scope, receive, send)


#: How much of an oversize body is read and dropped after the 413, and for how
#: long, before the connection is closed anyway (see BodyLimitMiddleware).
LINGER_BYTES = 128 * 1024 * 1024
LINGER_SECONDS = 10.0
#: Give up sooner if the client sends nothing for this long.
LINGER_IDLE_SECONDS = 2.0


def replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands an app the body already read, then the rest of ``receive``."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class BodyLimitMiddleware:
    """Answer 413 for request bodies over ``max_bytes``, before any parsing.

    Checks Content-Length up front and counts streamed (chunked) bodies too,
    so a huge upload is refused without being held in memory.

    Most clients (``http.client``, ``urllib``, ``requests``) send the whole
    body before they read the answer; only curl waits for ``100 Continue``. A
    server that answers and closes while such a client is still sending resets
    the connection, and the client sees ``ConnectionResetError`` or
    ``BrokenPipeError`` instead of the 413 (a 6 MB publish did, every time).
    So the 413 is written first, then the rest of the body is read and dropped
    -- bounded by :data:`LINGER_BYTES`, :data:`LINGER_SECONDS` and
    :data:`LINGER_IDLE_SECONDS`, as a web server's lingering close is -- and
    only then is the answer finished and the connection closed.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    await self._reject(receive, send, more=True)
                    return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            body = message.get("body", b"")
            size += len(body)
            more = message.get("more_body", False)
            if size > self.max_bytes:
                await self._reject(receive, send, more=more)
                return
            chunks.append(body)
        await self.app(scope, replaying(b"".join(chunks), receive), send)

    async def _reject(self, receive: Receive, send: Send, *, more: bool) -> None:
        resp = error_response(413, f"body: request body is larger than {self.max_bytes} bytes")
        # Content-Length tells the client the answer is whole; the ASGI
        # response stays open (more_body) while the rest of the upload drains.
        resp.headers["Connection"] = "close"
        await send({"type": "http.response.start", "status": 413, "headers": resp.raw_headers})
        await send({"type": "http.response.body", "body": resp.body, "more_body": True})
        if more:
            await discard_body(receive)
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def discard_body(receive: Receive) -> int:
    """Read and drop what is left of a request body, within the linger bounds.

    Returns the number of bytes dropped. Stops at the end of the body, when
    the client disconnects, or when a bound is reached.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LINGER_SECONDS
    dropped = 0
    while dropped <= LINGER_BYTES:
        left = deadline - loop.time()
        if left <= 0:
            break
        try:
            message = await asyncio.wait_for(receive(), min(left, LINGER_IDLE_SECONDS))
        except TimeoutError:
            break
        if message["type"] != "http.request":
            break
        dropped += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return dropped
