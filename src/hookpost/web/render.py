"""Store rows -> API shapes. Secrets are only ever added by the caller that may show them.

Secret custom headers are masked here, for every caller: in endpoints, and in
attempts' request (and response) headers (:mod:`hookpost.core.secret_headers`).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi.responses import StreamingResponse

from hookpost.core import jsonenc, secret_headers, serializers
from hookpost.core.wiretext import storable, storable_headers
from hookpost.profiles import RESERIALIZING_PROFILES, ed25519
from hookpost.store import AuditFilter, Store
from hookpost.web.schemas import EventIn, iso


def project(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "created_at": iso(row["created_at"]),
        "viewers_see_payloads": bool(row.get("viewers_see_payloads")),
    }


def token(row: dict[str, Any]) -> dict[str, Any]:
    """A personal token as listed: never the token nor its hash."""
    return {
        "id": row["id"],
        "name": row["name"],
        "prefix": row["prefix"],
        "created_at": iso(row["created_at"]),
        "expires_at": iso(row["expires_at"]),
        "last_used_at": iso(row["last_used_at"]),
        "revoked_at": iso(row["revoked_at"]),
    }


def endpoint(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "project_id": row["project_id"],
        "url": row["url"],
        "description": row["description"],
        "event_types": row["event_types"] or [],
        "profile": row["profile"],
        "signing": ed25519.signing_of(row.get("secret")),
        "public_key": _public_key(row.get("secret")),
        "headers": secret_headers.mask(row["headers"], row.get("secret_headers") or ()),
        "secret_headers": list(row.get("secret_headers") or ()),
        "max_attempts": row["max_attempts"],
        "timeout_seconds": row["timeout_seconds"],
        "enabled": bool(row["enabled"]),
        "ordering": row["ordering"],
        "serializer": row.get("serializer")
        or (serializers.DEFAULT if row["profile"] in RESERIALIZING_PROFILES else None),
        "retry_schedule": row["retry_schedule"],
        "success_rule": row["success_rule"],
        "rate_limit": row["rate_limit"],
        "max_concurrency": row["max_concurrency"],
        "filter": row["filter"],
        "health": health(row),
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def _public_key(secret: str | None) -> str | None:
    """The ``whpk_`` of an ed25519 endpoint: public, so every answer may carry it."""
    try:
        return None if secret is None else ed25519.public_key_for(secret)
    except ValueError:  # a malformed stored key: nothing to publish
        return None


def health(row: dict[str, Any]) -> dict[str, Any]:
    now = time.time()
    open_until = row["circuit_open_until"]
    if open_until is not None and open_until > now:
        circuit = "open"
    elif open_until is not None:
        circuit = "half-open"
    else:
        circuit = "closed"
    return {
        "circuit": circuit,
        "circuit_open_until": iso(open_until),
        "consecutive_failures": row["consecutive_failures"],
        "failing_since": iso(row["failing_since"]),
        "disabled_reason": row["disabled_reason"],
        "disabled_at": iso(row["disabled_at"]),
    }


def event(row: dict[str, Any], payload: Any = None, *, bodies: bool = True) -> dict[str, Any]:
    """``payload``: the already-parsed payload, when the caller has it (publish);
    ``bodies=False``: null instead (a viewer the project hides payloads from)."""
    if not bodies:
        payload = None
    elif payload is None:
        payload = json.loads(row["payload"])
    return {
        "id": row["id"],
        "event_type": row["event_type"],
        "payload": payload,
        "sequence": row["seq"],
        "created_at": iso(row["created_at"]),
        "timestamp": int(row["created_at"]),
    }


def event_accepted_json(row: dict[str, Any], payload: str, deliveries: int) -> bytes:
    """A new event's answer (EventAccepted, as :func:`event` + ``deliveries``) as JSON bytes,
    around ``payload``: the compact JSON text the store was given."""
    ident = json.dumps(row["id"], ensure_ascii=False)
    kind = json.dumps(row["event_type"], ensure_ascii=False)
    return (
        f'{{"id":{ident},"event_type":{kind},"payload":{payload},"sequence":{int(row["seq"])},'
        f'"created_at":"{iso(row["created_at"])}","timestamp":{int(row["created_at"])},'
        f'"deliveries":{int(deliveries)}}}'
    ).encode()


def event_receipt(row: dict[str, Any], sent: EventIn, deliveries: int) -> dict[str, Any]:
    """A repeated ``event_id``, answered to a caller that may not read events.

    Only what this caller sent, plus the stored event's id, sequence and
    delivery count: neither the first event's payload, its type nor when it
    was published.
    """
    return {
        "id": row["id"],
        "event_type": sent.event_type,
        "payload": sent.payload,
        "sequence": row["seq"],
        "deliveries": deliveries,
    }


def delivery(row: dict[str, Any], *, bodies: bool = True) -> dict[str, Any]:
    """``bodies=False``: the attempts' request and response bodies are null."""
    out = {
        "id": row["id"],
        "event_id": row["event_id"],
        "endpoint_id": row["endpoint_id"],
        "event_type": row["event_type"],
        "status": row["status"],
        "attempt_count": row["attempt_count"],
        "next_attempt_at": iso(row["next_attempt_at"]),
        "last_status_code": row["last_status_code"],
        "last_error": row["last_error"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }
    if "attempts" in row:
        out["attempts"] = [attempt(a, bodies=bodies) for a in row["attempts"]]
    return out


def attempt(row: dict[str, Any], *, bodies: bool = True) -> dict[str, Any]:
    """An attempt as shown everywhere. Rows are stored escaped (:mod:`hookpost.core.wiretext`);
    rows from before that (SQLite kept lone surrogates inside JSON) are escaped here.
    ``bodies=False``: no request or response body (a viewer, see ``roles.sees_payloads``)."""
    response_headers = row["response_headers"]
    return {
        "number": row["number"],
        "started_at": iso(row["started_at"]),
        "url": _text(row["url"]),
        "status_code": row["status_code"],
        "duration_ms": round(float(row["duration_ms"]), 3),
        "error": _text(row["error"]),
        # Masked when recorded too; by name here as well, for rows recorded before.
        "request_headers": secret_headers.mask(storable_headers(row["request_headers"])[0]),
        "request_body": _text(row["request_body"]) if bodies else None,
        "response_headers": (
            None
            if response_headers is None
            else secret_headers.mask(storable_headers(response_headers)[0])
        ),
        "response_body": _text(row["response_body"]) if bodies else None,
    }


def _text(value: str | None) -> str | None:
    return None if value is None else storable(value)[0]


def job(row: dict[str, Any]) -> dict[str, Any]:
    params = dict(row["params"])
    for key in ("since", "until"):
        if params.get(key) is not None:
            params[key] = iso(params[key])
    return {
        "id": row["id"],
        "kind": row["kind"],
        "status": row["status"],
        "total": row["total"],
        "done": row["done"],
        "params": params,
        "error": row["error"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def audit_export(store: Store, where: AuditFilter) -> StreamingResponse:
    """Every entry ``where`` matches, oldest first, streamed as JSON lines (one a line)."""

    async def lines() -> AsyncIterator[bytes]:
        async for row in store.export_audit(where):
            yield jsonenc.dumps(audit_entry(row)) + b"\n"

    return StreamingResponse(
        lines(),
        media_type="application/x-ndjson",
        headers={
            "Content-Disposition": 'attachment; filename="hookpost-audit.jsonl"',
            "Cache-Control": "no-store",
        },
    )


def audit_entry(row: dict[str, Any]) -> dict[str, Any]:
    """An audit log row as the API, the export and the dashboard show it."""
    return {
        "id": row["id"],
        "at": iso(row["at"]),
        "actor": {
            "kind": row["actor_kind"],
            "id": row["actor_id"],
            "label": row["actor_label"],
            "address": row["address"],
        },
        "action": row["action"],
        "object": {"type": row["object_type"], "id": row["object_id"]},
        "project_id": row["project_id"],
        "before": row["before"],
        "after": row["after"],
    }
