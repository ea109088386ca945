"""HTML forms in, API bodies out -- and the API's error messages back onto the fields.

A dashboard form is turned into exactly the JSON body the REST API would
receive and validated by the same pydantic schema (``web/schemas/``), so
the dashboard can neither accept what the API refuses nor word a refusal
differently. What pydantic cannot see -- a header line without a colon, a
filter that is not JSON -- is checked here and reported on its field too.

Bodies are parsed by hand (``application/x-www-form-urlencoded`` only, which
is all these forms send): it is a few lines and spares a multipart parser.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from fastapi import HTTPException, Request
from pydantic import ValidationError

from hookpost.dashboard.html import PageError, schedule_text
from hookpost.domain import Invalid
from hookpost.web.errors import readable

#: Where a message goes that belongs to no single field.
FORM = "form"
FieldErrors = dict[str, str]


@dataclass(slots=True)
class Form:
    fields: dict[str, list[str]] = field(default_factory=dict)

    def one(self, name: str, default: str = "") -> str:
        values = self.fields.get(name)
        return values[0] if values else default

    def many(self, name: str) -> list[str]:
        return list(self.fields.get(name, []))

    def has(self, name: str) -> bool:
        return name in self.fields


async def read_form(request: Request) -> Form:
    body = await request.body()
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if body and ctype != "application/x-www-form-urlencoded":
        raise PageError(415, "Unsupported form", "Forms are sent URL-encoded.")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=500)
    except (UnicodeDecodeError, ValueError):
        raise PageError(400, "Bad request", "The form could not be read.") from None
    form = Form()
    for name, value in pairs:
        form.fields.setdefault(name, []).append(value)
    return form


def pydantic_errors(exc: ValidationError) -> FieldErrors:
    """``{field: message}`` in the API's wording (first message per field)."""
    out: FieldErrors = {}
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        name = loc[0] if loc else FORM
        msg = readable(err)
        if len(loc) > 1:
            where = loc[1:]
            if isinstance(err["loc"][1], int):  # a list's item: counted from 1, as people do
                where = [f"item {int(err['loc'][1]) + 1}", *loc[2:]]
            msg = f"{'.'.join(where)}: {msg}"
        out.setdefault(name, msg)
    return out


def problem_errors(exc: Exception, known: set[str]) -> FieldErrors:
    """The field errors of an API-side refusal (``"secret: too short"`` -> ``secret``)."""
    if isinstance(exc, Invalid):
        pairs = exc.problems
    elif isinstance(exc, HTTPException):
        name, sep, msg = str(exc.detail).partition(": ")
        pairs = [(name, msg)] if sep else [(FORM, str(exc.detail))]
    else:
        pairs = [(FORM, str(exc))]
    out: FieldErrors = {}
    for name, msg in pairs:
        top = name.split(".")[0]
        if top in known:
            out.setdefault(top, msg if top == name else f"{name[len(top) + 1 :]}: {msg}")
        else:
            out.setdefault(FORM, f"{name}: {msg}")
    return out


# -- the endpoint form ---------------------------------------------------------

ENDPOINT_FIELDS = {
    "url",
    "description",
    "profile",
    "signing",
    "event_types",
    "secret",
    "headers",
    "secret_headers",
    "filter",
    "max_attempts",
    "timeout_seconds",
    "enabled",
    "retry_schedule",
    "success_rule",
    "rate_limit",
    "max_concurrency",
    "ordering",
    "serializer",
}

#: The delivery-policy fields an edit changes only when the form has them.
POLICY_FIELDS = ("success_rule", "rate_limit", "max_concurrency", "ordering")

