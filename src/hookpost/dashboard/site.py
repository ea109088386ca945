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
    Who,
    admin_token,
    check_csrf,
    check_origin,
    dashboard_admin,
    operator_actor,
    operator_session,
    operator_surface,
    portal_surface,
    require,
    stranger,
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
from hookpost.dashboard.views import View
from hookpost.domain import roles, set_actor
from hookpost.services import accounts
from hookpost.store.sessions import end_session, open_session
from hookpost.web import render as shapes
from hookpost.web.deps import auth_lockout, note_auth_failure, record_refusal
from hookpost.web.links import served_over_https
from hookpost.web.schemas import ProjectIn

Access = Literal["read", "manage", "operator"]

R = roles
#: (method, path under the project's base, route name, view, access, permission):
#: ``access`` says which surfaces have the page (``operator``: not portal links),
#: ``permission`` what the viewer must hold (an operator's role, a link's scope).
PROJECT_PAGES: tuple[tuple[str, str, str, View, Access, str], ...] = (
    ("GET", "", "overview", views.overview, "read", R.PROJECTS_READ),
    ("POST", "/portal-link", "portal_link", actions.portal_link, "operator", R.PORTAL_WRITE),
    ("POST", "/settings", "settings", actions.save_settings, "operator", R.SETTINGS_WRITE),
    ("GET", "/endpoints", "endpoints", views.endpoints, "read", R.PROJECTS_READ),
    ("GET", "/endpoints/new", "endpoint_new", views.endpoint_new, "manage", R.ENDPOINTS_WRITE),
    (
        "POST",
        "/endpoints/new",
        "endpoint_create",
        actions.create_endpoint,
        "manage",
        R.ENDPOINTS_WRITE,
    ),
    ("GET", "/endpoints/{endpoint_id}", "endpoint", views.endpoint, "read", R.PROJECTS_READ),
    (
        "GET",
        "/endpoints/{endpoint_id}/edit",
        "endpoint_edit",
        views.endpoint_edit,
        "manage",
        R.ENDPOINTS_WRITE,
    ),
    (
        "POST",
        "/endpoints/{endpoint_id}/edit",
        "endpoint_save",
        actions.edit_endpoint,
        "manage",
        R.ENDPOINTS_WRITE,
    ),
    (
        "POST",
        "/endpoints/{endpoint_id}/enabled",
        "endpoint_enabled",
        actions.set_enabled,
        "manage",
        R.ENDPOINTS_TOGGLE,
    ),
    (
        "POST",
        "/endpoints/{endpoint_id}/release-held",
        "endpoint_release",
        actions.release_held,
        "manage",
        R.DELIVERIES_RESEND,
    ),
    (
        "POST",
        "/endpoints/{endpoint_id}/reveal-secret",
        "endpoint_reveal",
        actions.reveal_secret,
        "manage",
        R.SECRETS_READ,
    ),
    (
        "POST",
        "/endpoints/{endpoint_id}/reveal-headers",
        "endpoint_reveal_headers",
        actions.reveal_headers,
        "operator",
        R.SECRETS_READ,
    ),
    (
        "POST",
        "/endpoints/{endpoint_id}/rotate-secret",
        "endpoint_rotate",
        actions.rotate_secret,
        "manage",
        R.ENDPOINTS_WRITE,
    ),
    (
        "POST",
        "/endpoints/{endpoint_id}/test",
        "endpoint_test",
        actions.send_test,
        "manage",
        R.ENDPOINTS_WRITE,
    ),
    (
        "POST",
        "/endpoints/{endpoint_id}/recover",
        "endpoint_recover",
        actions.recover_endpoint,
        "manage",
        R.DELIVERIES_RESEND,
    ),
    ("GET", "/event-types", "event_types", views.event_types, "read", R.PROJECTS_READ),
    ("GET", "/events", "events", views.events, "read", R.PROJECTS_READ),
    ("GET", "/events/{event_id}", "event", views.event, "read", R.PROJECTS_READ),
    ("GET", "/search", "search", views.search, "read", R.PROJECTS_READ),
    ("GET", "/deliveries", "deliveries", views.deliveries, "read", R.PROJECTS_READ),
    ("GET", "/deliveries/{delivery_id}", "delivery", views.delivery, "read", R.PROJECTS_READ),
    (
        "POST",
        "/deliveries/resend",
        "deliveries_resend",
        actions.resend_selected,
        "manage",
        R.DELIVERIES_RESEND,
    ),
    (
        "POST",
        "/deliveries/{delivery_id}/resend",
        "delivery_resend",
        actions.resend,
        "manage",
        R.DELIVERIES_RESEND,
    ),
    ("GET", "/failed", "failed", views.failed, "read", R.PROJECTS_READ),
    ("POST", "/failed/resend", "failed_resend", actions.recover, "manage", R.DELIVERIES_RESEND),
)

