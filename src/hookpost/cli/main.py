"""``hookpost``: the command group, and how a failure reaches the terminal.

The commands live in modules by job: ``_server`` (serve, worker, migrate and
the other commands that run hookpost on its database), ``_publish`` (send,
recover), ``_receiving`` (verify, keygen), ``_listen`` (a local receiver).

The service's settings (:mod:`hookpost.config`) come from a TOML file, the
``HOOKPOST_*`` environment and, for the few a command takes, its flags, each
over the one before; an option that sets a setting reads the same variable.
docs/configuration.md lists them all, and a test keeps that table, and a help
line for every option here, complete.

An expected failure never prints a traceback: the API unreachable, an HTTP
error answer, a database that cannot be reached are each one ``Error: ...``
line on stderr and an exit code from the table in docs/cli.md (the
``EXIT_*`` constants of ``_common``); ``--debug`` prints the traceback too.
"""

from __future__ import annotations

import os
import traceback
from typing import Any

import click

from hookpost.cli import _listen, _publish, _receiving, _server
from hookpost.cli._common import (
    DEBUG_KEY,
    EXIT_UNREACHABLE,
    URL_KEY,
    CliError,
    Group,
    http_exit_code,
)

__all__ = ["main"]


def _failure(exc: Exception, ctx: click.Context) -> CliError | None:
    """The one line and exit code for an expected failure; None for a bug."""
    import httpx

    from hookpost.client import HookpostError

    where = ctx.meta.get(URL_KEY, "the hookpost API")
    if isinstance(exc, httpx.TransportError) or type(exc).__name__ == "ConnectionFailed":
        reason = str(exc).strip() or type(exc).__name__
        return CliError(f"cannot reach {where}: {reason}", EXIT_UNREACHABLE)
    if isinstance(exc, HookpostError):
        code = http_exit_code(exc)
        if code == EXIT_UNREACHABLE:
            return CliError(f"cannot reach {where}: {exc}", code)
        return CliError(str(exc), code)
    return None


class _Main(Group):
    """The top group: turns an expected failure of any command into one line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            if ctx.meta.get(DEBUG_KEY) and exc.__context__ is not None:
                traceback.print_exception(exc.__context__)
            raise
        except Exception as exc:
            failure = _failure(exc, ctx)
            if failure is None:
                raise  # a bug: its traceback is what a report needs
            if ctx.meta.get(DEBUG_KEY):
                traceback.print_exception(exc)
            raise failure from None


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hookpost")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="A TOML file of settings (default: $HOOKPOST_CONFIG or ./hookpost.toml).",
)
def main(config_file: str | None) -> None:
    """hookpost: webhook delivery -- publish events, hookpost signs, delivers and retries."""
    if config_file:
        os.environ["HOOKPOST_CONFIG"] = config_file


for _command in (*_server.COMMANDS, *_publish.COMMANDS, *_receiving.COMMANDS, _listen.listen):
    main.add_command(_command)
