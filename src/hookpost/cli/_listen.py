"""``hookpost listen``: a local receiver for integrators, like ``stripe listen``.

It answers 200 to every correctly signed delivery and 401 to anything else,
and prints both so a developer sees exactly what their endpoint would get.
"""

from __future__ import annotations

import asyncio
import json

import click
from aiohttp import web
from rich.console import Console
from rich.panel import Panel
from rich.syntax import Syntax

from hookpost.cli._common import Command
from hookpost.cli._receiving import PROFILE, TOLERANCE, check_secrets
from hookpost.verify import WebhookVerificationError, verify

__all__ = ["listen"]


def make_app(secret: str, profile: str, tolerance: int, console: Console) -> web.Application:
    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        try:
            event = verify(body, headers, secret, profile=profile, tolerance=tolerance)
        except WebhookVerificationError as exc:
            console.print(f"[bold red]✗ rejected[/] {request.method} {request.path_qs}: {exc}")
            return web.json_response({"error": str(exc)}, status=401)
        ident = headers.get("webhook-id") or headers.get("Webhook-Id") or ""
        title = f"[bold green]✓ verified[/] {request.method} {request.path_qs} {ident}"
        pretty = json.dumps(event, indent=2, ensure_ascii=False)
        console.print(
            Panel(Syntax(pretty, "json", word_wrap=True), title=title, title_align="left")
        )
        return web.json_response({"ok": True})

    app = web.Application(client_max_size=8 * 1024 * 1024)
    app.router.add_route("POST", "/{tail:.*}", receive)
    return app


async def run_listener(
    *, secret: str, profile: str, host: str, port: int, tolerance: int = 300
) -> None:
    console = Console()
    runner = web.AppRunner(make_app(secret, profile, tolerance, console), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    console.print(f"listening on http://{host}:{port}/ (profile {profile}); Ctrl-C to stop")
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


@click.command(cls=Command)
@click.option(
    "--secret",
    envvar="HOOKPOST_LISTEN_SECRET",
    required=True,
    callback=check_secrets,
    help="The endpoint's signing secret (whsec_...).",
)
@PROFILE
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=9000, show_default=True, type=int, help="Port to listen on.")
@TOLERANCE
def listen(secret: str, profile: str, host: str, port: int, tolerance: int) -> None:
    """A local receiver that verifies and pretty-prints each delivery."""
    asyncio.run(
        run_listener(secret=secret, profile=profile, host=host, port=port, tolerance=tolerance)
    )
