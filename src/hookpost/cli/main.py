"""``hookpost serve | worker | migrate | config | openapi | send | listen | verify | ...``.

The service's settings (:mod:`hookpost.config`) come from a TOML file, the
``HOOKPOST_*`` environment and, for the few a command takes, its flags, each
over the one before; an option that sets a setting reads the same variable.
docs/configuration.md lists them all, and a test keeps that table, and a help
line for every option here, complete.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hookpost.config import Settings

if TYPE_CHECKING:
    from hookpost.core.crypto import SecretBox


def _settings(**overrides: Any) -> Settings:
    try:
        return Settings.load(**overrides)
    except ValueError as exc:  # ConfigError, or a bad value in a flag
        raise click.UsageError(str(exc)) from None


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
            "database": _redact(settings.database_url),
        },
    )
    if generated:
        path = f"{settings.data_dir}/.hookpost/admin_token"
        if json_lines:
            log.info("admin token kept in %s (sign in to the dashboard with it)", path)
        else:
            log.info("admin token: %s (kept in %s)", token, path)


_LOG_LEVEL = click.option(
    "--log-level",
    envvar="HOOKPOST_LOG_LEVEL",
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
    help="Lowest level logged [default: info].",
)
_LOG_FORMAT = click.option(
    "--log-format",
    envvar="HOOKPOST_LOG_FORMAT",
    type=click.Choice(["auto", "json", "text"]),
    help="json or text lines; auto: JSON unless stderr is a terminal [default: auto].",
)
_DATABASE_URL = click.option(
    "--database-url",
    envvar="HOOKPOST_DATABASE_URL",
    help="sqlite:///path or postgresql://user@host/db [default: sqlite:///./hookpost.db].",
)


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


def _api_options(command: Any) -> Any:
    """--url, --token, --project: what a command talking to a running hookpost needs."""
    for option in reversed(
        [
            click.option(
                "--url",
                "base_url",
                envvar="HOOKPOST_URL",
                default="http://127.0.0.1:8000",
                show_default=True,
                help="Where the hookpost API answers.",
            ),
            click.option(
                "--token",
                envvar="HOOKPOST_TOKEN",
                required=True,
                help="A project API key or the admin token.",
            ),
            click.option(
                "--project",
                "project_id",
                envvar="HOOKPOST_PROJECT",
                required=True,
                help="The project id (proj_...).",
            ),
        ]
    ):
        command = option(command)
    return command


def _run(coro: Any) -> Any:
    """asyncio.run on uvloop when it is installed (measured: about a quarter faster)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def _check_schema(settings: Settings) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from hookpost.store.migrate import SchemaMismatch, check_schema

    try:
        asyncio.run(check_schema(settings.database_url))
    except SchemaMismatch as exc:
        raise click.ClickException(str(exc)) from None
    except (OSError, SQLAlchemyError) as exc:  # not reachable, refused, no such file ...
        where = _redact(settings.database_url)
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise click.ClickException(f"cannot use the database {where}: {reason}") from None


def _ready_to_run(settings: Settings) -> SecretBox:
    """A long-running command's start checks; a failure is one log record (in the
    run's one format: JSON to a log shipper) and exit status 1."""
    try:
        _check_schema(settings)
        return _secret_box(settings)
    except click.ClickException as exc:
        logging.getLogger("hookpost").error(exc.format_message())
        raise SystemExit(1) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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


@main.command("openapi")
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


@main.command("config")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of TOML.")
def config_cmd(as_json: bool) -> None:
    """Print the effective configuration (file < environment), secrets masked."""
    values = _settings().masked()
    if as_json:
        click.echo(json.dumps(values, indent=2))
        return
    for key, value in values.items():
        if value is not None:
            click.echo(f"{key} = {json.dumps(value)}")


