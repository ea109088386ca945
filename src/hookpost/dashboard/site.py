"""The dashboard's URL map: sign-in, the projects list, and the project pages twice.

The project pages are registered once under ``/projects/{project_id}`` (the
operator, signed in) and once under ``/portal/{token}`` (a customer with a
signed link), from one table. Each route's wrapper is the chokepoint for
what the table says: who may see it (``read``), change through it
(``manage``: operator or a manage-scope link) or only the operator
(``operator``), and -- for every POST -- the form's CSRF token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError

from hookpost.dashboard import actions, audit, views
from hookpost.dashboard.auth import (
    admin_token,
    check_csrf,
    check_origin,
    dashboard_admin,
    operator_session,
    operator_surface,
    portal_surface,
    token_matches,
)
from hookpost.dashboard.forms import Form, pydantic_errors, read_form
from hookpost.dashboard.html import (
    HtmlRoute,
    PageError,
    error_page,
    redirect,
    render,
    root_path,
)
from hookpost.dashboard.state import SESSION_COOKIE, dashboard, now, session_policy, store
from hookpost.dashboard.surface import Surface
from hookpost.dashboard.tokens import Session
from hookpost.dashboard.views import View
from hookpost.domain import set_actor
from hookpost.store.sessions import end_session, open_session
from hookpost.web import render as shapes
from hookpost.web.deps import auth_lockout, note_auth_failure
from hookpost.web.links import served_over_https
from hookpost.web.schemas import ProjectIn

Access = Literal["read", "manage", "operator"]

#: (method, path under the project's base, route name, view, access)
PROJECT_PAGES: tuple[tuple[str, str, str, View, Access], ...] = (
    ("GET", "", "overview", views.overview, "read"),
    ("POST", "/portal-link", "portal_link", actions.portal_link, "operator"),
    ("GET", "/endpoints", "endpoints", views.endpoints, "read"),
    ("GET", "/endpoints/new", "endpoint_new", views.endpoint_new, "manage"),
    ("POST", "/endpoints/new", "endpoint_create", actions.create_endpoint, "manage"),
    ("GET", "/endpoints/{endpoint_id}", "endpoint", views.endpoint, "read"),
    ("GET", "/endpoints/{endpoint_id}/edit", "endpoint_edit", views.endpoint_edit, "manage"),
    ("POST", "/endpoints/{endpoint_id}/edit", "endpoint_save", actions.edit_endpoint, "manage"),
    ("POST", "/endpoints/{endpoint_id}/enabled", "endpoint_enabled", actions.set_enabled, "manage"),
    (
        "POST",
        "/endpoints/{endpoint_id}/release-held",
        "endpoint_release",
        actions.release_held,
        "manage",
    ),
    (
        "POST",
        "/endpoints/{endpoint_id}/reveal-secret",
        "endpoint_reveal",
        actions.reveal_secret,
        "manage",
    ),
    (
        "POST",
        "/endpoints/{endpoint_id}/reveal-headers",
        "endpoint_reveal_headers",
        actions.reveal_headers,
        "operator",
    ),
    (
        "POST",
        "/endpoints/{endpoint_id}/rotate-secret",
        "endpoint_rotate",
        actions.rotate_secret,
        "manage",
    ),
    ("POST", "/endpoints/{endpoint_id}/test", "endpoint_test", actions.send_test, "manage"),
    (
        "POST",
        "/endpoints/{endpoint_id}/recover",
        "endpoint_recover",
        actions.recover_endpoint,
        "manage",
    ),
    ("GET", "/event-types", "event_types", views.event_types, "read"),
    ("GET", "/events", "events", views.events, "read"),
    ("GET", "/events/{event_id}", "event", views.event, "read"),
    ("GET", "/search", "search", views.search, "read"),
    ("GET", "/deliveries", "deliveries", views.deliveries, "read"),
    ("GET", "/deliveries/{delivery_id}", "delivery", views.delivery, "read"),
    ("POST", "/deliveries/resend", "deliveries_resend", actions.resend_selected, "manage"),
    ("POST", "/deliveries/{delivery_id}/resend", "delivery_resend", actions.resend, "manage"),
    ("GET", "/failed", "failed", views.failed, "read"),
    ("POST", "/failed/resend", "failed_resend", actions.recover, "manage"),
)

SurfaceDep = Callable[[Request], Awaitable[Surface]]


def _guarded(view: View, surface: SurfaceDep, access: Access) -> Callable[..., Awaitable[Response]]:
    # A default, not Annotated[...]: with postponed annotations FastAPI could not
    # resolve ``surface``, a closure variable, from the annotation string.
    async def handler(request: Request, s: Surface = Depends(surface)) -> Response:
        if access == "manage" and not s.can_manage:
            raise PageError(
                403, "Not allowed", "This link lets you view this project, not change it."
            )
        if access == "operator" and not s.operator:
            raise PageError(403, "Not allowed", "Only the operator can do this.")
        form = Form()
        if request.method == "POST":
            form = await read_form(request)
            check_csrf(request, s.csrf, form)
        return await view(request, s, form)

    return handler


def _add_project_pages(router: APIRouter, prefix: str, surface: SurfaceDep, kind: str) -> None:
    for method, path, name, view, access in PROJECT_PAGES:
        if kind == "portal" and access == "operator":
            continue
        router.add_api_route(
            prefix + path,
            _guarded(view, surface, access),
            methods=[method],
            name=f"{kind}_{name}",
            response_class=Response,
        )


router = APIRouter(route_class=HtmlRoute, include_in_schema=False)
_add_project_pages(router, "/projects/{project_id}", operator_surface, "operator")
_add_project_pages(router, "/portal/{token}", portal_surface, "portal")


# -- sign-in and the projects list (operator only) ------------------------------


_FAVICON = resources.files("hookpost.dashboard").joinpath("static/favicon.svg").read_bytes()


@router.get("/favicon.ico", name="favicon")
async def favicon() -> Response:
    """Browsers ask for /favicon.ico on pages that name none (the API docs, JSON answers)."""
    return Response(
        _FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"}
    )


def _safe_next(target: str, root: str) -> str:
    """Only a path on this site (never ``//evil`` or an absolute URL) after sign-in."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return root + "/"


@router.get("/login", name="login")
async def login_page(request: Request) -> Response:
    configured = bool(admin_token(request))
    return render(
        request,
        "login.html",
        {"next": request.query_params.get("next", ""), "configured": configured},
    )


@router.post("/login")
async def login(request: Request) -> Response:
    check_origin(request)
    form = await read_form(request)
    token = form.one("token").strip()
    retry_after = auth_lockout(request)
    if retry_after is not None:
        page = error_page(
            request,
            429,
            "Too many attempts",
            f"Too many wrong tokens from this address. Try again in {retry_after} s.",
        )
        page.headers["Retry-After"] = retry_after
        return page
    set_actor(dashboard_admin(request))
    if not token_matches(request, token):
        if token:
            note_auth_failure(request)
            await store(request).record_audit(
                "session.sign_in_failed", "session", "", after={"reason": "wrong admin token"}
            )
        return render(
            request,
            "login.html",
            {
                "next": form.one("next"),
                "configured": bool(admin_token(request)),
                "error": "That is not the admin token." if token else "Enter the admin token.",
            },
            status=401,
        )
    policy = session_policy(request)
    signer = dashboard(request).signer
    value, session = signer.open_session(token, now(request), policy.max_seconds)
    await open_session(store(request), session.sid, signer.token_mark(token), policy)
    root = root_path(request)
    response = redirect(_safe_next(form.one("next"), root))
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=max(1, int(policy.max_seconds)),
        path=root or "/",
        httponly=True,
        samesite="strict",
        secure=served_over_https(request),
    )
    return response


