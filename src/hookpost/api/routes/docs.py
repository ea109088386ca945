"""The API docs pages, offline: Swagger UI at ``/docs``, ReDoc at ``/redoc``.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, so on a machine
without internet ``/docs`` was a blank page, and every reader's browser told a
third party it was reading hookpost's docs. Here the scripts and styles come
from ``/docs/static``: the files shipped inside the ``fastapi-offline`` wheel
(Swagger UI 5 and ReDoc 2, kept current by that package), mounted as they are.

Two things in those bundles still reach out, and are switched off: Swagger UI
sends the spec to ``validator.swagger.io`` for a badge (``validatorUrl: null``)
and ReDoc's sidebar shows a logo from Redocly's CDN (hidden by a style rule,
and the page's Content-Security-Policy lets the browser load nothing from
another origin, so no future bundle can quietly start to).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = "/docs/static"

#: Inline script and styles are the pages' own (Swagger UI's start-up call, ReDoc's
#: styled components); everything fetched must come from this origin.
_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'"
)
#: ReDoc's "API docs by Redocly" link carries an image from their CDN.
_HIDE_REDOCLY = '<style>a[href*="redocly.com"]{display:none!important}</style>'

router = APIRouter(include_in_schema=False)


def _page(html: HTMLResponse) -> HTMLResponse:
    html.headers["Content-Security-Policy"] = _CSP
    html.headers["Referrer-Policy"] = "same-origin"
    return html


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return _page(
        get_swagger_ui_html(
            openapi_url=f"{root}/openapi.json",
            title="hookpost API - Swagger UI",
            oauth2_redirect_url=f"{root}/docs/oauth2-redirect",
            swagger_js_url=f"{root}{STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{root}{STATIC}/favicon.png",
            swagger_ui_parameters={"validatorUrl": None},
        )
    )


@router.get("/docs/oauth2-redirect")
async def swagger_ui_redirect() -> HTMLResponse:
    return _page(get_swagger_ui_oauth2_redirect_html())


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    page = get_redoc_html(
        openapi_url=f"{root}/openapi.json",
        title="hookpost API - ReDoc",
        redoc_js_url=f"{root}{STATIC}/redoc.standalone.js",
        redoc_favicon_url=f"{root}{STATIC}/favicon.png",
        with_google_fonts=False,
    )
    body = bytes(page.body).decode().replace("</head>", _HIDE_REDOCLY + "</head>", 1)
    return _page(HTMLResponse(body))


def install(app: FastAPI) -> None:
    """Serve the pages and the bundles (the app is made with ``docs_url=None``)."""
    app.mount(STATIC, StaticFiles(packages=[("fastapi_offline", "static")]), name="docs-static")
    app.include_router(router)
