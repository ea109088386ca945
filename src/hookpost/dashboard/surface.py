"""One project seen through the operator dashboard or a customer-portal link.

The project pages are written once, against a :class:`Surface`: where its
links point (``/projects/<id>`` or ``/portal/<token>``), whether its viewer
may change things, and the CSRF token its forms carry. The operator surface
and the portal surface differ only in these values, so a page cannot show a
portal viewer something the operator view would not -- and every query a
page makes takes ``surface.project_id``, which for the portal comes from
the signed link, never from the URL's other parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

Kind = Literal["operator", "portal"]


@dataclass(frozen=True, slots=True)
class Surface:
    kind: Kind
    project: dict[str, Any]
    #: URL prefix of the project's pages, including the app's root path.
    base: str
    #: May create/edit endpoints, rotate secrets, resend (operator; portal scope=manage).
    can_manage: bool
    #: Every POST form of this surface carries it (see hookpost.dashboard.auth).
    csrf: str
    #: When a portal link stops working (None for the operator).
    expires_at: float | None = None
    #: The operator dashboard (not a portal link): operator-only pages exist.
    operator: bool = False
    #: What this viewer may do here (:mod:`hookpost.domain.roles` permissions): an
    #: operator's role, or what a portal link's scope grants.
    permissions: frozenset[str] = frozenset()
    #: The signed-in operator (``hookpost.dashboard.auth.Who``), on operator pages.
    who: Any = None

    def can(self, permission: str) -> bool:
        """Whether this viewer holds ``permission`` (templates hide what it cannot do)."""
        return permission in self.permissions

    @property
    def project_id(self) -> str:
        return str(self.project["id"])

    @property
    def is_portal(self) -> bool:
        return self.kind == "portal"

    def url(self, path: str = "", **query: Any) -> str:
        """``base + path`` with the non-empty ``query`` values (None and "" dropped)."""
        params = {k: v for k, v in query.items() if v is not None and v != ""}
        return self.base + path + ("?" + urlencode(params) if params else "")
