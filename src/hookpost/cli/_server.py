"""Server and admin commands: ``serve``, ``worker``, ``migrate``, ``purge``, ``rotate-key``,
``config``, ``openapi``, ``bench``.

These run hookpost itself, on its database, rather than talk to a running one.
A database that cannot be reached is one line and exit code 3 (``EXIT_UNREACHABLE``);
one whose schema does not match is exit code 1, saying which command fixes it.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import secrets
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from hookpost.cli._common import (
    DATABASE_URL,
    EXIT_FAILED,
    EXIT_UNREACHABLE,
    LOG_FORMAT,
    LOG_LEVEL,
    CliError,
    Command,
    redact,
    run_async,
)
from hookpost.cli._common import settings as load_settings
from hookpost.config import Settings
from hookpost.domain import SHELL, acting_as

if TYPE_CHECKING:
    from hookpost.core.crypto import SecretBox

__all__ = ["COMMANDS"]


def _setup_logging(settings: Settings) -> bool:
    """Logging for a long-running command; True when the lines are JSON."""
    from hookpost.logs import setup_logging

    return setup_logging(settings.log_level, log_format=settings.log_format)


def _banner(settings: Settings, token: str, generated: bool, json_lines: bool) -> None:
    """Where to find things, as log records: the same format as every other line.

    The admin token is shown only to a person at a terminal (text lines) and only
    when it was generated; a JSON stream goes to log storage, so it names the file.
    """
    log = logging.getLogger("hookpost")
    base = f"http://{settings.host}:{settings.port}"
    public = settings.public_url or base
    log.info(
        "hookpost %s on %s",
        "API + workers" if settings.workers else "API",
        base,
        extra={
            "docs": f"{public}/docs",
            "dashboard": f"{public}/",
            "database": redact(settings.database_url),
        },
    )
    if generated:
        path = f"{settings.data_dir}/.hookpost/admin_token"
        if json_lines:
            log.info("admin token kept in %s (sign in to the dashboard with it)", path)
        else:
            log.info("admin token: %s (kept in %s)", token, path)


def _admin_token(settings: Settings) -> tuple[str, bool]:
    """The configured admin token, or one generated once and kept in the data dir."""
    from hookpost.core.private_files import private_dir

    if settings.admin_token:
        return settings.admin_token, False
    path = Path(settings.data_dir) / ".hookpost" / "admin_token"
    if path.exists():
        return path.read_text().strip(), True
    private_dir(path.parent)
    token = "hpadm_" + secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    return token, True


def _secret_box(settings: Settings) -> SecretBox:
    """The key ring, made (and its file created) before anything starts."""
    from hookpost.core.crypto import SecretKeyError
    from hookpost.core.keyfile import load_secret_box

    try:
        return load_secret_box(settings)
    except (SecretKeyError, ValueError, OSError) as exc:
        raise click.UsageError(f"HOOKPOST_SECRET_KEY: {exc}") from None


def _check_schema(settings: Settings) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from hookpost.store.migrate import SchemaMismatch, check_schema

    try:
        asyncio.run(check_schema(settings.database_url))
    except SchemaMismatch as exc:
        raise click.ClickException(str(exc)) from None
    except (OSError, SQLAlchemyError) as exc:  # not reachable, refused, no such file ...
        where = redact(settings.database_url)
        raise CliError(
            f"cannot use the database {where}: {_reason(exc)}", EXIT_UNREACHABLE
        ) from None


def _reason(exc: BaseException) -> str:
    """The first line of an error (a driver's message runs on for a page)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _ready_to_run(settings: Settings) -> SecretBox:
    """A long-running command's start checks; a failure is one log record (in the
    run's one format: JSON to a log shipper) and its exit code (3: no database)."""
    try:
        _check_schema(settings)
        return _secret_box(settings)
    except click.ClickException as exc:
        logging.getLogger("hookpost").error(exc.format_message())
        raise SystemExit(exc.exit_code) from None


@click.command("openapi", cls=Command)
@click.option("--markdown", is_flag=True, help="A Markdown API reference instead of the JSON spec.")
def openapi_cmd(markdown: bool) -> None:
    """Print the OpenAPI spec (or the Markdown reference in docs/api.md)."""
    from hookpost.api.app import create_app
    from hookpost.api.reference import markdown_reference

    spec = create_app(Settings(admin_token="unused")).openapi()
    if markdown:
        click.echo(markdown_reference(spec), nl=False)
    else:
        click.echo(json.dumps(spec, indent=2))


@click.command("config", cls=Command)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of TOML.")
def config_cmd(as_json: bool) -> None:
    """Print the effective configuration (file < environment), secrets masked."""
    values = load_settings().masked()
    if as_json:
        click.echo(json.dumps(values, indent=2))
        return
    for key, value in values.items():
        if value is not None:
            click.echo(f"{key} = {json.dumps(value)}")


class _Stopped(Exception):
    """SIGTERM, re-raised by uvicorn once it has shut down (see ``serve``)."""


def _stopped(_signum: int, _frame: object) -> None:
    raise _Stopped


#: Allocations (less deallocations) between two collections of the youngest
#: generation: Python's default is 700.
GC_YOUNG_THRESHOLD = 10_000


def _settle_heap() -> None:
    """Keep the cyclic garbage collector off the hot path of a long-running server
    (``serve`` and ``worker``).

    What is alive once the app is built (modules, classes, routes, the spec:
    ~180,000 objects) stays alive: frozen, no collection walks it again,
    where each full collection walked all of it (~100 ms, twice in 2,000
    publishes, measured). A request's garbage is freed by reference counting
    on the spot, so collecting the youngest generation every 700 allocations
    (a few times a request) bought nothing; every 10,000 it cost, in-process
    under 32 publishers, 0.57 ms of CPU a publish against 0.77-1.08 (issue 15).
    """
    gc.collect()
    gc.freeze()
    _young, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


@click.command(cls=Command)
@DATABASE_URL
@click.option(
    "--check",
    is_flag=True,
    help="Change nothing: exit 0 if the schema is current, 1 (saying why) if not. "
    "For an init container that waits for the migration job.",
)
def migrate(database_url: str | None, check: bool) -> None:
    """Create or upgrade the database schema, and say which it did."""
    from sqlalchemy.exc import SQLAlchemyError

    from hookpost.store.migrate import SchemaMismatch, check_schema
    from hookpost.store.migrate import migrate as run_migrations

    settings = load_settings(database_url=database_url)
    where = redact(settings.database_url)
    if check:
        try:
            asyncio.run(check_schema(settings.database_url))
        except SchemaMismatch as exc:
            raise click.ClickException(f"{exc} ({where})") from None
        except (OSError, SQLAlchemyError) as exc:
            raise CliError(
                f"cannot read the schema of {where}: {_reason(exc)}", EXIT_UNREACHABLE
            ) from None
        click.echo(f"the schema is current ({where})")
        return
    try:
        before, after = run_migrations(settings.database_url)
    except SchemaMismatch as exc:
        raise click.ClickException(f"{exc} ({where})") from None
    except (OSError, SQLAlchemyError) as exc:  # not reachable, refused, no such file ...
        raise CliError(f"cannot migrate {where}: {_reason(exc)}", EXIT_UNREACHABLE) from None
    if before is None:
        click.echo(f"created the schema at revision {after} in {where}")
    elif before == after:
        click.echo(f"already at revision {after}, the current schema: nothing to do ({where})")
    else:
        click.echo(f"upgraded the schema from revision {before} to {after} in {where}")


@click.command(cls=Command)
@DATABASE_URL
@click.option(
    "--older-than-days",
    type=float,
    envvar="HOOKPOST_RETENTION_DAYS",
    default=30,
    show_default=True,
    help="Delete attempts and finished events older than this.",
)
@click.option(
    "--audit-older-than-days",
    type=float,
    envvar="HOOKPOST_AUDIT_RETENTION_DAYS",
    default=365,
    show_default=True,
    help="Delete audit log entries older than this (0 keeps them).",
)
@click.option(
    "--batch", default=1000, show_default=True, type=int, help="Rows deleted per transaction."
)
def purge(
    database_url: str | None, older_than_days: float, audit_older_than_days: float, batch: int
) -> None:
    """Delete old attempts, finished events and audit entries in bounded batches."""
    from hookpost.store import Store

    settings = load_settings(database_url=database_url)
    _check_schema(settings)

    async def run() -> dict[str, int]:
        store = Store.from_url(
            settings.database_url, sqlite_synchronous=settings.sqlite_synchronous
        )
        try:
            removed = await store.purge(older_than_days * 86400, batch=batch)
            removed["audit"] = 0
            if audit_older_than_days > 0:
                removed["audit"] = await store.purge_audit(
                    audit_older_than_days * 86400, batch=batch
                )
            return removed
        finally:
            await store.close()

    removed = asyncio.run(run())
    click.echo(
        f"purged {removed['attempts']} attempts, {removed['events']} events "
        f"and {removed['audit']} audit entries"
    )


@click.command(cls=Command)
@click.option("--host", envvar="HOOKPOST_HOST", help="Address to listen on [default: 127.0.0.1].")
@click.option("--port", envvar="HOOKPOST_PORT", type=int, help="Port to listen on [default: 8000].")
@DATABASE_URL
@click.option(
    "--admin-token",
    envvar="HOOKPOST_ADMIN_TOKEN",
    help="The token that sees every project [default: generated into "
    "<data dir>/.hookpost/admin_token].",
)
@click.option("--no-workers", is_flag=True, help="API only; run `hookpost worker` elsewhere.")
@LOG_LEVEL
@LOG_FORMAT
def serve(
    host: str | None,
    port: int | None,
    database_url: str | None,
    admin_token: str | None,
    no_workers: bool,
    log_level: str | None,
    log_format: str | None,
) -> None:
    """Run the API, the dashboard and the delivery workers in one process.

    \b
    These flags override the environment (HOOKPOST_*), which overrides the
    config file (--config, $HOOKPOST_CONFIG or ./hookpost.toml); every other
    setting is set there: see docs/configuration.md or `hookpost config`.
    """
    import uvicorn

    from hookpost.api.app import create_app
    from hookpost.core.forwarded import uvicorn_proxy_options
    from hookpost.delivery import TaskDied

    settings = load_settings(
        host=host,
        port=port,
        database_url=database_url,
        admin_token=admin_token,
        log_level=log_level,
        log_format=log_format,
    )
    if no_workers:
        settings = settings.with_(workers=False)
    token, generated = _admin_token(settings)
    settings = settings.with_(admin_token=token)
    json_lines = _setup_logging(settings)
    box = _ready_to_run(settings)
    _banner(settings, token, generated, json_lines)
    from hookpost.cli._accounts import announce_first_owner

    announce_first_owner(settings, json_lines)
    died: list[TaskDied] = []

    def worker_died(exc: TaskDied) -> None:
        # The embedded worker stopped (logged with its traceback): stop serving too,
        # gracefully, and exit 1 below, so a supervisor restarts the whole process.
        died.append(exc)
        server.should_exit = True

    app = create_app(settings, check_migrations=False, box=box, on_worker_death=worker_died)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level.lower(),
            log_config=None,  # uvicorn's lines go through hookpost's handler and format
            access_log=False,
            timeout_graceful_shutdown=30,
            **uvicorn_proxy_options(settings.forwarded_allow_ips),
        )
    )
    # uvicorn stops gracefully on SIGINT/SIGTERM, then re-raises the signal under the
    # handler that was there before: Python's KeyboardInterrupt for Ctrl-C, and for
    # SIGTERM the default, death by the signal (exit 143), which a supervisor reads as
    # a crash. A stop asked for is a clean exit 0, as gunicorn's is.
    previous = signal.signal(signal.SIGTERM, _stopped)
    _settle_heap()
    try:
        server.run()
    except (KeyboardInterrupt, _Stopped):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    if died:
        raise CliError(f"stopped: the delivery worker died ({died[0]})", EXIT_FAILED)
    if not server.started:  # uvicorn logged why (a busy port, most often)
        raise CliError(f"could not listen on {settings.host}:{settings.port}", EXIT_FAILED)


