"""Who may do what: operator roles, their permissions, and the permission each route needs.

One table, read by the API (:func:`hookpost.web.deps.get_principal`) and the
dashboard (:mod:`hookpost.dashboard.site`) alike, so the two cannot disagree
about a role. Four roles, most powerful first:

- ``owner``: everything, operators and project settings included;
- ``admin``: projects, endpoints, API keys, portal links, resend/recover, secrets;
- ``operator``: sees everything but secrets; resends, recovers, enables and
  disables endpoints -- the support role;
- ``viewer``: reads only; no secrets, and no payload bodies unless the project
  allows it (its ``viewers_see_payloads`` setting).

A permission is a ``resource.verb`` string. :data:`API_ROUTES` maps each API
route (method and template, without the ``/api/v1`` prefix) to the one
permission it needs; a route missing from it is refused to every operator
(:func:`route_permission` answers None), and a test walks the app's routes so
that a new route cannot be forgotten. Project API keys are not roles: their
scopes (:mod:`hookpost.web.scopes`) keep deciding for them; the break-glass
admin token acts as an owner.
"""

from __future__ import annotations

from typing import Final, Literal

Role = Literal["owner", "admin", "operator", "viewer"]
ROLES: Final[tuple[Role, ...]] = ("owner", "admin", "operator", "viewer")

#: Read a project and everything in it (endpoints, events, deliveries, keys' prefixes).
PROJECTS_READ = "projects.read"
#: Create, rename and delete projects.
PROJECTS_WRITE = "projects.write"
#: A project's settings (``viewers_see_payloads``).
SETTINGS_WRITE = "settings.write"
#: Create, change, delete, test endpoints; rotate their secrets.
ENDPOINTS_WRITE = "endpoints.write"
#: Enable and disable endpoints.
ENDPOINTS_TOGGLE = "endpoints.toggle"
#: Event types and custom profiles.
CATALOG_WRITE = "catalog.write"
#: Publish events.
EVENTS_PUBLISH = "events.publish"
#: Resend, recover, release held deliveries.
DELIVERIES_RESEND = "deliveries.resend"
#: Issue and revoke project API keys.
KEYS_WRITE = "keys.write"
#: Make customer-portal links.
PORTAL_WRITE = "portal.write"
#: Reveal endpoint secrets and secret headers.
SECRETS_READ = "secrets.read"
#: See event payloads and attempts' request and response bodies.
PAYLOADS_READ = "payloads.read"
#: Invite, disable, reset and change the role of operators.
OPERATORS_MANAGE = "operators.manage"
#: One's own personal API tokens (every role).
TOKENS_OWN = "tokens.own"
#: Read the audit log.
AUDIT_READ = "audit.read"

PERMISSIONS: Final[tuple[str, ...]] = (
    PROJECTS_READ,
    PROJECTS_WRITE,
    SETTINGS_WRITE,
    ENDPOINTS_WRITE,
    ENDPOINTS_TOGGLE,
    CATALOG_WRITE,
    EVENTS_PUBLISH,
    DELIVERIES_RESEND,
    KEYS_WRITE,
    PORTAL_WRITE,
    SECRETS_READ,
    PAYLOADS_READ,
    OPERATORS_MANAGE,
    TOKENS_OWN,
    AUDIT_READ,
)

_VIEWER = frozenset({PROJECTS_READ, TOKENS_OWN})
_OPERATOR = _VIEWER | {PAYLOADS_READ, DELIVERIES_RESEND, ENDPOINTS_TOGGLE}
_ADMIN = _OPERATOR | {
    PROJECTS_WRITE,
    ENDPOINTS_WRITE,
    CATALOG_WRITE,
    EVENTS_PUBLISH,
    KEYS_WRITE,
    PORTAL_WRITE,
    SECRETS_READ,
    AUDIT_READ,
}
_OWNER = frozenset(PERMISSIONS)

ROLE_PERMISSIONS: Final[dict[str, frozenset[str]]] = {
    "owner": _OWNER,
    "admin": _ADMIN,
    "operator": _OPERATOR,
    "viewer": _VIEWER,
}

_P = "/projects/{project_id}"
_E = _P + "/endpoints/{endpoint_id}"

