"""Receiver-side tools: ``verify`` (check one webhook's signature) and ``keygen``.

Also the options ``listen`` shares with them: ``--secret`` (refusing a secret that
would verify anything), ``--profile`` and ``--tolerance``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from hookpost.cli._common import EXIT_USAGE, CliError, Command

__all__ = ["COMMANDS", "PROFILE", "TOLERANCE", "check_secrets", "parse_headers"]


def check_secrets(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Refuse an empty, blank or key-less secret: it would verify signatures
    made with the empty HMAC key, which anyone can make."""
    from hookpost.profiles import usable_keys
    from hookpost.verify import InvalidSecretError

    if value is None or value == ():
        return value  # not given: the command says whether it needs one
    try:
        usable_keys(value, name="--secret")
    except InvalidSecretError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    return value


def _check_profile(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from hookpost.profiles import PROFILE_NAMES

    if value not in PROFILE_NAMES:
        known = ", ".join(PROFILE_NAMES)
        raise CliError(f"--profile: unknown profile {value!r}; known: {known}", EXIT_USAGE)
    return value


PROFILE = click.option(
    "--profile",
    default="standard",
    show_default=True,
    callback=_check_profile,
    help="The wire format the deliveries are signed in.",
)
TOLERANCE = click.option(
    "--tolerance",
    default=300,
    show_default=True,
    type=int,
    help="Seconds a signed timestamp may be off from now (replay protection).",
)


@click.command("verify", cls=Command)
@click.option(
    "--secret",
    required=True,
    multiple=True,
    callback=check_secrets,
    help="A signing secret; repeat it to accept several (during a rotation).",
)
@PROFILE
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
@TOLERANCE
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


@click.command(cls=Command)
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


COMMANDS = [verify_cmd, keygen]
