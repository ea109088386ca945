"""``hookpost listen``: a local receiver for integrators, like ``stripe listen``.

Alone (``--secret``) it answers 200 to every correctly signed delivery and
401 to anything else, and prints both, so a developer sees exactly what
their endpoint would get.

With ``--forward-to URL`` it stands between hookpost and the developer's app:

1. it binds its port first (a busy port is one line and exit code 1, before
   anything is registered);
2. it registers a temporary endpoint of the project pointing at itself
   (``--endpoint-url``, default ``http://HOST:PORT/``) and prints its signing
   secret -- or, with ``--endpoint ID``, uses that endpoint (pointed here by
   its owner) with the ``--secret`` given;
3. each delivery is verified (:func:`hookpost.verify.verify`), printed, and
   forwarded to URL with the headers hookpost sent (less hop-by-hop ones), and
   the app's status is printed and given back to hookpost as the answer, so
   retries follow what the app said (502 when the app cannot be reached);
4. on SIGINT or SIGTERM the temporary endpoint is deleted.

hookpost refuses endpoint URLs on loopback unless ``HOOKPOST_ALLOWED_NETWORKS``
allows them (docs/security.md): the ``make run`` server does.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import click
from aiohttp import web
from rich.console import Console
from rich.panel import Panel
from rich.syntax import Syntax

from hookpost.cli._common import (
    EXIT_FAILED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    CliError,
    Command,
    api_options,
    http_exit_code,
)
from hookpost.cli._output import JSON_LINES_OPTION
from hookpost.cli._receiving import PROFILE, TOLERANCE, check_secrets
from hookpost.cli._resources import comma_list
from hookpost.verify import WebhookVerificationError, verify

__all__ = ["listen"]

#: Not forwarded: they describe the hop from hookpost, not the request.
_HOP_BY_HOP = frozenset(
    {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "upgrade", "te"}
)
_FORWARD_TIMEOUT = 30.0


@dataclass
class _Receiver:
    """What each delivery is checked with, where it goes and how it is shown."""

    secret: str
    profile: str
    tolerance: int
    console: Console
    as_json: bool
    forward_to: str | None = None
    session: aiohttp.ClientSession | None = None

    def say(self, record: dict[str, Any], text: Any) -> None:
        if self.as_json:
            click.echo(json.dumps(record, ensure_ascii=False))
        else:
            self.console.print(text)

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        try:
            event = verify(
                body, headers, self.secret, profile=self.profile, tolerance=self.tolerance
            )
        except WebhookVerificationError as exc:
            where = f"{request.method} {request.path_qs}"
            self.say(
                {"verified": False, "path": request.path_qs, "error": str(exc)},
                f"[bold red]✗ rejected[/] {where}: {exc}",
            )
            return web.json_response({"error": str(exc)}, status=401)
        ident = headers.get("webhook-id") or headers.get("Webhook-Id") or ""
        record: dict[str, Any] = {"verified": True, "webhook_id": ident, "event": event}
        title = f"[bold green]✓ verified[/] {request.method} {request.path_qs} {ident}"
        pretty = json.dumps(event, indent=2, ensure_ascii=False)
        panel = Panel(Syntax(pretty, "json", word_wrap=True), title=title, title_align="left")
        if self.forward_to is None:
            self.say(record, panel)
            return web.json_response({"ok": True})
        if not self.as_json:
            self.console.print(panel)
        return await self.forward(record, body, headers)

    async def forward(
        self, record: dict[str, Any], body: bytes, headers: dict[str, str]
    ) -> web.Response:
        assert self.forward_to is not None and self.session is not None
        sent = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
        started = time.monotonic()
        try:
            async with self.session.post(self.forward_to, data=body, headers=sent) as answer:
                answer_body = await answer.read()
                status, kind = answer.status, answer.content_type
        except (aiohttp.ClientError, TimeoutError) as exc:
            reason = str(exc) or type(exc).__name__
            record["forwarded"] = {"url": self.forward_to, "status": None, "error": reason}
            self.say(record, f"[bold red]✗ forward failed[/] {self.forward_to}: {reason}")
            return web.json_response({"error": f"forward failed: {reason}"}, status=502)
        ms = (time.monotonic() - started) * 1000
        record["forwarded"] = {"url": self.forward_to, "status": status, "ms": round(ms)}
        colour = "green" if 200 <= status < 300 else "red"
        self.say(record, f"→ {self.forward_to} [bold {colour}]{status}[/] ({ms:.0f} ms)")
        return web.Response(body=answer_body, status=status, content_type=kind)


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything is registered (port 0: any free one)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise CliError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}", EXIT_FAILED
        ) from None
    return sock


async def _register(
    client: Any, project_id: str, url: str, profile: str, events: str | None
) -> dict[str, Any]:
    from hookpost.client import HookpostError

    event_types = comma_list(events) if events else None
    try:
        created: dict[str, Any] = await client.create_endpoint(
            project_id,
            url,
            profile=profile,
            event_types=event_types,
            description="hookpost listen (temporary: removed when it stops)",
        )
    except HookpostError as exc:
        if http_exit_code(exc) == EXIT_UNREACHABLE:
            raise  # no answer: "cannot reach ..."
        hint = ""
        if exc.status == 422 and "url" in str(exc).lower():
            hint = (
                " (hookpost refuses loopback and private URLs unless HOOKPOST_ALLOWED_NETWORKS"
                " allows them; or give --endpoint-url, an address hookpost can reach)"
            )
        message = f"cannot register an endpoint for {url}: {exc}{hint}"
        raise CliError(message, http_exit_code(exc)) from None
    return created


async def _run(
    receiver: _Receiver,
    sock: socket.socket,
    *,
    api: tuple[str, str | None, str | None],
    endpoint_id: str | None,
    endpoint_url: str | None,
    events: str | None,
) -> None:
    from hookpost.client import AsyncClient

    host, port = sock.getsockname()[:2]
    here = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    app = web.Application(client_max_size=8 * 1024 * 1024)
    app.router.add_route("POST", "/{tail:.*}", receiver.receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    base_url, token, project_id = api
    temporary: str | None = None
    client = AsyncClient(base_url, token=token) if receiver.forward_to else None
    try:
        ready: dict[str, Any] = {"listening": here, "profile": receiver.profile}
        if client is not None and project_id is not None:
            receiver.session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=_FORWARD_TIMEOUT)
            )
            if endpoint_id is None:
                created = await _register(
                    client, project_id, endpoint_url or here, receiver.profile, events
                )
                temporary = endpoint_id = created["id"]
                receiver.secret = created["secret"]
            else:
                existing = await client.get_endpoint(project_id, endpoint_id)
                receiver.profile = existing["profile"]
            ready.update(
                endpoint_id=endpoint_id,
                temporary=temporary is not None,
                secret=receiver.secret,
                forward_to=receiver.forward_to,
                profile=receiver.profile,
            )
        _ready(receiver, ready)
        await stop.wait()
    finally:
        if client is not None:
            if temporary is not None and project_id is not None:
                await _unregister(client, receiver, project_id, temporary)
            await client.aclose()
        if receiver.session is not None:
            await receiver.session.close()
        await runner.cleanup()


def _ready(receiver: _Receiver, ready: dict[str, Any]) -> None:
    if receiver.as_json:
        click.echo(json.dumps(ready))
        return
    console = receiver.console
    if "endpoint_id" in ready:
        kind = "temporary endpoint" if ready["temporary"] else "endpoint"
        console.print(f"{kind} {ready['endpoint_id']} delivers to {ready['listening']}")
        if ready["temporary"]:
            console.print(f"signing secret: {ready['secret']}")
        console.print(f"forwarding verified deliveries to {ready['forward_to']}")
    console.print(
        f"listening on {ready['listening']} (profile {ready['profile']}); Ctrl-C to stop",
        highlight=False,
    )


async def _unregister(client: Any, receiver: _Receiver, project_id: str, endpoint_id: str) -> None:
    try:
        await client.delete_endpoint(project_id, endpoint_id)
    except Exception as exc:  # an HTTP answer or no answer: say so, stopping goes on
        click.echo(f"could not remove the temporary endpoint {endpoint_id}: {exc}", err=True)
        return
    receiver.say({"removed": endpoint_id}, f"removed the temporary endpoint {endpoint_id}")


@click.command(cls=Command)
@click.option(
    "--secret",
    envvar="HOOKPOST_LISTEN_SECRET",
    default=None,
    callback=check_secrets,
    help="The endpoint's signing secret (whsec_...); not needed with --forward-to and no "
    "--endpoint (the temporary endpoint's own is used).",
)
@PROFILE
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=9000, show_default=True, type=int, help="Port to listen on (0: any free one)."
)
@TOLERANCE
@click.option(
    "--forward-to",
    default=None,
    help="Forward each verified delivery to this URL (your app) with its headers, and "
    "answer hookpost with the app's status. Registers a temporary endpoint.",
)
@click.option(
    "--endpoint",
    "endpoint_id",
    default=None,
    help="With --forward-to: use this endpoint (already pointed at this listener) instead "
    "of a temporary one; give its --secret.",
)
@click.option(
    "--events", default=None, help="The temporary endpoint's event types, comma-separated."
)
@click.option(
    "--endpoint-url",
    default=None,
    help="The URL hookpost delivers to, if not http://HOST:PORT/ (a tunnel, a container).",
)
@api_options(required=False)
@JSON_LINES_OPTION
def listen(
    secret: str | None,
    profile: str,
    host: str,
    port: int,
    tolerance: int,
    forward_to: str | None,
    endpoint_id: str | None,
    events: str | None,
    endpoint_url: str | None,
    base_url: str,
    token: str | None,
    project_id: str | None,
    as_json: bool,
) -> None:
    """A local receiver that verifies and pretty-prints each delivery; with --forward-to,
    also registers a temporary endpoint and forwards each delivery to your app.

    \b
    hookpost listen --secret whsec_...                  verify and print
    hookpost listen --forward-to http://127.0.0.1:3000/webhooks
                                                        ... and forward (needs
                                                        --token and --project)
    """
    if forward_to is None:
        if secret is None:
            raise CliError("Missing option '--secret' (or --forward-to)", EXIT_USAGE)
        if endpoint_id or events or endpoint_url:
            raise CliError("--endpoint, --events, --endpoint-url go with --forward-to", EXIT_USAGE)
    else:
        if not token or not project_id:
            raise CliError("--forward-to needs --token and --project", EXIT_USAGE)
        if endpoint_id and secret is None:
            raise CliError(
                "--endpoint needs its --secret (hookpost shows it only on creation)", EXIT_USAGE
            )
        if endpoint_id and (events or endpoint_url):
            raise CliError("--events and --endpoint-url are for a temporary endpoint", EXIT_USAGE)
    console = Console(stderr=as_json, highlight=False, soft_wrap=True)
    receiver = _Receiver(secret or "", profile, tolerance, console, as_json, forward_to)
    sock = _bind(host, port)
    asyncio.run(
        _run(
            receiver,
            sock,
            api=(base_url, token, project_id),
            endpoint_id=endpoint_id,
            endpoint_url=endpoint_url,
            events=events,
        )
    )
