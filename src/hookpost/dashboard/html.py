"""Rendering pages: templates, live fragments, security headers, and errors as pages.

Every dashboard response goes through :func:`render` (or :func:`error_page`),
so every one gets the same headers: a strict Content-Security-Policy (only
this origin's CSS and JS -- no inline script), ``no-store`` (pages show
payloads and secrets), ``same-origin`` referrers (portal links carry their
token in the path, so it must not leak to other sites; ``no-referrer`` would
also blank the Origin header the CSRF check reads), and framing refused on
operator pages but allowed on portal pages, which providers embed in their
own sites.

A page whose template has a ``live`` block can be asked for that block alone
(``?fragment=live``); the answer carries ``X-Live-Version``, a hash of the
fragment, so the poller in ``static/dashboard.js`` replaces the region only
when something changed.

:class:`HtmlRoute` turns the exceptions the store and the API helpers raise
(NotFound, Conflict, HTTPException, ...) into HTML pages with the right
status, so a browser never sees the JSON error body meant for API clients --
a database outage included: a page saying what is wrong, with 503 (507 for a
full disk) and ``Retry-After``, rather than a bare 500.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Coroutine, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, StrictUndefined, Template, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from hookpost.dashboard.state import dashboard, now
from hookpost.dashboard.surface import Surface
from hookpost.dashboard.tokens import LinkExpired, LinkInvalid
from hookpost.domain import Conflict, Invalid, NotFound
from hookpost.store.outage import Outage
from hookpost.web.errors import database_errors, note_outage
from hookpost.web.links import served_over_https

_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'"
)


class LoginRequired(Exception):
    """No valid operator session: send the browser to the sign-in page."""


class PageError(Exception):
    """An error to show as a page: ``PageError(403, "Not allowed", "why")``."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


