"""Bounds on the shape of JSON a tenant sends, checked before anything is written.

A payload passes through many layers after the API accepts it -- the catalog's
JSON Schema validator, payload filters, the JavaScript-form encoder that builds
signed bodies, pydantic when the event is listed or shown, the dashboard -- and
each walks it recursively under a ceiling of its own (Python's ~1000 frames,
pydantic's 255 levels). A payload that fits one layer and not the next used to
be stored and then fail in every layer after it: a 500 after the event was
written, a delivery that crashed the worker on every lease, an events list
that could no longer be read.

So the limits live here, once, far below every ceiling, and are checked when a
value arrives: a payload, a catalog schema or a filter deeper than
:data:`MAX_DEPTH` levels or holding more than :data:`MAX_NODES` values is
refused with a 422 naming its field. Everything that is stored is then
something every layer can handle; the dispatcher still turns any failure to
build a request into a failed attempt (see ``delivery/dispatcher.py``).

The walk is iterative and stops as soon as a limit is crossed, so checking a
hostile value costs at most ``MAX_NODES`` steps.
"""

from __future__ import annotations

from typing import Any

#: Containers (objects and arrays) nested inside each other, the outermost included.
MAX_DEPTH = 64
#: Values inside a JSON value, at any depth (object members and array elements).
MAX_NODES = 100_000


def shape_problem(value: Any) -> str | None:
    """Why ``value`` is beyond the limits, or ``None`` when it is within them."""
    level = [value] if isinstance(value, dict | list) else []
    depth = 0
    nodes = 0
    while level:
        depth += 1
        if depth > MAX_DEPTH:
            return f"nests deeper than {MAX_DEPTH} levels of objects and arrays"
        nodes += sum(len(c) for c in level)
        if nodes > MAX_NODES:
            return f"holds more than {MAX_NODES} values"
        deeper: list[Any] = []
        for container in level:
            members = container.values() if isinstance(container, dict) else container
            deeper.extend(v for v in members if isinstance(v, dict | list))
        level = deeper
    return None


def check_shape(value: Any) -> Any:
    """``value`` itself, or ``ValueError`` (a pydantic field error) saying which limit."""
    problem = shape_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value
