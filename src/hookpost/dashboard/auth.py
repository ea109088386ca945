"""Who is looking: the operator's session, a portal link's grant, and CSRF checks.

Operator: signing in -- with an email and password, or with the break-glass
admin token, which acts as an owner -- sets an HttpOnly, SameSite=Strict
cookie holding a signed session (never a credential), good only while its
server-side row is (:mod:`hookpost.store.sessions`): sign-out, "sign out
everywhere", a disabled operator, a new admin token and the idle and
absolute lifetimes end it. Every page re-reads the operator, so a role
change or a disable takes effect on the next click; what the role lets it
see and do is :mod:`hookpost.domain.roles`, the table the API reads too. Portal: the signed
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
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Request

from hookpost.dashboard.forms import Form
from hookpost.dashboard.html import LoginRequired, PageError, root_path
from hookpost.dashboard.state import SESSION_COOKIE, dashboard, now, session_policy, store
from hookpost.dashboard.surface import Surface
from hookpost.dashboard.tokens import Session
from hookpost.domain import Actor, NotFound, roles, set_actor
from hookpost.store.sessions import check_session
from hookpost.web.state import runtime


def admin_token(request: Request) -> str:
    return runtime(request).settings.admin_token or ""


def token_matches(request: Request, given: str) -> bool:
    expected = admin_token(request)
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True, slots=True)
class Who:
    """The signed-in operator: its session and what it may do.

    ``operator_id`` is None for the admin token, which acts as an owner.
    """

    session: Session
    operator_id: str | None
    email: str
    role: str
    #: Projects a limited operator may see (None: every project).
    projects: frozenset[str] | None = None

    @property
    def sid(self) -> str:
        return self.session.sid

    @property
    def label(self) -> str:
        return self.email if self.operator_id else "admin token"

    def may(self, permission: str) -> bool:
        return roles.allows(self.role, permission)

    def sees(self, project_id: str) -> bool:
        return self.projects is None or project_id in self.projects


async def operator_session(request: Request) -> Who:
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
    live = await check_session(
        store(request), session.sid, mark, session_policy(request), touch=active
    )
    if live is None:
        raise LoginRequired
    if live.operator_id is None:
        set_actor(dashboard_admin(request))
        return Who(session, None, "admin token", "owner")
    try:
        operator = await store(request).get_operator(live.operator_id)
    except NotFound:
        raise LoginRequired from None
    if operator["disabled_at"] is not None:
        raise LoginRequired
    set_actor(operator_actor(request, operator["id"], operator["email"]))
    projects = operator["projects"]
    return Who(
        session,
        operator["id"],
        operator["email"],
        operator["role"],
        None if projects is None else frozenset(projects),
    )


def require(who: Who, permission: str) -> None:
    """A 403 page naming ``permission`` unless the operator holds it."""
    if not who.may(permission):
        raise PageError(
            403,
            "Not allowed",
            f"This needs permission {permission}, which role {who.role} does not have.",
        )


def dashboard_admin(request: Request) -> Actor:
    """Whoever signs in to the dashboard with the admin token, from this request's address."""
    address = request.client.host if request.client else None
    return Actor("admin", label="admin token (dashboard)", address=address)


def stranger(request: Request, email: str = "") -> Actor:
    """Someone not signed in, trying to (a refused sign-in's entry): the email typed, if any.

    Not ``admin`` or ``operator``: a wrong admin token or password proves no identity,
    and a reader filtering the log by ``actor_kind=admin`` must not find a stranger's
    guesses among the admin's changes.
    """
    address = request.client.host if request.client else None
    return Actor("anonymous", label=email, address=address)


def operator_actor(request: Request, operator_id: str, email: str) -> Actor:
    """An operator (by the email it signed in with) acting from this request's address."""
    address = request.client.host if request.client else None
    return Actor("operator", id=operator_id, label=email, address=address)


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
    who = await operator_session(request)
    project_id = str(request.path_params["project_id"])
    if not who.sees(project_id):
        raise NotFound("project")  # the same page as a project that does not exist
    project = await store(request).get_project(project_id)  # NotFound -> 404 page
    permissions = roles.permissions_of(who.role)
    if roles.sees_payloads(who.role, bool(project.get("viewers_see_payloads"))):
        permissions |= {roles.PAYLOADS_READ}
    return Surface(
        kind="operator",
        project=project,
        base=f"{root_path(request)}/projects/{project_id}",
        can_manage=who.may(roles.ENDPOINTS_WRITE),
        csrf=dashboard(request).signer.csrf_token(who.sid),
        operator=True,
        permissions=permissions,
        who=who,
    )


#: What a portal link lets its holder do: view, or manage its own endpoints too.
PORTAL_VIEW = frozenset({roles.PROJECTS_READ, roles.PAYLOADS_READ})
PORTAL_MANAGE = PORTAL_VIEW | {
    roles.ENDPOINTS_WRITE,
    roles.ENDPOINTS_TOGGLE,
    roles.DELIVERIES_RESEND,
    roles.SECRETS_READ,
}


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
        permissions=PORTAL_MANAGE if grant.scope == "manage" else PORTAL_VIEW,
    )
