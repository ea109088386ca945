"""The web dashboard (operators, at ``/``) and the customer portal (``/portal/<token>``).

Server-rendered with Jinja2; the only script is ``static/dashboard.js`` (live
updates, copy buttons, the count of ticked rows, the tab bar's scroll hint),
and every page reads fine and every action works without it (a resend of
ticked rows, for one, is confirmed on a page the server counts). Mounted on
the API's app by :func:`install`, so ``hookpost serve`` serves both.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from hookpost.config import Settings
from hookpost.dashboard import operators, portal_api, site
from hookpost.dashboard.html import error_page, make_templates
from hookpost.dashboard.keys import dashboard_key
from hookpost.dashboard.state import Dashboard
from hookpost.dashboard.tokens import Signer
from hookpost.web import errors


def install(app: FastAPI, settings: Settings) -> None:
    """Add the portal-link API route, the dashboard pages and their static files."""
    app.state.dashboard = Dashboard(Signer(dashboard_key(settings)), make_templates())
    app.include_router(portal_api.router, prefix="/api/v1")
    app.include_router(site.router)
    app.include_router(operators.router)
    app.mount(
        "/static",
        StaticFiles(packages=[("hookpost.dashboard", "static")]),
        name="static",
    )
    app.add_exception_handler(StarletteHTTPException, _page_or_json)


async def _page_or_json(request: Request, exc: Exception) -> Response:
    """A browser asking for a page that does not exist gets a page; API clients, JSON."""
    assert isinstance(exc, StarletteHTTPException)
    wants_page = "text/html" in request.headers.get("accept", "")
    if exc.status_code == 404 and wants_page and not request.url.path.startswith("/api/"):
        return error_page(request, 404, "Not found", "There is no page at this address.")
    return await errors.http_error(request, exc)


__all__ = ["install"]