def _session_csrf(request: Request, session: Session) -> str:
    return dashboard(request).signer.csrf_token(session.sid)


@router.post("/logout")
async def logout(
    request: Request, session: Annotated[Session, Depends(operator_session)]
) -> Response:
    check_csrf(request, _session_csrf(request, session), await read_form(request))
    await end_session(store(request), session.sid, sign_out=True)
    root = root_path(request)
    response = redirect(root + "/login")
    response.delete_cookie(SESSION_COOKIE, path=root or "/")
    return response


async def _projects_page(
    request: Request,
    session: Session,
    *,
    created: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    name: str = "",
    status: int = 200,
) -> Response:
    page = await store(request).list_projects(limit=100, cursor=views.cursor_param(request))
    return render(
        request,
        "projects.html",
        {
            "projects": [shapes.project(p) for p in page.data],
            "next_cursor": page.next_cursor,
            "csrf": _session_csrf(request, session),
            "created": created,
            "errors": errors or {},
            "name": name,
        },
        status=status,
    )


@router.get("/audit", name="audit")
async def audit_log(
    request: Request, session: Annotated[Session, Depends(operator_session)]
) -> Response:
    return await audit.audit_page(request, csrf=_session_csrf(request, session))


@router.get("/audit/export", name="audit_export")
async def audit_log_export(
    request: Request, session: Annotated[Session, Depends(operator_session)]
) -> Response:
    return await audit.audit_export(request)


@router.get("/", name="projects")
async def projects(
    request: Request, session: Annotated[Session, Depends(operator_session)]
) -> Response:
    return await _projects_page(request, session)


@router.post("/projects")
async def create_project(
    request: Request, session: Annotated[Session, Depends(operator_session)]
) -> Response:
    form = await read_form(request)
    check_csrf(request, _session_csrf(request, session), form)
    try:
        body = ProjectIn.model_validate({"name": form.one("name").strip()})
    except ValidationError as exc:
        return await _projects_page(
            request, session, errors=pydantic_errors(exc), name=form.one("name"), status=422
        )
    project, key = await store(request).create_project(body.name)
    return await _projects_page(
        request, session, created={**shapes.project(project), "api_key": key}
    )
