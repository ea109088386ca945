"""Validation of custom profile definitions: every problem, each naming its field.

A definition is checked before it is stored (the API answers 422 with these
``(field, problem)`` pairs), so a profile that reaches the dispatcher can
always sign, and a receiver can always rebuild what was signed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from hookpost.profiles import _envelope
from hookpost.profiles._content import SignedContent
from hookpost.profiles._encoding import ENCODINGS

Problems = list[tuple[str, str]]

FIELDS = (
    "header",
    "signed_content",
    "encoding",
    "signature_prefix",
    "timestamp_header",
    "timestamp_unit",
    "id_header",
    "success",
    "max_attempts",
    "envelope",
)
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}")
_PREFIX = re.compile(r"[\x21-\x7e]{0,32}")
#: Headers the HTTP client or hookpost itself sets; a signature can't live there.
RESERVED_HEADERS = frozenset(
    {
        "accept-encoding",
        "connection",
        "content-encoding",
        "content-length",
        "content-type",
        "cookie",
        "expect",
        "host",
        "keep-alive",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
    }
)
MAX_ENVELOPE_BYTES = 16 * 1024
MAX_ENVELOPE_DEPTH = 16
MAX_ATTEMPTS_LIMIT = 50


def validate_custom_profile(definition: object) -> Problems:
    """``[]`` when ``definition`` makes a usable profile, else ``(field, problem)`` pairs."""
    if not isinstance(definition, Mapping):
        return [("", "must be a JSON object")]
    problems: Problems = [(k, "unknown field") for k in definition if k not in FIELDS]
    _check_headers(definition, problems)
    _check_signed_content(definition, problems)
    _check_choice(definition, "encoding", ENCODINGS, problems)
    _check_choice(definition, "timestamp_unit", ("s", "ms"), problems)
    _check_choice(definition, "success", ("2xx", "200"), problems)
    prefix = definition.get("signature_prefix", "")
    if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
        problems.append(("signature_prefix", "must be up to 32 visible ASCII characters"))
    attempts = definition.get("max_attempts")
    if attempts is not None and (
        type(attempts) is not int or not 1 <= attempts <= MAX_ATTEMPTS_LIMIT
    ):
        problems.append(("max_attempts", f"must be an integer from 1 to {MAX_ATTEMPTS_LIMIT}"))
    if "envelope" in definition:
        _check_envelope(definition["envelope"], problems)
    return problems


def _check_headers(definition: Mapping[str, Any], problems: Problems) -> None:
    """The three header names: valid, not reserved, distinct."""
    seen: dict[str, str] = {}
    if "header" not in definition:
        problems.append(("header", "is required: the name of the signature header"))
    for field in ("header", "timestamp_header", "id_header"):
        name = definition.get(field)
        if name is None:
            continue
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            problems.append((field, "must be an HTTP header name (letters, digits, -, up to 64)"))
        elif name.lower() in RESERVED_HEADERS:
            problems.append((field, f"{name!r} is set by the HTTP client; choose another name"))
        elif name.lower() in seen.values():
            problems.append((field, f"{name!r} is already used by another header field"))
        else:
            seen[field] = name.lower()


def _check_signed_content(definition: Mapping[str, Any], problems: Problems) -> None:
    template = definition.get("signed_content", "{body}")
    if not isinstance(template, str) or len(template) > 1000:
        problems.append(("signed_content", "must be a string of at most 1000 characters"))
        return
    try:
        fields = SignedContent.parse(template).fields
    except ValueError as exc:
        problems.append(("signed_content", str(exc)))
        return
    if "body" not in fields:
        problems.append(("signed_content", "must contain {body}, or the body is not signed"))
    for field, header in (("timestamp", "timestamp_header"), ("id", "id_header")):
        if field in fields and definition.get(header) is None:
            problems.append(
                ("signed_content", f"uses {{{field}}}, which needs {header} to carry it")
            )


def _check_choice(
    definition: Mapping[str, Any], field: str, allowed: tuple[str, ...], problems: Problems
) -> None:
    if field in definition and definition[field] not in allowed:
        problems.append((field, "must be one of " + ", ".join(allowed)))


def _check_envelope(envelope: Any, problems: Problems) -> None:
    try:
        size = len(json.dumps(envelope, allow_nan=False))
    except (TypeError, ValueError, RecursionError):
        problems.append(("envelope", "must be a JSON value"))
        return
    if size > MAX_ENVELOPE_BYTES:
        problems.append(("envelope", f"must be at most {MAX_ENVELOPE_BYTES} bytes of JSON"))
    if _depth(envelope) > MAX_ENVELOPE_DEPTH:
        problems.append(("envelope", f"must nest at most {MAX_ENVELOPE_DEPTH} levels"))
        return
    known = ", ".join("{{" + p + "}}" for p in _envelope.PLACEHOLDERS)
    for path, text in _envelope.walk_strings(envelope):
        for name in _envelope.placeholders_in(text):
            if name not in _envelope.PLACEHOLDERS:
                problems.append((path, "unknown placeholder {{" + name + "}}; known: " + known))


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0