#: (method, route template without /api/v1) -> the permission it needs.
API_ROUTES: Final[dict[tuple[str, str], str]] = {
    ("POST", "/projects"): PROJECTS_WRITE,
    ("GET", "/projects"): PROJECTS_READ,
    ("GET", _P): PROJECTS_READ,
    ("PATCH", _P): PROJECTS_WRITE,
    ("DELETE", _P): PROJECTS_WRITE,
    ("PATCH", _P + "/settings"): SETTINGS_WRITE,
    ("POST", _P + "/api-keys"): KEYS_WRITE,
    ("GET", _P + "/api-keys"): PROJECTS_READ,
    ("DELETE", _P + "/api-keys/{key_id}"): KEYS_WRITE,
    ("POST", _P + "/endpoints"): ENDPOINTS_WRITE,
    ("GET", _P + "/endpoints"): PROJECTS_READ,
    ("GET", _E): PROJECTS_READ,
    # The least a PATCH needs: the route asks for endpoints.write unless only
    # ``enabled`` changes (see :func:`endpoint_patch_permission`).
    ("PATCH", _E): ENDPOINTS_TOGGLE,
    ("DELETE", _E): ENDPOINTS_WRITE,
    ("POST", _E + "/rotate-secret"): ENDPOINTS_WRITE,
    ("POST", _E + "/recover"): DELIVERIES_RESEND,
    ("POST", _E + "/test"): ENDPOINTS_WRITE,
    ("POST", _E + "/release-held"): DELIVERIES_RESEND,
    ("POST", _P + "/events"): EVENTS_PUBLISH,
    ("POST", _P + "/events/batch"): EVENTS_PUBLISH,
    ("GET", _P + "/events"): PROJECTS_READ,
    ("GET", _P + "/events/{event_id}"): PROJECTS_READ,
    ("GET", _P + "/deliveries"): PROJECTS_READ,
    ("GET", _P + "/deliveries/{delivery_id}"): PROJECTS_READ,
    ("POST", _P + "/deliveries/{delivery_id}/resend"): DELIVERIES_RESEND,
    ("POST", _P + "/event-types"): CATALOG_WRITE,
    ("POST", _P + "/event-types/seed"): CATALOG_WRITE,
    ("GET", _P + "/event-types"): PROJECTS_READ,
    ("GET", _P + "/event-types/{name}"): PROJECTS_READ,
    ("DELETE", _P + "/event-types/{name}"): CATALOG_WRITE,
    ("POST", _P + "/profiles"): CATALOG_WRITE,
    ("GET", _P + "/profiles"): PROJECTS_READ,
    ("GET", _P + "/profiles/{name}"): PROJECTS_READ,
    ("DELETE", _P + "/profiles/{name}"): CATALOG_WRITE,
    ("POST", _P + "/recover"): DELIVERIES_RESEND,
    ("GET", _P + "/jobs"): PROJECTS_READ,
    ("GET", _P + "/jobs/{job_id}"): PROJECTS_READ,
    ("POST", _P + "/portal-link"): PORTAL_WRITE,
    ("POST", "/tokens"): TOKENS_OWN,
    ("GET", "/tokens"): TOKENS_OWN,
    ("DELETE", "/tokens/{token_id}"): TOKENS_OWN,
    # The audit log: owners and admins read it.
    ("GET", "/audit-log"): AUDIT_READ,
    ("GET", "/audit-log/export"): AUDIT_READ,
}

#: The fields of an endpoint an ``endpoints.toggle`` holder may change.
TOGGLE_FIELDS: Final = frozenset({"enabled"})


def permissions_of(role: str) -> frozenset[str]:
    """The permissions of ``role``; none for a role this table does not know."""
    return ROLE_PERMISSIONS.get(role, frozenset())


def allows(role: str, permission: str) -> bool:
    """May an operator of ``role`` do what ``permission`` names?"""
    return permission in permissions_of(role)


def route_permission(method: str, route: str | None) -> str | None:
    """The permission ``method route`` needs (``route`` a template, with or without /api/v1).

    None for a route the table does not list: refuse it to operators.
    """
    return API_ROUTES.get((method, (route or "").removeprefix("/api/v1")))


def endpoint_patch_permission(fields: set[str] | frozenset[str]) -> str:
    """What a PATCH of an endpoint changing ``fields`` needs: toggling only, or writing."""
    return ENDPOINTS_TOGGLE if fields and fields <= TOGGLE_FIELDS else ENDPOINTS_WRITE


def sees_payloads(role: str, viewers_see_payloads: bool) -> bool:
    """Whether ``role`` is shown payload bodies in a project with that setting."""
    return allows(role, PAYLOADS_READ) or (role == "viewer" and viewers_see_payloads)


__all__ = [
    "API_ROUTES",
    "AUDIT_READ",
    "CATALOG_WRITE",
    "DELIVERIES_RESEND",
    "ENDPOINTS_TOGGLE",
    "ENDPOINTS_WRITE",
    "EVENTS_PUBLISH",
    "KEYS_WRITE",
    "OPERATORS_MANAGE",
    "PAYLOADS_READ",
    "PERMISSIONS",
    "PORTAL_WRITE",
    "PROJECTS_READ",
    "PROJECTS_WRITE",
    "ROLES",
    "ROLE_PERMISSIONS",
    "SECRETS_READ",
    "SETTINGS_WRITE",
    "TOGGLE_FIELDS",
    "TOKENS_OWN",
    "Role",
    "allows",
    "endpoint_patch_permission",
    "permissions_of",
    "route_permission",
    "sees_payloads",
]