@main.command()
@_DATABASE_URL
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

    settings = _settings(database_url=database_url)
    where = _redact(settings.database_url)
    if check:
        try:
            asyncio.run(check_schema(settings.database_url))
        except SchemaMismatch as exc:
            raise click.ClickException(f"{exc} ({where})") from None
        except (OSError, SQLAlchemyError) as exc:
            raise click.ClickException(
                f"cannot read the schema of {where}: {type(exc).__name__}"
            ) from None
        click.echo(f"the schema is current ({where})")
        return
    try:
        before, after = run_migrations(settings.database_url)
    except SchemaMismatch as exc:
        raise click.ClickException(f"{exc} ({where})") from None
    if before is None:
        click.echo(f"created the schema at revision {after} in {where}")
    elif before == after:
        click.echo(f"already at revision {after}, the current schema: nothing to do ({where})")
    else:
        click.echo(f"upgraded the schema from revision {before} to {after} in {where}")


def _redact(url: str) -> str:
    """Hide a password in a database URL before printing it."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else url
    return url


@main.command()
@_DATABASE_URL
@click.option(
    "--older-than-days",
    type=float,
    envvar="HOOKPOST_RETENTION_DAYS",
    default=30,
    show_default=True,
    help="Delete attempts and finished events older than this.",
)
@click.option(
    "--batch", default=1000, show_default=True, type=int, help="Rows deleted per transaction."
)
def purge(database_url: str | None, older_than_days: float, batch: int) -> None:
    """Delete old attempts and finished events in bounded batches."""
    from hookpost.store import Store

    settings = _settings(database_url=database_url)
    _check_schema(settings)

    async def run() -> dict[str, int]:
        store = Store.from_url(
            settings.database_url, sqlite_synchronous=settings.sqlite_synchronous
        )
        try:
            return await store.purge(older_than_days * 86400, batch=batch)
        finally:
            await store.close()

    removed = asyncio.run(run())
    click.echo(f"purged {removed['attempts']} attempts and {removed['events']} events")


@main.command()
@click.option("--host", envvar="HOOKPOST_HOST", help="Address to listen on [default: 127.0.0.1].")
@click.option("--port", envvar="HOOKPOST_PORT", type=int, help="Port to listen on [default: 8000].")
@_DATABASE_URL
@click.option(
    "--admin-token",
    envvar="HOOKPOST_ADMIN_TOKEN",
    help="The token that sees every project [default: generated into "
    "<data dir>/.hookpost/admin_token].",
)
@click.option("--no-workers", is_flag=True, help="API only; run `hookpost worker` elsewhere.")
@_LOG_LEVEL
@_LOG_FORMAT
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

    settings = _settings(
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
    app = create_app(settings, check_migrations=False, box=box)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        log_config=None,  # uvicorn's lines go through hookpost's handler and format
        access_log=False,
        timeout_graceful_shutdown=30,
        **uvicorn_proxy_options(settings.forwarded_allow_ips),
    )


@main.command()
@_DATABASE_URL
@_LOG_LEVEL
@_LOG_FORMAT
def worker(database_url: str | None, log_level: str | None, log_format: str | None) -> None:
    """Run delivery workers only (no API)."""
    from hookpost.delivery import Dispatcher, TaskDied
    from hookpost.store import Store

    settings = _settings(database_url=database_url, log_level=log_level, log_format=log_format)
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
        extra={"database": _redact(settings.database_url)},
    )
    try:
        _run(run())
    except TaskDied as exc:  # logged with its traceback; exit 1 for the supervisor
        raise click.ClickException(str(exc)) from None


@main.command("rotate-key")
@_DATABASE_URL
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

    settings = _settings(database_url=database_url)
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


@main.command()
@_api_options
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
    from hookpost.client import Client, HookpostError

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
        try:
            result = client.publish(project_id, event_type, payload, event_id=event_id)
        except HookpostError as exc:
            raise click.ClickException(str(exc)) from None
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
                raise click.ClickException(f"lines {chunk[0][0]}-{chunk[-1][0]}: {exc}") from None
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


@main.command()
@_api_options
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

    from hookpost.client import Client, HookpostError

    body: dict[str, Any] = {"since": since, "until": until, "endpoint_id": endpoint_id}
    with Client(base_url, token=token) as client:
        try:
            job = client.recover_project(project_id, **body)
        except HookpostError as exc:
            raise click.ClickException(str(exc)) from None
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


class _SettingError(click.ClickException):
    """A bad option value: one ``Error: ...`` line and exit 2, before anything runs."""

    exit_code = 2


def _check_secrets(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Refuse an empty, blank or key-less secret: it would verify signatures
    made with the empty HMAC key, which anyone can make."""
    from hookpost.profiles import usable_keys
    from hookpost.verify import InvalidSecretError

    try:
        usable_keys(value, name="--secret")
    except InvalidSecretError as exc:
        raise _SettingError(str(exc)) from None
    return value


