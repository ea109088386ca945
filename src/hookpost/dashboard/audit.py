"""The audit log page: who changed what, for whoever may read the log (permission audit.read).

The same entries, filters and order as ``GET /api/v1/audit-log`` (newest
first, a page at a time), and the same JSON lines export, signed in by the
dashboard session instead of a bearer token. Filters come from the query
string; a value that cannot be a filter (an unknown action, a date that is
not one) is ignored with a note, never a 500. Nothing here changes an entry:
the page has no form that posts.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response

from hookpost.dashboard.html import render, root_path
from hookpost.dashboard.state import store
from hookpost.dashboard.views import cursor_param, parse_when
from hookpost.domain import AUDIT_ACTIONS, AUDIT_OBJECT_TYPES
from hookpost.store import AuditFilter
from hookpost.web import render as shapes

PAGE_SIZE = 50
#: The query parameters the page reads, in the order its form shows them.
FIELDS = ("actor", "action", "object_type", "object_id", "project_id", "since", "until")


def _filters(
    request: Request, within: frozenset[str] | None
) -> tuple[dict[str, str], AuditFilter, list[str]]:
    """The form's values as typed, the filter they make, and what was ignored;
    ``within``: the projects of a limited operator (None: every entry)."""
    raw = {k: request.query_params.get(k, "").strip()[:320] for k in FIELDS}
    ignored: list[str] = []
    action = raw["action"] or None
    if action and action not in AUDIT_ACTIONS:
        ignored.append("action")
        action = None
    object_type = raw["object_type"] or None
    if object_type and object_type not in AUDIT_OBJECT_TYPES:
        ignored.append("object type")
        object_type = None
    since, until = parse_when(raw["since"]), parse_when(raw["until"])
    for name in ("since", "until"):
        if raw[name] and (since if name == "since" else until) is None:
            ignored.append(name)
    where = AuditFilter(
        actor=raw["actor"] or None,
        action=action,
        object_type=object_type,
        object_id=raw["object_id"] or None,
        project_id=raw["project_id"] or None,
        since=since,
        until=until,
        within=within,
    )
    return raw, where, ignored


def _query(values: dict[str, str], **more: str) -> str:
    return urlencode({k: v for k, v in {**values, **more}.items() if v})


def _entry(row: dict[str, Any], root: str) -> dict[str, Any]:
    """An entry as the API shows it, plus a link to its object when it still has a page."""
    entry = shapes.audit_entry(row)
    entry["meaning"] = AUDIT_ACTIONS.get(entry["action"], "")
    obj, project = entry["object"], entry["project_id"]
    base = f"{root}/projects/{project}" if project else None
    entry["href"] = {
        "project": base,
        "endpoint": f"{base}/endpoints/{obj['id']}" if base else None,
        "delivery": f"{base}/deliveries/{obj['id']}" if base else None,
    }.get(obj["type"])
    if entry["action"].endswith(".delete"):
        entry["href"] = None  # gone
    return entry


async def audit_page(request: Request, *, csrf: str, within: frozenset[str] | None) -> Response:
    """The page; ``csrf`` is the session's token, for the header's sign-out form;
    ``within``: a limited operator's projects, whose entries alone it shows."""
    values, where, ignored = _filters(request, within)
    page = await store(request).list_audit(where, limit=PAGE_SIZE, cursor=cursor_param(request))
    root = root_path(request)
    next_url = (
        f"{root}/audit?{_query(values, cursor=page.next_cursor)}" if page.next_cursor else None
    )
    return render(
        request,
        "audit.html",
        {
            "entries": [_entry(r, root) for r in page.data],
            "filters": values,
            "ignored": ignored,
            "actions": AUDIT_ACTIONS,
            "object_types": sorted(AUDIT_OBJECT_TYPES),
            "next_url": next_url,
            "export_url": f"{root}/audit/export?{_query(values)}",
            "filtered": any(values.values()),
            "csrf": csrf,
        },
    )


async def audit_export(request: Request, within: frozenset[str] | None) -> Response:
    """Every entry the page's filters match, oldest first, as JSON lines."""
    return shapes.audit_export(store(request), _filters(request, within)[1])
