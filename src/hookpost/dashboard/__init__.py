"""The web dashboard (operators, at ``/``) and the customer portal (``/portal/<token>``).

Server-rendered with Jinja2; the only script is ``static/dashboard.js`` (live
updates and a copy button), and every page reads fine without it. Mounted on
the API's app by :func:`install`, so ``hookpost serve`` serves both.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from hookpost.api import errors
from hookpost.config import Settings
from hookpost.dashboard import portal_api, site
from hookpost.dashboard.html import make_templates
from hookpost.dashboard.keys import dashboard_key
from hookpost.dashboard.state import Dashboard
from hookpost.dashboard.tokens import Signer


def install(app: FastAPI, settings: Settings) -> None:
    """Add the portal-link API route, the dashboard pages and their static files."""
    app.state.dashboard = Dashboard(Signer(dashboard_key(settings)), make_templates())
    app.include_router(portal_api.router, prefix="/api/v1", responses=errors.documented_errors())
    app.include_router(site.router)
    app.mount(
        "/static",
        StaticFiles(packages=[("hookpost.dashboard", "static")]),
        name="static",
    )


__all__ = ["install"]
