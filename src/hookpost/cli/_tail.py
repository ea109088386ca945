"""``hookpost tail``: follow delivery attempts as they happen, one line each.

The API has no stream of attempts, so tail polls: every ``--interval`` it
reads the newest deliveries (one page of 100) and the pending ones (those
waiting for a retry, however old: another page of 100), and for each whose
``attempt_count`` grew since the last look reads it whole and prints the new
attempts, oldest first. What was attempted before tail started is not
printed. A project with more than 100 deliveries changing between two looks
can have some missed: tail is for watching, the API for auditing.

``--limit N`` stops after N attempts and ``--for SECONDS`` after that long
(what scripts and tests use); Ctrl-C stops it otherwise, with exit code 0.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import click

from hookpost.cli._common import Command, api_options
from hookpost.cli._output import JSON_LINES_OPTION
from hookpost.cli._resources import api_client

if TYPE_CHECKING:
    from hookpost.client import Client

__all__ = ["tail"]

_PAGE = 100


def _changed(client: Client, project_id: str, filters: dict[str, Any]) -> dict[str, Any]:
    """delivery id -> its summary, for the newest and the pending deliveries."""
    found: dict[str, Any] = {}
    for status in (None, "pending"):
        page = client.list_deliveries(project_id, limit=_PAGE, status=status, **filters)
        for delivery in page["data"]:
            found[delivery["id"]] = delivery
    return found


def _line(delivery: Any, attempt: Any) -> str:
    code = attempt["status_code"] if attempt["status_code"] is not None else "---"
    error = f"  {attempt['error']}" if attempt.get("error") else ""
    return (
        f"{attempt['started_at']}  {delivery['id']}  {delivery['event_type']}  "
        f"-> {attempt['url']}  {code}  {attempt['duration_ms']:.0f}ms  "
        f"attempt {attempt['number']}, {delivery['status']}{error}"
    )


@click.command(cls=Command)
@api_options()
@click.option("--endpoint", "endpoint_id", default=None, help="Only this endpoint's attempts.")
@click.option("--type", "event_type", default=None, help="Only attempts of this event type.")
@click.option(
    "--interval",
    type=click.FloatRange(0.05, 60),
    default=0.5,
    show_default=True,
    help="Seconds between two looks at the deliveries.",
)
@click.option(
    "--limit", type=click.IntRange(1), default=None, help="Stop after this many attempts."
)
@click.option(
    "--for",
    "duration",
    type=click.FloatRange(0),
    default=None,
    help="Stop after this many seconds.",
)
@JSON_LINES_OPTION
def tail(
    base_url: str,
    token: str,
    project_id: str,
    endpoint_id: str | None,
    event_type: str | None,
    interval: float,
    limit: int | None,
    duration: float | None,
    as_json: bool,
) -> None:
    """Follow delivery attempts live, one line each (--json: one JSON object a line).

    \b
    A line: when, delivery, event type, URL, the receiver's status code (--- for
    none), duration, attempt number and the delivery's status, the error if any.
    A JSON line is the attempt as `deliveries get --json` shows it, with the
    delivery's id, event_id, endpoint_id, event_type and status.
    """
    filters = {"endpoint_id": endpoint_id, "event_type": event_type}
    stop_at = time.monotonic() + duration if duration is not None else None
    printed = 0
    with api_client(base_url, token) as client:
        seen = {i: d["attempt_count"] for i, d in _changed(client, project_id, filters).items()}
        click.echo(f"following attempts in {project_id} (Ctrl-C to stop)", err=True)
        try:
            while stop_at is None or time.monotonic() < stop_at:
                time.sleep(interval if stop_at is None else min(interval, _left(stop_at)))
                news: list[tuple[Any, Any]] = []
                for ident, summary in _changed(client, project_id, filters).items():
                    if summary["attempt_count"] <= seen.get(ident, 0):
                        continue
                    delivery = client.get_delivery(project_id, ident)
                    before = seen.get(ident, 0)
                    fresh = [a for a in delivery["attempts"] if a["number"] > before]
                    news.extend((delivery, a) for a in fresh)
                    seen[ident] = max([before, *(a["number"] for a in fresh)])
                for delivery, attempt in sorted(news, key=lambda x: x[1]["started_at"]):
                    _print(delivery, attempt, as_json)
                    printed += 1
                    if limit is not None and printed >= limit:
                        return
        except KeyboardInterrupt:
            return


def _left(stop_at: float) -> float:
    return max(0.0, stop_at - time.monotonic())


def _print(delivery: Any, attempt: Any, as_json: bool) -> None:
    if as_json:
        keys = ("id", "event_id", "endpoint_id", "event_type", "status")
        line = {f"delivery_{k}" if k in ("id", "status") else k: delivery[k] for k in keys}
        click.echo(json.dumps({**line, **attempt}, ensure_ascii=False))
    else:
        click.echo(_line(delivery, attempt))
