"""``hookpost``: the command group, and how a failure reaches the terminal.

The commands live in modules by job: ``_server`` (serve, worker, migrate and
the other commands that run hookpost on its database), ``_publish`` (send,
trigger, recover), ``_resources`` (endpoints, events, deliveries), ``_tail``,
``_listen`` (a local receiver that can forward to your app), ``_receiving``
(verify, keygen), ``_accounts`` (users, tokens: operator accounts on the
database); ``completion`` is here.

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

from hookpost.cli import _accounts, _listen, _publish, _receiving, _resources, _server, _tail
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
    if isinstance(exc, httpx.TransportError):  # from a client that does not wrap them
        reason = str(exc).strip() or type(exc).__name__
        return CliError(f"cannot reach {where}: {reason}", EXIT_UNREACHABLE)
    if isinstance(exc, HookpostError):
        code = http_exit_code(exc)
        if code == EXIT_UNREACHABLE:  # ConnectionFailed: no answer
            return CliError(f"cannot reach {where}: {exc.message or exc}", code)
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


_EPILOG = """\b
Commands that talk to a running hookpost read:
  HOOKPOST_URL      --url: where its API answers [default: http://127.0.0.1:8000]
  HOOKPOST_TOKEN    --token: a project API key or the admin token
  HOOKPOST_PROJECT  --project: the project id (proj_...)
  HOOKPOST_DEBUG=1  --debug: print the traceback behind an error

\b
Exit codes: 0 done; 1 failed (a bad signature, a refused event, a busy port,
a schema to migrate); 2 bad usage or input; 3 the API or the database could
not be reached; 4 the API refused the request (HTTP 4xx); 5 the API failed
(HTTP 5xx). docs/cli.md has every command.
"""


@click.group(cls=_Main, epilog=_EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
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


@main.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL (bash, zsh or fish).

    \b
    bash:  eval "$(hookpost completion bash)"        (in ~/.bashrc)
    zsh:   eval "$(hookpost completion zsh)"         (in ~/.zshrc)
    fish:  hookpost completion fish > ~/.config/fish/completions/hookpost.fish
    """
    from click.shell_completion import get_completion_class

    complete = get_completion_class(shell)
    assert complete is not None  # the three choices are click's own
    click.echo(complete(main, {}, "hookpost", "_HOOKPOST_COMPLETE").source())


for _command in (
    *_server.COMMANDS,
    *_publish.COMMANDS,
    *_resources.COMMANDS,
    _tail.tail,
    _listen.listen,
    *_receiving.COMMANDS,
    *_accounts.COMMANDS,
):
    main.add_command(_command)
