"""Resource commands: ``endpoints list|get|create|disable|enable``, ``events list|get``,
``deliveries list|get|resend``.

Each is one or a few calls of :class:`hookpost.Client` against a running
hookpost (``--url``/``--token``/``--project``, or ``HOOKPOST_URL``,
``HOOKPOST_TOKEN``, ``HOOKPOST_PROJECT``). A list reads pages until it has
``--limit`` items (newest first, as the API orders them); ``--json`` prints
the API's objects, otherwise one line each. An HTTP error answer is one line
and exit code 4 (4xx) or 5 (5xx); no answer is exit code 3 (see main).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from hookpost.cli._common import Group, api_options
from hookpost.cli._output import JSON_OPTION, print_json, print_resource, print_table

if TYPE_CHECKING:
    from hookpost.client import Client, models

__all__ = ["COMMANDS", "api_client", "collect", "comma_list"]

ENDPOINT_COLUMNS = ("id", "url", "enabled", "profile", "event_types")
EVENT_COLUMNS = ("id", "event_type", "sequence", "created_at")
DELIVERY_COLUMNS = (
    "id",
    "status",
    "attempt_count",
    "last_status_code",
    "event_type",
    "endpoint_id",
    "updated_at",
)
ATTEMPT_COLUMNS = ("number", "started_at", "status_code", "duration_ms", "error", "url")

_LIMIT = click.option(
    "--limit",
    type=click.IntRange(1, 10_000),
    default=20,
    show_default=True,
    help="The most items listed (pages are read until there are this many).",
)


@contextmanager
def api_client(base_url: str, token: str | None) -> Iterator[Client]:
    """A :class:`hookpost.Client` for one command, closed when it ends."""
    from hookpost.client import Client

    with Client(base_url, token=token) as client:
        yield client


def comma_list(text: str) -> list[str]:
    """``a.b, c.*`` -> ``["a.b", "c.*"]`` (an option's comma-separated values)."""
    return [item.strip() for item in text.split(",") if item.strip()]


def collect(list_method: Callable[..., Any], limit: int, *args: Any, **filters: Any) -> list[Any]:
    """Up to ``limit`` items of a paged list, newest first, following ``next_cursor``."""
    items: list[Any] = []
    cursor = None
    while len(items) < limit:
        page = list_method(*args, cursor=cursor, limit=min(250, limit - len(items)), **filters)
        items.extend(page["data"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    return items[:limit]


def _print_list(items: list[Any], columns: tuple[str, ...], as_json: bool, what: str) -> None:
    if as_json:
        print_json(items)
    elif not items:
        click.echo(f"no {what}", err=True)
    else:
        print_table(items, columns)


def _print_one(resource: Any, as_json: bool) -> None:
    if as_json:
        print_json(resource)
    else:
        print_resource(resource)


def _on_one(
    group: click.Group,
    name: str,
    metavar: str,
    summary: str,
    call: Callable[[Client, str, str], Any],
    show: Callable[[Any, bool], None] = _print_one,
) -> None:
    """Add ``hookpost GROUP NAME ID``: one call on one resource (its id shown as
    ``metavar``), the answer printed by ``show`` (``--json``: as the API gave it)."""

    def command(ident: str, base_url: str, token: str, project_id: str, as_json: bool) -> None:
        with api_client(base_url, token) as client:
            show(call(client, project_id, ident), as_json)

    decorated = click.argument("ident", metavar=metavar)(api_options()(JSON_OPTION(command)))
    group.command(name, help=summary)(decorated)


def _switched(word: str) -> Callable[[Any, bool], None]:
    """``enable``/``disable``'s text: ``ep_... enabled``."""

    def show(endpoint: Any, as_json: bool) -> None:
        if as_json:
            print_json(endpoint)
        else:
            click.echo(f"{endpoint['id']} {word}")

    return show


# -- endpoints ---------------------------------------------------------------------------


@click.group(cls=Group)
def endpoints() -> None:
    """List, read, create, disable and enable the project's endpoints."""


@endpoints.command("list")
@api_options()
@_LIMIT
@JSON_OPTION
def endpoints_list(base_url: str, token: str, project_id: str, limit: int, as_json: bool) -> None:
    """The project's endpoints, newest first."""
    with api_client(base_url, token) as client:
        items = collect(client.list_endpoints, limit, project_id)
    _print_list(items, ENDPOINT_COLUMNS, as_json, "endpoints")


@endpoints.command("create")
@click.argument("url")
@api_options()
@click.option(
    "--events",
    default=None,
    help="Comma-separated event types it receives (patterns like user.*) [default: all].",
)
@click.option("--description", default=None, help="A note shown in the dashboard.")
@click.option("--profile", default=None, help="The wire format [default: standard].")
@click.option(
    "--signing",
    type=click.Choice(["hmac", "ed25519"]),
    default=None,
    help="The signature scheme [default: hmac].",
)
@click.option("--secret", default=None, help="Sign with this secret [default: generated].")
@JSON_OPTION
def endpoints_create(
    url: str,
    base_url: str,
    token: str,
    project_id: str,
    events: str | None,
    description: str | None,
    profile: str | None,
    signing: str | None,
    secret: str | None,
    as_json: bool,
) -> None:
    """Add an endpoint delivering to URL; prints its signing secret (shown only now)."""
    fields: models.EndpointFields = {}
    if events:
        fields["event_types"] = comma_list(events)
    if description is not None:
        fields["description"] = description
    if profile:
        fields["profile"] = profile
    if signing:
        fields["signing"] = "ed25519" if signing == "ed25519" else "hmac"
    if secret:
        fields["secret"] = secret
    with api_client(base_url, token) as client:
        created = client.create_endpoint(project_id, url, **fields)
    _print_one(created, as_json)
    if not as_json:
        click.echo("the secret is shown only now: keep it where the receiver reads it", err=True)


_on_one(
    endpoints,
    "get",
    "ENDPOINT_ID",
    "One endpoint (ENDPOINT_ID: ep_...).",
    lambda client, project, ident: client.get_endpoint(project, ident),
)
_on_one(
    endpoints,
    "disable",
    "ENDPOINT_ID",
    "Stop delivering to an endpoint (its deliveries wait as held).",
    lambda client, project, ident: client.update_endpoint(project, ident, enabled=False),
    _switched("disabled"),
)
_on_one(
    endpoints,
    "enable",
    "ENDPOINT_ID",
    "Deliver to a disabled endpoint again.",
    lambda client, project, ident: client.update_endpoint(project, ident, enabled=True),
    _switched("enabled"),
)


# -- events ------------------------------------------------------------------------------


@click.group(cls=Group)
def events() -> None:
    """List and read the project's events."""


@events.command("list")
@api_options()
@click.option("--type", "event_type", default=None, help="Only events of this type.")
@_LIMIT
@JSON_OPTION
def events_list(
    base_url: str, token: str, project_id: str, event_type: str | None, limit: int, as_json: bool
) -> None:
    """The project's events, newest first."""
    with api_client(base_url, token) as client:
        items = collect(client.list_events, limit, project_id, event_type=event_type)
    _print_list(items, EVENT_COLUMNS, as_json, "events")


_on_one(
    events,
    "get",
    "EVENT_ID",
    "One event with its payload (EVENT_ID: your event_id or msg_...).",
    lambda client, project, ident: client.get_event(project, ident),
)


# -- deliveries --------------------------------------------------------------------------


@click.group(cls=Group)
def deliveries() -> None:
    """List and read deliveries (with their attempts), and resend one."""


@deliveries.command("list")
@api_options()
@click.option(
    "--status",
    type=click.Choice(["pending", "delivering", "succeeded", "failed", "held"]),
    default=None,
    help="Only deliveries in this status.",
)
@click.option("--endpoint", "endpoint_id", default=None, help="Only this endpoint's.")
@click.option("--event", "event_id", default=None, help="Only this event's.")
@click.option("--type", "event_type", default=None, help="Only this event type's.")
@_LIMIT
@JSON_OPTION
def deliveries_list(
    base_url: str,
    token: str,
    project_id: str,
    status: str | None,
    endpoint_id: str | None,
    event_id: str | None,
    event_type: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """The project's deliveries, newest first."""
    with api_client(base_url, token) as client:
        items = collect(
            client.list_deliveries,
            limit,
            project_id,
            status=status,
            endpoint_id=endpoint_id,
            event_id=event_id,
            event_type=event_type,
        )
    _print_list(items, DELIVERY_COLUMNS, as_json, "deliveries")


def _print_delivery(delivery: Any, as_json: bool) -> None:
    if as_json:
        print_json(delivery)
        return
    print_resource(delivery, skip=("attempts",))
    if delivery.get("attempts"):
        click.echo("")
        print_table(delivery["attempts"], ATTEMPT_COLUMNS)


_on_one(
    deliveries,
    "get",
    "DELIVERY_ID",
    "One delivery and its attempts (DELIVERY_ID: dlv_...); --json has each request and answer.",
    lambda client, project, ident: client.get_delivery(project, ident),
    _print_delivery,
)
_on_one(
    deliveries,
    "resend",
    "DELIVERY_ID",
    "Attempt a delivery once more, now (refused while an attempt is in flight).",
    lambda client, project, ident: client.resend(project, ident),
    _print_delivery,
)


COMMANDS: list[click.Command] = [endpoints, events, deliveries]
