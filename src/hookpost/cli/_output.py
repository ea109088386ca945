"""How commands print resources: aligned columns for a person, the API's JSON with ``--json``.

``--json`` prints exactly what the API answered (a list command: the ``data``
array of every page it read), indented, so ``jq`` and scripts see the same
fields as docs/api.md. Without it a list is one line per resource under a
header, and a single resource is ``field: value`` lines, nested values as
compact JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import click

__all__ = ["JSON_LINES_OPTION", "JSON_OPTION", "print_json", "print_resource", "print_table"]

JSON_OPTION: Callable[[Any], Any] = click.option(
    "--json", "as_json", is_flag=True, help="Print the API's JSON instead of text."
)
#: ``--json`` of the commands that go on printing (``tail``, ``listen``): JSON Lines.
JSON_LINES_OPTION: Callable[[Any], Any] = click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object a line instead of text."
)


def print_json(value: Any) -> None:
    """``value`` as indented JSON on stdout (non-ASCII kept as it is)."""
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "-"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def print_table(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> int:
    """One line per row under a header of ``columns``; returns how many rows."""
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    header = [c.upper() for c in columns]
    widths = [max(len(x) for x in col) for col in zip(header, *cells, strict=False)]
    for line in (header, *cells):
        click.echo("  ".join(x.ljust(w) for x, w in zip(line, widths, strict=True)).rstrip())
    return len(cells)


def print_resource(resource: Mapping[str, Any], *, skip: Sequence[str] = ()) -> None:
    """``field: value`` lines, in the API's order, nested values as one line of JSON."""
    width = max((len(k) for k in resource if k not in skip), default=0)
    for key, value in resource.items():
        if key not in skip:
            click.echo(f"{key + ':':<{width + 1}} {_cell(value)}")