def make_templates() -> Environment:
    env = Environment(
        loader=PackageLoader("hookpost.dashboard", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["ago"] = ago
    env.filters["short_id"] = short_id
    env.filters["short_url"] = short_url
    env.filters["pretty"] = pretty_json
    env.filters["pretty_body"] = pretty_body
    env.filters["schedule"] = schedule_text
    env.filters["ms"] = lambda v: f"{float(v):,.1f} ms"
    env.globals["ui"] = env.get_template("_ui.html").module
    return env


def _moment(value: str | float) -> datetime:
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def when(value: str | float | None) -> str:
    """An API timestamp (ISO string or epoch seconds) as ``2025-01-31 12:00:05 UTC``."""
    if value is None or value == "":
        return "—"
    return _moment(value).strftime("%Y-%m-%d %H:%M:%S UTC")


#: The service clock's time for the page being rendered (see :func:`render`), so
#: "3 min ago" agrees with the server's clock, a test's ManualClock included.
_RENDER_NOW: ContextVar[float | None] = ContextVar("dashboard_render_now", default=None)
_SPANS = ((86400, "d"), (3600, "h"), (60, "min"))


def ago(value: str | float | None) -> str:
    """``3 min ago``, ``in 2 h``, ``just now``; a date past 30 days (UTC on hover: :func:`when`).

    Whole minutes at least, so a live region changes at most once a minute.
    """
    if value is None or value == "":
        return "—"
    moment = _moment(value)
    now = _RENDER_NOW.get()
    if now is None:
        return when(value)
    delta = now - moment.timestamp()
    # A second of slack: a time stored to the whole second (a link's expiry) a day
    # ahead reads "in 1 d", not "in 23 h".
    size = abs(delta) + 1
    if size >= 30 * 86400:
        return moment.strftime("%d %b %Y")
    if size < 60:
        return "just now" if delta >= 0 else "in under a minute"
    count, unit = next((int(size // n), u) for n, u in _SPANS if size >= n)
    return f"{count} {unit} ago" if delta >= 0 else f"in {count} {unit}"


def short_id(value: str) -> str:
    """``dlv_01JH2K…9XQ4``: the prefix, the start and the end (in full on hover and copy)."""
    prefix, sep, rest = value.rpartition("_")
    if len(value) <= 18 or not sep or len(rest) < 16:
        return value
    return f"{prefix}_{rest[:4]}…{rest[-4:]}"


def short_url(url: str, limit: int = 42) -> str:
    """The URL without ``https://``, its middle elided past ``limit`` characters."""
    text = url.split("://", 1)[-1]
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    return f"{text[:head]}…{text[-(limit - head - 1) :]}"


def schedule_text(steps: list[float] | tuple[float, ...] | None) -> str:
    """Waits in the largest whole unit: ``[5, 300, 7200]`` -> ``"5s 5m 2h"``."""
    out = []
    for v in steps or ():
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            if v >= size and v % size == 0:
                out.append(f"{v / size:g}{unit}")
                break
        else:
            out.append(f"{v:g}s")
    return " ".join(out)


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


def pretty_body(text: str | None) -> str | None:
    """A body that is a JSON object or array, indented; None for anything else.

    Keys keep their order and numbers their spelling as far as Python's
    parser allows; the exact bytes stay one click away on the page.
    """
    if not text or text.lstrip()[:1] not in ("{", "["):
        return None
    try:
        return pretty_json(json.loads(text))
    except (ValueError, RecursionError):  # not JSON, or an excerpt cut mid-way
        return None


def root_path(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def is_portal_path(request: Request) -> bool:
    return request.url.path.startswith(root_path(request) + "/portal/")


def _block(template: Template, name: str, ctx: Mapping[str, Any]) -> str:
    return "".join(template.blocks[name](template.new_context(dict(ctx))))


def secure(response: Response, *, frameable: bool) -> Response:
    h = response.headers
    if frameable:
        # No frame-ancestors at all: "*" would still refuse some embedders
        # (it only matches the embedder's own scheme and network schemes).
        h["Content-Security-Policy"] = _CSP
    else:
        h["Content-Security-Policy"] = _CSP + "; frame-ancestors 'none'"
        h["X-Frame-Options"] = "DENY"
    h["X-Content-Type-Options"] = "nosniff"
    h["Referrer-Policy"] = "same-origin"
    h["Cache-Control"] = "no-store"
    return response


def render(
    request: Request,
    name: str,
    ctx: Mapping[str, Any] | None = None,
    *,
    surface: Surface | None = None,
    status: int = 200,
) -> Response:
    """A full page, or only its ``live`` block when the poller asks for it."""
    template = dashboard(request).templates.get_template(name)
    full: dict[str, Any] = {
        "request": request,
        "s": surface,
        "root": root_path(request),
        "notice": None,
        "error": None,
        "live_version": "",
        **(ctx or {}),
    }
    _RENDER_NOW.set(now(request))
    headers: dict[str, str] = {}
    if "live" in template.blocks:
        fragment = _block(template, "live", full)
        version = hashlib.sha256(fragment.encode()).hexdigest()[:16]
        headers["X-Live-Version"] = version
        if request.query_params.get("fragment") == "live":
            return secure(
                HTMLResponse(fragment, status, headers),
                frameable=surface is not None and surface.is_portal,
            )
        full["live_version"] = version
    response = HTMLResponse(template.render(full), status, headers)
    if FLASH_COOKIE in request.cookies:  # shown on this page: never again
        response.delete_cookie(FLASH_COOKIE, path=root_path(request) or "/")
    frameable = surface.is_portal if surface is not None else is_portal_path(request)
    return secure(response, frameable=frameable)


def redirect(url: str, *, status: int = 303) -> Response:
    """After a successful POST: 303 so a reload does not repeat the action."""
    return RedirectResponse(url, status_code=status)


#: What the next page should say once (``done`` code and ``n``), then forget.
FLASH_COOKIE = "hookpost_flash"
_FLASH_PARAMS = ("done", "n")


def notice_redirect(request: Request, url: str) -> Response:
    """Post/redirect/get with a one-shot notice: ``url``'s ``done``/``n`` go to a cookie.

    The page the browser lands on shows the notice and clears the cookie
    (:func:`render`), so a reload shows the page without it. A portal inside
    another site's iframe cannot keep a first-party cookie there (SameSite),
    so for a framed request the notice stays in the URL, and dashboard.js
    takes it out of the address once shown.
    """
    if request.headers.get("sec-fetch-dest") == "iframe":
        return redirect(url)
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query)
    flash = dict(p for p in pairs if p[0] in _FLASH_PARAMS)
    rest = urlencode([p for p in pairs if p[0] not in _FLASH_PARAMS])
    response = redirect(parts.path + ("?" + rest if rest else ""))
    if flash.get("done"):
        response.set_cookie(
            FLASH_COOKIE,
            urlencode(flash),
            max_age=60,
            path=root_path(request) or "/",
            httponly=True,
            samesite="lax",
            secure=served_over_https(request),
        )
    return response


def flash_params(request: Request) -> dict[str, str]:
    """The one-shot notice for this page: from the cookie, else from the URL (framed portal)."""
    cookie = request.cookies.get(FLASH_COOKIE)
    if cookie:
        return dict(p for p in parse_qsl(cookie) if p[0] in _FLASH_PARAMS)
    return {k: request.query_params[k] for k in _FLASH_PARAMS if k in request.query_params}


def error_page(request: Request, status: int, title: str, message: str) -> Response:
    portal = is_portal_path(request)
    home = None if portal else root_path(request) + "/"
    return render(
        request,
        "error.html",
        {"status": status, "title": title, "message": message, "home": home},
        status=status,
    )


_TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "Conflict",
    413: "Too large",
    422: "Invalid input",
    429: "Too many requests",
}


def _outage_page(request: Request, outage: Outage) -> Response:
    title = "Database full" if outage.kind == "full" else "Database unavailable"
    message = f"{outage.what[0].upper()}{outage.what[1:]}. Reload in {outage.retry_after} s."
    page = error_page(request, outage.status, title, message)
    page.headers["Retry-After"] = str(outage.retry_after)
    return page


class HtmlRoute(APIRoute):
    """An APIRoute whose errors are pages (and whose missing session is a redirect)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        inner = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await inner(request)
            except LoginRequired:
                if request.query_params.get("fragment"):
                    return error_page(request, 401, "Not signed in", "Your session has ended.")
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                login = root_path(request) + "/login?next=" + quote(target, safe="")
                return RedirectResponse(login, status_code=303)
            except LinkExpired:
                return error_page(
                    request,
                    401,
                    "This link has expired",
                    "Portal links work for a limited time. Ask for a new link from the "
                    "site that gave you this one.",
                )
            except LinkInvalid:
                return error_page(
                    request,
                    403,
                    "This link is not valid",
                    "The link is incomplete or has been changed. Open the link exactly as "
                    "you received it, or ask for a new one.",
                )
            except PageError as exc:
                return error_page(request, exc.status, exc.title, exc.message)
            except NotFound as exc:
                what = str(exc) or "page"
                return error_page(request, 404, "Not found", f"This {what} does not exist here.")
            except Conflict as exc:
                return error_page(request, 409, "Conflict", str(exc))
            except Invalid as exc:
                return error_page(request, 422, "Invalid input", str(exc))
            except StarletteHTTPException as exc:
                title = _TITLES.get(exc.status_code, "Error")
                return error_page(request, exc.status_code, title, str(exc.detail))
            except database_errors() as exc:
                outage = note_outage(request, exc)
                if outage is None:
                    raise
                return _outage_page(request, outage)

        return handler