_UNITS = {"": 1, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
_STEP = re.compile(r"(\d+(?:\.\d+)?)\s*(s|min|m|h|d)?", re.IGNORECASE)


def _schedule(text: str, errors: FieldErrors) -> list[float] | None:
    """``"5s 5m 2h"`` (or plain seconds) as the API's list of seconds; the API checks ranges."""
    steps: list[float] = []
    for n, word in enumerate(_split_types(text), 1):
        found = _STEP.fullmatch(word)
        if found is None:
            errors["retry_schedule"] = (
                f"item {n}: {word!r} is not a wait; write seconds or a number with s, m, h or d"
            )
            return None
        steps.append(float(found.group(1)) * _UNITS[(found.group(2) or "").lower()])
    return steps or None


def _split_types(text: str) -> list[str]:
    return [t for t in re.split(r"[\s,]+", text) if t]


def _headers(text: str, errors: FieldErrors) -> dict[str, str]:
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            errors.setdefault("headers", f"line {n}: write each header as Name: value")
            continue
        name = name.strip()
        if any(name.lower() == seen.lower() for seen in out):
            # The dict would keep the last line and drop the first without a word.
            errors.setdefault("headers", f"line {n}: {name!r} is already set above")
            continue
        out[name] = value.strip()
    return out


def _filter(text: str, errors: FieldErrors) -> dict[str, Any] | None:
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        errors["filter"] = f"is not valid JSON ({exc})"
        return None
    except RecursionError:
        errors["filter"] = "nests too deeply"
        return None
    if not isinstance(value, dict):
        errors["filter"] = "must be a JSON object"
        return None
    return value


def endpoint_body(form: Form, *, creating: bool) -> tuple[dict[str, Any], FieldErrors]:
    """The API body for the endpoint form, and what was wrong before pydantic looked."""
    errors: FieldErrors = {}
    types = list(dict.fromkeys([*form.many("event_types"), *_split_types(form.one("more_types"))]))
    body: dict[str, Any] = {
        "url": form.one("url").strip(),
        "description": form.one("description"),
        "event_types": types,
        "headers": _headers(form.one("headers"), errors),
        "secret_headers": _split_types(form.one("secret_headers")) or None,
        "filter": _filter(form.one("filter"), errors),
        "max_attempts": form.one("max_attempts").strip() or None,
        "timeout_seconds": form.one("timeout_seconds").strip() or None,
    }
    if creating or form.has("retry_schedule"):
        body["retry_schedule"] = _schedule(form.one("retry_schedule"), errors)
    for name in POLICY_FIELDS:
        if creating or form.has(name):
            body[name] = form.one(name).strip() or None
    if creating:
        body["ordering"] = body["ordering"] or "none"
    if creating or form.has("serializer"):
        body["serializer"] = form.one("serializer").strip() or None
    if creating:
        body["profile"] = form.one("profile").strip() or "standard"
        body["signing"] = form.one("signing").strip() or None
        body["secret"] = form.one("secret").strip() or None
        body["enabled"] = form.has("enabled")
    return body, errors


def endpoint_values(source: Form | dict[str, Any], catalog: list[str]) -> dict[str, Any]:
    """What the endpoint form's fields show: the submitted form, or a stored endpoint."""
    if isinstance(source, Form):
        chosen = [*source.many("event_types"), *_split_types(source.one("more_types"))]
        return {
            "url": source.one("url"),
            "description": source.one("description"),
            "profile": source.one("profile", "standard"),
            "signing": source.one("signing"),
            "event_types": [t for t in chosen if t in catalog],
            "more_types": " ".join(t for t in chosen if t not in catalog),
            "headers": source.one("headers"),
            "secret_headers": source.one("secret_headers"),
            "filter": source.one("filter"),
            "max_attempts": source.one("max_attempts"),
            "timeout_seconds": source.one("timeout_seconds"),
            "enabled": source.has("enabled"),
            "retry_schedule": source.one("retry_schedule"),
            "serializer": source.one("serializer"),
            **{name: source.one(name) for name in POLICY_FIELDS},
        }
    ep = source
    types = list(ep.get("event_types") or [])
    return {
        "url": ep["url"],
        "description": ep["description"],
        "profile": ep["profile"],
        "signing": ep.get("signing") or "",
        "event_types": [t for t in types if t in catalog],
        "more_types": " ".join(t for t in types if t not in catalog),
        # Shown as the API shows them (secret values masked: the form keeps them).
        "headers": "\n".join(f"{k}: {v}" for k, v in (ep.get("headers") or {}).items()),
        "secret_headers": "",
        "filter": json.dumps(ep["filter"], indent=2) if ep.get("filter") else "",
        "max_attempts": "" if ep.get("max_attempts") is None else str(ep["max_attempts"]),
        "timeout_seconds": ""
        if ep.get("timeout_seconds") is None
        else f"{ep['timeout_seconds']:g}",
        "enabled": bool(ep.get("enabled", True)),
        "retry_schedule": schedule_text(ep.get("retry_schedule")),
        "success_rule": ep.get("success_rule") or "",
        "rate_limit": "" if ep.get("rate_limit") is None else f"{ep['rate_limit']:g}",
        "max_concurrency": "" if ep.get("max_concurrency") is None else str(ep["max_concurrency"]),
        "ordering": ep.get("ordering") or "none",
        "serializer": ep.get("serializer") or "",
    }
