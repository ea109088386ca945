"""Envelope templates of custom profiles: any JSON value with ``{{name}}`` placeholders.

Substitution happens in string values (object keys are literal):

- a string that is exactly ``"{{payload}}"`` becomes the payload itself (an
  object stays an object); exactly ``"{{timestamp}}"`` or
  ``"{{timestamp_ms}}"`` becomes a JSON number;
- anywhere else a placeholder is replaced by its text (the payload by its
  compact JSON), so ``"evt-{{id}}"`` works.

The substituted values are the event's, fixed at publish time, so the body is
the same on every retry.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from hookpost.core import jsonenc
from hookpost.profiles._base import EventData
from hookpost.profiles._times import iso_millis

PLACEHOLDERS: tuple[str, ...] = (
    "id",
    "type",
    "timestamp",
    "timestamp_ms",
    "created_at",
    "payload",
    "project_id",
)
#: A name holds no brace: so each match scans forward only to the next brace and
#: matching is linear (a lazy ``.*?`` rescans to the end from every ``{{``:
#: seconds for a 16 KB template of ``{{{{...``, at every delivery).
_PLACEHOLDER = re.compile(r"\{\{([^{}]*)\}\}")
_NUMERIC = ("timestamp", "timestamp_ms")


def placeholders_in(text: str) -> list[str]:
    """Every ``{{...}}`` name in ``text``, known or not (for validation)."""
    return _PLACEHOLDER.findall(text)


def walk_strings(template: Any, path: str = "envelope") -> Iterator[tuple[str, str]]:
    """``(path, string)`` for every string value in ``template``."""
    if isinstance(template, str):
        yield path, template
    elif isinstance(template, dict):
        for key, value in template.items():
            yield from walk_strings(value, f"{path}.{key}")
    elif isinstance(template, list):
        for i, value in enumerate(template):
            yield from walk_strings(value, f"{path}[{i}]")


def _values(event: EventData) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "timestamp": int(event.created_at),
        "timestamp_ms": int(event.created_at * 1000),
        "created_at": iso_millis(event.created_at),
        "payload": event.payload,
        "project_id": event.project_id,
    }


def render(template: Any, event: EventData) -> Any:
    """The envelope for ``event``: ``template`` with its placeholders filled in."""
    return _render(template, _values(event))


def _render(template: Any, values: dict[str, Any]) -> Any:
    if isinstance(template, str):
        whole = _PLACEHOLDER.fullmatch(template)
        if whole and (whole.group(1) == "payload" or whole.group(1) in _NUMERIC):
            return values[whole.group(1)]
        return _PLACEHOLDER.sub(lambda m: _text(values[m.group(1)]), template)
    if isinstance(template, dict):
        return {k: _render(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [_render(v, values) for v in template]
    return template


def _text(value: Any) -> str:
    return value if isinstance(value, str) else jsonenc.dumps(value).decode("utf-8")
