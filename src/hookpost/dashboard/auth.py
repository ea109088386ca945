"""Who is looking: the operator's session, a portal link's grant, and CSRF checks.

Operator: signing in with the admin token sets an HttpOnly, SameSite=Strict
cookie holding a signed session (never the token itself), good only while
its server-side row is (:mod:`hookpost.store.sessions`): sign-out, a new
admin token and the idle and absolute lifetimes end it. Portal: the signed
token in the URL path is the whole credential -- no cookie, so it works inside
a third-party iframe where browsers drop cookies.

Every POST of either surface must carry the surface's CSRF token (derived from
the session id or the portal token) and, when the browser sends an Origin
header, come from this origin. SameSite=Strict already keeps the operator
cookie off cross-site requests; the token is the second lock, and the one
that covers the cookie-less portal forms.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from fastapi import Request

from hookpost.dashboard.forms import Form
from hookpost.dashboard.html import LoginRequired, PageError, root_path
from hookpost.dashboard.state import SESSION_COOKIE, dashboard, now, session_policy, store
from hookpost.dashboard.surface import Surface
from hookpost.dashboard.tokens import Session
from hookpost.domain import Actor, NotFound, set_actor
from hookpost.store.sessions import check_session
from hookpost.web.state import runtime


def admin_token(request: Request) -> str:
    return runtime(request).settings.admin_token or ""


def token_matches(request: Request, given: str) -> bool:
    expected = admin_token(request)
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


async def operator_session(request: Request) -> Session:
    value = request.cookies.get(SESSION_COOKIE, "")
    token = admin_token(request)
    if not value or not token:
        raise LoginRequired
    signer = dashboard(request).signer
    session = signer.read_session(value, token, now(request))
    if session is None:
        raise LoginRequired
    # The poller's requests read the session without keeping it alive.
    active = request.query_params.get("fragment") is None
    mark = signer.token_mark(token)
    if not await check_session(
        store(request), session.sid, mark, session_policy(request), touch=active
    ):
        raise LoginRequired
    set_actor(dashboard_admin(request))
    return session


def dashboard_admin(request: Request) -> Actor:
    """Whoever signs in to the dashboard with the admin token, from this request's address."""
    address = request.client.host if request.client else None
    return Actor("admin", label="admin token (dashboard)", address=address)


def portal_fingerprint(token: str) -> str:
    """A short, stable name for a portal link (never the link): 16 hex of its SHA-256.

    The audit log names the link by it where it was issued and where it acted.
    """
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def check_origin(request: Request) -> None:
    """403 for a POST whose Origin header names another site."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    # Host only, not scheme: behind a TLS-terminating proxy the browser says
    # https while this process sees http, and the host is what identifies us --
    # the request's, or HOOKPOST_PUBLIC_URL's when a proxy rewrites Host.
    public = runtime(request).settings.public_url
    ours = {request.headers.get("host", ""), urlsplit(public).netloc if public else ""}
    if urlsplit(origin).netloc not in ours - {""}:
        raise PageError(403, "Not allowed", "This form was sent from another site.")


def check_csrf(request: Request, surface_csrf: str, form: Form) -> None:
    check_origin(request)
    given = form.one("csrf")
    if not given or not hmac.compare_digest(given, surface_csrf):
        raise PageError(
            403,
            "Form expired",
            "This form was not issued by this page (or your session changed). "
            "Go back, reload the page and try again.",
        )


async def operator_surface(request: Request) -> Surface:
    session = await operator_session(request)
    project_id = str(request.path_params["project_id"])
    project = await store(request).get_project(project_id)  # NotFound -> 404 page
    return Surface(
        kind="operator",
        project=project,
        base=f"{root_path(request)}/projects/{project_id}",
        can_manage=True,
        csrf=dashboard(request).signer.csrf_token(session.sid),
        operator=True,
    )


async def portal_surface(request: Request) -> Surface:
    token = str(request.path_params["token"])
    signer = dashboard(request).signer
    grant = signer.read_portal(token, now(request))  # LinkInvalid / LinkExpired -> pages
    fingerprint = portal_fingerprint(token)
    address = request.client.host if request.client else None
    set_actor(Actor("portal", id=fingerprint, label=f"portal link {fingerprint}", address=address))
    try:
        project = await store(request).get_project(grant.project_id)
    except NotFound:
        raise PageError(404, "Not found", "This project no longer exists.") from None
    return Surface(
        kind="portal",
        project=project,
        base=f"{root_path(request)}/portal/{token}",
        can_manage=grant.scope == "manage",
        csrf=signer.csrf_token("portal:" + token),
        expires_at=grant.expires_at,
    )
