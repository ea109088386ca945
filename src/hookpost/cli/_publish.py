"""Publishing commands: ``send`` (one event, or a JSON-lines file through the batch
endpoint) and ``recover`` (resend failures in bulk, as a job with a progress bar).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from hookpost.cli._common import CliError, Command, api_options, http_exit_code

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
def send(
    base_url: str,
    token: str,
    project_id: str,
    event_type: str | None,
    data: str,
    event_id: str | None,
    events_file: Any,
) -> None:
    """Publish one event (--type, --data), or many from a JSON-lines file (--file)."""
    from hookpost.client import Client

    if events_file is not None:
        if event_type is not None or event_id is not None:
            raise click.UsageError("--file takes its events from the file: no --type/--event-id")
        _send_file(base_url, token, project_id, events_file)
        return
    if event_type is None:
        raise click.UsageError("Missing option '--type' (or --file)")
    raw = sys.stdin.read() if data == "-" else data
    try:
        payload = json.loads(raw)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--data") from None
    with Client(base_url, token=token) as client:
        result = client.publish(project_id, event_type, payload, event_id=event_id)
    click.echo(json.dumps(result, indent=2, ensure_ascii=False))


def _send_file(base_url: str, token: str, project_id: str, lines: Any) -> None:
    """``send --file``: each line an event, sent 500 a request; one line per event out.

    Every line is read and parsed before anything is sent, so a file with a
    line that is not a JSON object sends nothing. An event the server refuses
    (422, 409) is reported with its line number and does not stop the others;
    the exit code is then 1.
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
                raise CliError(
                    f"lines {chunk[0][0]}-{chunk[-1][0]}: {exc}", http_exit_code(exc)
                ) from None
            for (number, _), item in zip(chunk, answer["data"], strict=True):
                status = item["status"]
                if status in (200, 202):
                    counts["created" if status == 202 else "repeated"] += 1
                    click.echo(f"line {number}: {status} {item['id']}")
                else:
                    counts["refused"] += 1
                    click.echo(f"line {number}: {status} {item['message']}")
    click.echo(
        f"{counts['created']} created, {counts['repeated']} repeated (nothing created), "
        f"{counts['refused']} refused"
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
def recover(
    base_url: str,
    token: str,
    project_id: str,
    endpoint_id: str | None,
    since: str,
    until: str | None,
    wait: bool,
) -> None:
    """Resend failed deliveries in bulk, as a background job with a progress bar."""
    import time

    from rich.progress import Progress

    from hookpost.client import Client, models

    body: dict[str, Any] = {"since": since, "until": until, "endpoint_id": endpoint_id}
    with Client(base_url, token=token) as client:
        job: models.Job = client.recover_project(project_id, **body)
        click.echo(f"job {job['id']}: {job['total']} failed deliveries to resend")
        if not wait:
            return
        with Progress() as progress:
            bar = progress.add_task("resending", total=max(job["total"], 1))
            deadline = time.monotonic() + 3600
            while job["status"] in ("queued", "running") and time.monotonic() < deadline:
                time.sleep(0.5)
                job = client.get_job(project_id, job["id"])
                progress.update(bar, completed=job["done"])
            progress.update(bar, completed=max(job["total"], 1))
    click.echo(f"job {job['id']} {job['status']}: {job['done']} of {job['total']} queued again")
    if job["status"] != "succeeded":
        sys.exit(1)


COMMANDS = [send, recover]