@click.command(cls=Command)
@DATABASE_URL
@LOG_LEVEL
@LOG_FORMAT
def worker(database_url: str | None, log_level: str | None, log_format: str | None) -> None:
    """Run delivery workers only (no API)."""
    from hookpost.delivery import Dispatcher, TaskDied
    from hookpost.store import Store

    settings = load_settings(database_url=database_url, log_level=log_level, log_format=log_format)
    _setup_logging(settings)
    box = _ready_to_run(settings)

    async def run() -> None:
        store = Store.from_url(
            settings.database_url, box=box, sqlite_synchronous=settings.sqlite_synchronous
        )
        dispatcher = Dispatcher(store, settings)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, dispatcher.stop)
        try:
            await dispatcher.run()
        finally:
            await store.close()

    logging.getLogger("hookpost").info(
        "hookpost worker: delivering (Ctrl-C to stop)",
        extra={"database": redact(settings.database_url)},
    )
    _settle_heap()  # as serve does: the same collector walks cost a worker too
    try:
        run_async(run())
    except TaskDied as exc:  # logged with its traceback; exit 1 for the supervisor
        raise click.ClickException(str(exc)) from None


@click.command("rotate-key", cls=Command)
@DATABASE_URL
@click.option(
    "--generate",
    is_flag=True,
    help="First make a new key (in the key file; with HOOKPOST_SECRET_KEY set, print one).",
)
def rotate_key(database_url: str | None, generate: bool) -> None:
    """Re-encrypt every endpoint secret (and secret custom header) under the current key.

    Secret headers stored in clear by an older hookpost are encrypted too.

    \b
    Key file (the default): `hookpost rotate-key --generate` adds a new current
    key to <data dir>/.hookpost/secret_key (former keys stay for decryption),
    re-encrypts, and running processes pick the new key up when restarted.
    HOOKPOST_SECRET_KEY: set the new key there and the former one in
    HOOKPOST_SECRET_KEY_OLD on every process, restart them, then run this.
    """
    from hookpost.core.crypto import generate_key
    from hookpost.core.keyfile import add_key_to_file, key_path
    from hookpost.store import Store

    settings = load_settings(database_url=database_url)
    if generate and settings.secret_key:
        click.echo("HOOKPOST_SECRET_KEY is set, so the key lives in the environment. A new key:")
        click.echo(f"  {generate_key()}")
        click.echo(
            "Set it as HOOKPOST_SECRET_KEY and the current one as HOOKPOST_SECRET_KEY_OLD on "
            "every hookpost process, restart them, then run `hookpost rotate-key`."
        )
        return
    _check_schema(settings)
    if generate:
        kid = add_key_to_file(settings)
        click.echo(f"new key {kid} in {key_path(settings)}")
    box = _secret_box(settings)

    async def run() -> dict[str, int]:
        store = Store.from_url(
            settings.database_url, box=box, sqlite_synchronous=settings.sqlite_synchronous
        )
        try:
            with acting_as(SHELL):
                return await store.reseal_secrets()
        finally:
            await store.close()

    done = asyncio.run(run())
    click.echo(
        f"re-encrypted {done['resealed']} of {done['endpoints']} endpoints' secrets "
        f"under key {box.key_id}"
    )
    if generate:
        click.echo("restart running hookpost processes so they use the new key")


@click.command(
    cls=Command, context_settings={"ignore_unknown_options": True, "allow_extra_args": True}
)
@click.pass_context
def bench(ctx: click.Context) -> None:
    """Run the core benchmark of a source checkout (python -m benchmarks core [options]).

    The benchmarks are developer tooling and are not installed with hookpost:
    run this from the root of a hookpost repository, e.g.
    ``hookpost bench --events 5000 --endpoints 1,10 --rate 500``.
    """
    sys.path.insert(0, os.getcwd())
    try:
        from benchmarks.__main__ import main as benchmarks_main
    except ImportError:
        raise click.ClickException(
            "hookpost bench runs the benchmarks of a source checkout: run it from the "
            "repository root (or: python -m benchmarks core)"
        ) from None
    benchmarks_main(["core", *ctx.args])


COMMANDS = [openapi_cmd, config_cmd, migrate, purge, serve, worker, rotate_key, bench]