def _check_profile(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from hookpost.profiles import PROFILE_NAMES

    if value not in PROFILE_NAMES:
        known = ", ".join(PROFILE_NAMES)
        raise _SettingError(f"--profile: unknown profile {value!r}; known: {known}")
    return value


_PROFILE = click.option(
    "--profile",
    default="standard",
    show_default=True,
    callback=_check_profile,
    help="The wire format the deliveries are signed in.",
)
_TOLERANCE = click.option(
    "--tolerance",
    default=300,
    show_default=True,
    type=int,
    help="Seconds a signed timestamp may be off from now (replay protection).",
)


@main.command()
@click.option(
    "--secret",
    envvar="HOOKPOST_LISTEN_SECRET",
    required=True,
    callback=_check_secrets,
    help="The endpoint's signing secret (whsec_...).",
)
@_PROFILE
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=9000, show_default=True, type=int, help="Port to listen on.")
@_TOLERANCE
def listen(secret: str, profile: str, host: str, port: int, tolerance: int) -> None:
    """A local receiver that verifies and pretty-prints each delivery."""
    from hookpost.cli.listen import run_listener

    asyncio.run(
        run_listener(secret=secret, profile=profile, host=host, port=port, tolerance=tolerance)
    )


@main.command("verify")
@click.option(
    "--secret",
    required=True,
    multiple=True,
    callback=_check_secrets,
    help="A signing secret; repeat it to accept several (during a rotation).",
)
@_PROFILE
@click.option(
    "--headers",
    "headers_file",
    type=click.File("r"),
    required=True,
    help="Headers as JSON or 'Name: value' lines ('-' for stdin).",
)
@click.option(
    "--body", "body_file", type=click.File("rb"), default="-", help="The raw body (default: stdin)."
)
@_TOLERANCE
def verify_cmd(
    secret: tuple[str, ...], profile: str, headers_file: Any, body_file: Any, tolerance: int
) -> None:
    """Check a webhook's signature; exit 0 if valid, 1 if not."""
    from hookpost.verify import WebhookVerificationError, verify

    headers = parse_headers(headers_file.read())
    body = body_file.read()
    try:
        event = verify(body, headers, list(secret), profile=profile, tolerance=tolerance)
    except WebhookVerificationError as exc:
        click.echo(f"invalid: {exc}", err=True)
        sys.exit(1)
    click.echo("valid")
    click.echo(json.dumps(event, indent=2, ensure_ascii=False))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of two lines.")
def keygen(as_json: bool) -> None:
    """Make an ed25519 key pair for an endpoint's v1a signatures (standard profile).

    \b
    The whsk_ secret key is for hookpost alone: give it as "secret" when you
    create the endpoint (or send "signing": "ed25519" and hookpost makes the
    pair itself). The whpk_ public key is what receivers verify with.
    """
    from hookpost.profiles import generate_keypair

    secret_key, public_key = generate_keypair()
    if as_json:
        click.echo(json.dumps({"secret_key": secret_key, "public_key": public_key}, indent=2))
        return
    click.echo(f"secret key: {secret_key}")
    click.echo(f"public key: {public_key}")


def parse_headers(text: str) -> dict[str, str]:
    text = text.strip()
    if text.startswith("{"):
        data = json.loads(text)
        return {str(k): str(v) for k, v in data.items()}
    out: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep:
            out[name.strip()] = value.strip()
    return out


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
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
