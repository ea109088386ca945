"""Publishing commands: ``send`` (one event, or a JSON-lines file through the batch
endpoint), ``trigger`` (a sample event of a type, its payload made from the catalog's
schema) and ``recover`` (resend failures in bulk, as a job with a progress bar).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

import click

from hookpost.cli._common import (
    EXIT_UNREACHABLE,
    CliError,
    Command,
    api_options,
    http_exit_code,
)
from hookpost.cli._output import JSON_OPTION, print_json

__all__ = ["COMMANDS"]


@click.command(cls=Command)
@api_options()
@click.option("--type", "event_type", default=None, help="e.g. user.created")
@click.option("--data", default="{}", help="The payload, a JSON object ('-' reads stdin).")
@click.option("--event-id", default=None, help="Idempotency key; a repeat is not delivered twice.")
@click.option(
    "--file",
    "events_file",
    type=click.File("r", encoding="utf-8"),
    default=None,
    help="JSON lines, one event each ({event_type, payload, event_id}), '-' for stdin: "
    "sent through the batch endpoint, 500 a request, instead of --type/--data.",
)
@JSON_OPTION
def send(
    base_url: str,
    token: str,
    project_id: str,
    event_type: str | None,
    data: str,
    event_id: str | None,
    events_file: Any,
    as_json: bool,
) -> None:
    """Publish one event (--type, --data), or many from a JSON-lines file (--file)."""
    from hookpost.client import Client

    if events_file is not None:
        if event_type is not None or event_id is not None:
            raise click.UsageError("--file takes its events from the file: no --type/--event-id")
        _send_file(base_url, token, project_id, events_file, as_json)
        return
    if event_type is None:
        raise click.UsageError("Missing option '--type' (or --file)")
    payload = _payload(data)
    with Client(base_url, token=token) as client:
        result = client.publish(project_id, event_type, payload, event_id=event_id)
    _print_published(result, as_json)


def _payload(data: str) -> Any:
    """``--data``: JSON text, or ``-`` to read it from stdin."""
    raw = sys.stdin.read() if data == "-" else data
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--data") from None


def _print_published(event: Any, as_json: bool) -> None:
    if as_json:
        print_json(event)
        return
    count = event.get("deliveries")
    to = "" if count is None else f": {count} deliver{'y' if count == 1 else 'ies'}"
    click.echo(f"event {event['id']} ({event['event_type']}){to}")


@click.command(cls=Command)
@click.argument("event_type")
@api_options()
@click.option(
    "--data",
    default=None,
    help="The payload, a JSON object ('-' reads stdin) [default: a sample made from the "
    "event type's schema in the project's catalog].",
)
@click.option("--event-id", default=None, help="Idempotency key; a repeat is not delivered twice.")
@JSON_OPTION
def trigger(
    event_type: str,
    base_url: str,
    token: str,
    project_id: str,
    data: str | None,
    event_id: str | None,
    as_json: bool,
) -> None:
    """Publish a sample EVENT_TYPE event, to see what the endpoints get (like `stripe trigger`).

    \b
    The payload is --data, or one made from the catalog's entry for the type:
    its schema's examples, defaults and enums where it has them, a placeholder
    of the right JSON type for every other property. A type the catalog does
    not hold is sent with {} (unless the catalog is enforced, then refused).
    """
    from hookpost.client import Client, NotFound

    with Client(base_url, token=token) as client:
        if data is not None:
            payload = _payload(data)
        else:
            schema: Any = None
            try:
                schema = client.get_event_type(project_id, event_type).get("schema")
            except NotFound:
                click.echo(f"{event_type} is not in the project's catalog: sending {{}}", err=True)
            payload = sample(schema or {"type": "object"})
            if not isinstance(payload, dict):
                payload = {"value": payload}
        result = client.publish(project_id, event_type, payload, event_id=event_id)
    _print_published(result, as_json)


def sample(schema: Any) -> Any:
    """A value satisfying the simple parts of a JSON Schema, for ``trigger``.

    Its own example (``examples``, ``example``, ``default``, ``const``, the
    first of ``enum``) where it has one; else by ``type``: an object with every
    property, a one-item array, ``"string"`` (a URL, e-mail or time for those
    formats), the ``minimum`` (or 1, at most ``maximum``), ``true``, ``null``. ``anyOf``/``oneOf``
    take the first; ``allOf`` merges objects. A schema with no type is ``"sample"``.
    """
    if not isinstance(schema, dict):
        return "sample"
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    for key in ("example", "default", "const"):
        if key in schema:
            return schema[key]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return sample(schema[key][0])
    if isinstance(schema.get("allOf"), list):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = sample(part)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        properties = schema.get("properties") or {}
        return {name: sample(sub) for name, sub in properties.items()}
    if kind == "array":
        return [sample(schema["items"])] if isinstance(schema.get("items"), dict) else []
    if kind in ("integer", "number"):
        value = schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1)
        value = min(value, schema.get("maximum", value))
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if kind == "string":
        return _FORMATS.get(schema.get("format", ""), "string").ljust(
            schema.get("minLength", 0), "x"
        )
    return "sample"


_FORMATS = {
    "date-time": "2026-01-15T09:30:00Z",
    "date": "2026-01-15",
    "email": "jane@example.com",
    "uri": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


def _send_file(base_url: str, token: str, project_id: str, lines: Any, as_json: bool) -> None:
    """``send --file``: each line an event, sent 500 a request; one line per event out.

    Every line is read and parsed before anything is sent, so a file with a
    line that is not a JSON object sends nothing. An event the server refuses
    (422, 409) is reported with its line number and does not stop the others;
    the exit code is then 1. With ``--json`` each event's line is its item of the
    batch answer as JSON, with ``"line"``: its line number in the file (JSON
    lines on stdout; the totals go to stderr).
    """
    from hookpost.client import MAX_BATCH, Client, HookpostError

    events: list[tuple[int, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError as exc:
            raise click.BadParameter(
                f"line {number} is not JSON: {exc}", param_hint="--file"
            ) from None
        if not isinstance(event, dict):
            raise click.BadParameter(f"line {number} is not a JSON object", param_hint="--file")
        events.append((number, event))
    counts = {"created": 0, "repeated": 0, "refused": 0}
    with Client(base_url, token=token) as client:
        for start in range(0, len(events), MAX_BATCH):
            chunk = events[start : start + MAX_BATCH]
            try:
                answer = client.publish_batch(project_id, [e for _, e in chunk])
            except HookpostError as exc:
                if http_exit_code(exc) == EXIT_UNREACHABLE:
                    raise  # no answer: "cannot reach ...", whichever lines
                raise CliError(
                    f"lines {chunk[0][0]}-{chunk[-1][0]}: {exc}", http_exit_code(exc)
                ) from None
            for (number, _), item in zip(chunk, answer["data"], strict=True):
                status = item["status"]
                if status in (200, 202):
                    counts["created" if status == 202 else "repeated"] += 1
                    said = f"line {number}: {status} {item['id']}"
                else:
                    counts["refused"] += 1
                    said = f"line {number}: {status} {item['message']}"
                if as_json:
                    said = json.dumps({"line": number, **item}, ensure_ascii=False)
                click.echo(said)
    click.echo(
        f"{counts['created']} created, {counts['repeated']} repeated (nothing created), "
        f"{counts['refused']} refused",
        err=as_json,
    )
    if counts["refused"]:
        sys.exit(1)


@click.command(cls=Command)
@api_options()
@click.option("--endpoint", "endpoint_id", default=None, help="Only this endpoint's deliveries.")
@click.option("--since", required=True, help="ISO 8601 time: resend failures created since then.")
@click.option("--until", default=None, help="ISO 8601 time (default: now).")
@click.option(
    "--wait/--no-wait", default=True, show_default=True, help="Follow the job's progress."
)
@JSON_OPTION
def recover(
    base_url: str,
    token: str,
    project_id: str,
    endpoint_id: str | None,
    since: str,
    until: str | None,
    wait: bool,
    as_json: bool,
) -> None:
    """Resend failed deliveries in bulk, as a background job with a progress bar.

    With --json, no progress bar: the job as the API shows it, once it ended
    (or at once with --no-wait). The exit code is 1 if the job did not succeed.
    """
    from rich.progress import Progress

    from hookpost.client import Client, models

    body: dict[str, Any] = {"since": since, "until": until, "endpoint_id": endpoint_id}
    with Client(base_url, token=token) as client:
        job: models.Job = client.recover_project(project_id, **body)
        if as_json and wait:
            job = _wait_for_job(client, project_id, job, lambda _: None)
        elif wait:
            click.echo(f"job {job['id']}: {job['total']} failed deliveries to resend")
            with Progress() as progress:
                bar = progress.add_task("resending", total=max(job["total"], 1))
                job = _wait_for_job(
                    client, project_id, job, lambda j: progress.update(bar, completed=j["done"])
                )
                progress.update(bar, completed=max(job["total"], 1))
        elif not as_json:
            click.echo(f"job {job['id']}: {job['total']} failed deliveries to resend")
    if as_json:
        print_json(job)
    elif wait:
        click.echo(f"job {job['id']} {job['status']}: {job['done']} of {job['total']} queued again")
    if wait and job["status"] != "succeeded":
        sys.exit(1)


def _wait_for_job(client: Any, project_id: str, job: Any, seen: Callable[[Any], None]) -> Any:
    """Read the job every half second until it ends (an hour at most); ``seen`` each reading."""
    deadline = time.monotonic() + 3600
    while job["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.5)
        job = client.get_job(project_id, job["id"])
        seen(job)
    return job


COMMANDS = [send, trigger, recover]