SurfaceDep = Callable[[Request], Awaitable[Surface]]


def _guarded(
    view: View, surface: SurfaceDep, access: Access, permission: str
) -> Callable[..., Awaitable[Response]]:
    # A default, not Annotated[...]: with postponed annotations FastAPI could not
    # resolve ``surface``, a closure variable, from the annotation string.
    async def handler(request: Request, s: Surface = Depends(surface)) -> Response:
        if access == "operator" and not s.operator:
            raise PageError(403, "Not allowed", "Only the operator can do this.")
        if not s.can(permission):
            if s.is_portal:
                raise PageError(
                    403, "Not allowed", "This link lets you view this project, not change it."
                )
            raise PageError(
                403,
                "Not allowed",
                f"This needs permission {permission}, which your role does not have.",
            )
        form = Form()
        if request.method == "POST":
            form = await read_form(request)
            check_csrf(request, s.csrf, form)
        return await view(request, s, form)

    return handler


def _add_project_pages(router: APIRouter, prefix: str, surface: SurfaceDep, kind: str) -> None:
    for method, path, name, view, access, permission in PROJECT_PAGES:
        if kind == "portal" and access == "operator":
            continue
        router.add_api_route(
            prefix + path,
            _guarded(view, surface, access, permission),
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
    return _login_form(request, next_=request.query_params.get("next", ""))


def _login_form(
    request: Request,
    *,
    next_: str,
    email: str = "",
    error: str | None = None,
    token_error: str | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "login.html",
        {
            "next": next_,
            "configured": bool(admin_token(request)),
            "email": email,
            "error": error,
            "token_error": token_error,
        },
        status=status,
    )


def _locked_out(request: Request, retry_after: str) -> Response:
    page = error_page(
        request,
        429,
        "Too many attempts",
        f"Too many wrong tokens or passwords. Try again in {retry_after} s.",
    )
    page.headers["Retry-After"] = retry_after
    return page


@router.post("/login")
async def login(request: Request) -> Response:
    """Sign in with an email and password, or (break-glass) with the admin token.

    Wrong answers count against the client's address and, for a password,
    the account (``web.deps.auth_lockout``): 429 with Retry-After past the burst.
    """
    check_origin(request)
    form = await read_form(request)
    next_ = form.one("next")
    if not admin_token(request):  # sessions are signed with a key derived from it
        return _login_form(request, next_=next_, status=503)
    if not form.has("token"):
        return await _password_login(request, form)
    token = form.one("token").strip()
    retry_after = auth_lockout(request)
    if retry_after is not None:
        return _locked_out(request, retry_after)
    if not token_matches(request, token):
        if token:
            note_auth_failure(request)
            set_actor(stranger(request))
            await record_refusal(request, "session.sign_in_failed", "session", "wrong admin token")
        error = "That is not the admin token." if token else "Enter the admin token."
        return _login_form(request, next_=next_, token_error=error, status=401)
    set_actor(dashboard_admin(request))
    return await _signed_in(request, next_, None)


async def _password_login(request: Request, form: Form) -> Response:
    email, password, next_ = form.one("email").strip(), form.one("password"), form.one("next")
    if not email or not password:
        error = "Enter your email and password."
        return _login_form(request, next_=next_, email=email, error=error, status=401)
    retry_after = auth_lockout(request, email)
    if retry_after is not None:
        return _locked_out(request, retry_after)
    set_actor(stranger(request, email))  # who tried; the entry of a refusal names the email
    operator = await accounts.sign_in(store(request), email, password)
    if operator is None:
        note_auth_failure(request, email)
        reason = "wrong email or password"
        await record_refusal(request, "session.sign_in_failed", "session", reason)
        error = "That email and password do not match an active operator."
        return _login_form(request, next_=next_, email=email, error=error, status=401)
    set_actor(operator_actor(request, operator["id"], operator["email"]))
    return await _signed_in(request, next_, operator["id"])


async def _signed_in(request: Request, next_: str, operator_id: str | None) -> Response:
    """Open a session (of ``operator_id``, or the admin token's) and go where asked."""
    token = admin_token(request)
    policy = session_policy(request)
    signer = dashboard(request).signer
    value, session = signer.open_session(token, now(request), policy.max_seconds)
    await open_session(
        store(request), session.sid, signer.token_mark(token), policy, operator_id=operator_id
    )
    root = root_path(request)
    response = redirect(_safe_next(next_, root))
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


def _session_csrf(request: Request, who: Who) -> str:
    return dashboard(request).signer.csrf_token(who.sid)


def _signed_out(request: Request) -> Response:
    root = root_path(request)
    response = redirect(root + "/login")
    response.delete_cookie(SESSION_COOKIE, path=root or "/")
    return response


@router.post("/logout")
async def logout(request: Request, who: Annotated[Who, Depends(operator_session)]) -> Response:
    check_csrf(request, _session_csrf(request, who), await read_form(request))
    await end_session(store(request), who.sid, sign_out=True)
    return _signed_out(request)


@router.post("/logout-everywhere")
async def logout_everywhere(
    request: Request, who: Annotated[Who, Depends(operator_session)]
) -> Response:
    """End every session of this operator (the admin token: every admin-token session)."""
    check_csrf(request, _session_csrf(request, who), await read_form(request))
    await store(request).end_sessions_of(who.operator_id)
    return _signed_out(request)


async def _projects_page(
    request: Request,
    who: Who,
    *,
    created: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    name: str = "",
    status: int = 200,
) -> Response:
    page = await store(request).list_projects(
        limit=100, cursor=views.cursor_param(request), only=who.projects
    )
    return render(
        request,
        "projects.html",
        {
            "projects": [shapes.project(p) for p in page.data],
            "next_cursor": page.next_cursor,
            "csrf": _session_csrf(request, who),
            "who": who,
            "can_create": who.may(roles.PROJECTS_WRITE) and who.projects is None,
            "created": created,
            "errors": errors or {},
            "name": name,
        },
        status=status,
    )


@router.get("/audit", name="audit")
async def audit_log(request: Request, who: Annotated[Who, Depends(operator_session)]) -> Response:
    require(who, roles.AUDIT_READ)
    csrf = _session_csrf(request, who)
    return await audit.audit_page(request, csrf=csrf, within=who.projects)


@router.get("/audit/export", name="audit_export")
async def audit_log_export(
    request: Request, who: Annotated[Who, Depends(operator_session)]
) -> Response:
    require(who, roles.AUDIT_READ)
    return await audit.audit_export(request, who.projects)


@router.get("/", name="projects")
async def projects(request: Request, who: Annotated[Who, Depends(operator_session)]) -> Response:
    return await _projects_page(request, who)


@router.post("/projects")
async def create_project(
    request: Request, who: Annotated[Who, Depends(operator_session)]
) -> Response:
    form = await read_form(request)
    check_csrf(request, _session_csrf(request, who), form)
    require(who, roles.PROJECTS_WRITE)
    if who.projects is not None:
        raise PageError(
            403, "Not allowed", "An operator limited to some projects cannot create projects."
        )
    try:
        body = ProjectIn.model_validate({"name": form.one("name").strip()})
    except ValidationError as exc:
        return await _projects_page(
            request, who, errors=pydantic_errors(exc), name=form.one("name"), status=422
        )
    project, key = await store(request).create_project(body.name)
    return await _projects_page(request, who, created={**shapes.project(project), "api_key": key})
