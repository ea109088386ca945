"""What every command module shares: the command class, exit codes, common options.

Every ``hookpost`` command is a :class:`Command`, which adds ``--debug`` (print
the traceback behind an error) to its own options, so the flag works after any
command name, as ``hookpost endpoints list --debug``. An expected failure is a
:class:`CliError`: one ``Error: ...`` line on stderr and one of the exit codes
below, the table docs/cli.md documents.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import click

from hookpost.config import Settings

__all__ = [
    "DATABASE_URL",
    "DEBUG_KEY",
    "EXIT_FAILED",
    "EXIT_REFUSED",
    "EXIT_SERVER_ERROR",
    "EXIT_UNREACHABLE",
    "EXIT_USAGE",
    "LOG_FORMAT",
    "LOG_LEVEL",
    "URL_KEY",
    "CliError",
    "Command",
    "Group",
    "api_options",
    "http_exit_code",
    "redact",
    "run_async",
    "settings",
]

#: The command ran, and what it did or checked failed (a bad signature, a refused
#: line of ``send --file``, a failed job, a schema that does not match, a busy port).
EXIT_FAILED = 1
#: A bad flag, argument or input (click's own code for usage errors).
EXIT_USAGE = 2
#: The hookpost API or the database could not be reached (refused, timed out, no such host).
EXIT_UNREACHABLE = 3
#: The API refused the request: an HTTP 4xx answer (401, 404, 409, 422, 429 ...).
EXIT_REFUSED = 4
#: The API failed: an HTTP 5xx answer.
EXIT_SERVER_ERROR = 5

#: ``ctx.meta`` key: True when ``--debug`` (or ``HOOKPOST_DEBUG=1``) was given.
DEBUG_KEY = "hookpost.debug"
#: ``ctx.meta`` key: the ``--url`` a command talks to, for the "cannot reach" line.
URL_KEY = "hookpost.url"


class CliError(click.ClickException):
    """An expected failure: ``Error: <message>`` on stderr and ``exit_code``."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        vars(self)["exit_code"] = exit_code  # click types it a ClassVar; one per instance here


def http_exit_code(exc: Exception) -> int:
    """The exit code for an HTTP error answer: 5 for a 5xx, 4 for a 4xx, 3 for no answer."""
    status = getattr(exc, "status", None)
    if not isinstance(status, int) or status == 0:
        return EXIT_UNREACHABLE
    return EXIT_SERVER_ERROR if status >= 500 else EXIT_REFUSED


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta[DEBUG_KEY] = True


def _debug_option() -> click.Option:
    return click.Option(
        ["--debug"],
        is_flag=True,
        expose_value=False,
        is_eager=True,
        envvar="HOOKPOST_DEBUG",
        callback=_set_debug,
        help="On an error, print the traceback too (also HOOKPOST_DEBUG=1).",
    )


class Command(click.Command):
    """A ``hookpost`` command: its options plus ``--debug``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(_debug_option())


class Group(click.Group):
    """A group of commands (``hookpost endpoints ...``) whose commands are :class:`Command`."""

    command_class = Command

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(_debug_option())


Group.group_class = Group


def settings(**overrides: Any) -> Settings:
    """The service's settings (file < environment < these flags); a bad value is a usage error."""
    try:
        return Settings.load(**overrides)
    except ValueError as exc:  # ConfigError, or a bad value in a flag
        raise click.UsageError(str(exc)) from None


def redact(url: str) -> str:
    """Hide a password in a database URL before printing it."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else url
    return url


def run_async(coro: Any) -> Any:
    """asyncio.run on uvloop when it is installed (measured: about a quarter faster)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


LOG_LEVEL = click.option(
    "--log-level",
    envvar="HOOKPOST_LOG_LEVEL",
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
    help="Lowest level logged [default: info].",
)
LOG_FORMAT = click.option(
    "--log-format",
    envvar="HOOKPOST_LOG_FORMAT",
    type=click.Choice(["auto", "json", "text"]),
    help="json or text lines; auto: JSON unless stderr is a terminal [default: auto].",
)
DATABASE_URL = click.option(
    "--database-url",
    envvar="HOOKPOST_DATABASE_URL",
    help="sqlite:///path or postgresql://user@host/db [default: sqlite:///./hookpost.db].",
)


def _remember_url(ctx: click.Context, param: click.Parameter, value: str) -> str:
    ctx.meta[URL_KEY] = value
    return value


def api_options(*, required: bool = True) -> Callable[[Any], Any]:
    """--url, --token, --project: what a command talking to a running hookpost needs.

    Each reads its environment variable (``HOOKPOST_URL``, ``HOOKPOST_TOKEN``,
    ``HOOKPOST_PROJECT``), and ``--help`` shows which. With ``required=False``
    (``listen``, which needs them only with ``--forward-to``) the command checks.
    """

    def decorate(command: Any) -> Any:
        for option in reversed(
            [
                click.option(
                    "--url",
                    "base_url",
                    envvar="HOOKPOST_URL",
                    show_envvar=True,
                    default="http://127.0.0.1:8000",
                    show_default=True,
                    callback=_remember_url,
                    help="Where the hookpost API answers.",
                ),
                click.option(
                    "--token",
                    envvar="HOOKPOST_TOKEN",
                    show_envvar=True,
                    required=required,
                    help="A project API key or the admin token.",
                ),
                click.option(
                    "--project",
                    "project_id",
                    envvar="HOOKPOST_PROJECT",
                    show_envvar=True,
                    required=required,
                    help="The project id (proj_...).",
                ),
            ]
        ):
            command = option(command)
        return command

    return decorate
