"""``hookpost users ...`` and ``hookpost tokens create``: operator accounts from the shell.

These commands write to the database directly (no running server needed), as
the ``shell`` actor. A new operator, or one whose password is reset, gets a
one-time set-password link -- printed here once, built on
``HOOKPOST_PUBLIC_URL`` when it is set -- and has no password until it is
used. A personal token is printed once; hookpost keeps only its hash.
:func:`first_owner` is what ``hookpost serve`` runs on a database with no
operator yet.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from hookpost.cli._common import DATABASE_URL, Group
from hookpost.cli._common import settings as load_settings
from hookpost.domain import roles

if TYPE_CHECKING:
    from hookpost.config import Settings
    from hookpost.store import Store

T = TypeVar("T")


def _with_store(database_url: str | None, work: Callable[[Store], Awaitable[T]]) -> T:
    """Run ``work`` against the database as the shell actor; domain errors become usage
    errors naming what was wrong."""
    from hookpost.cli._server import _check_schema
    from hookpost.domain import SHELL, Conflict, Invalid, NotFound, acting_as
    from hookpost.store import Store

    settings = load_settings(database_url=database_url)
    _check_schema(settings)

    async def run() -> T:
        store = Store.from_url(
            settings.database_url, sqlite_synchronous=settings.sqlite_synchronous
        )
        try:
            with acting_as(SHELL):
                return await work(store)
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except (Invalid, Conflict) as exc:
        raise click.ClickException(str(exc)) from None
    except NotFound as exc:
        raise click.ClickException(f"no such {exc}") from None


def _link(database_url: str | None, token: str) -> str:
    from hookpost.web.links import set_password_link

    return set_password_link(load_settings(database_url=database_url), token)


@click.group(cls=Group)
def users() -> None:
    """Operator accounts: create, list, disable, reset a password, change a role."""


@users.command("create")
@click.argument("email")
@click.option(
    "--role", required=True, type=click.Choice(list(roles.ROLES)), help="What the operator may do."
)
@click.option(
    "--project",
    "projects",
    multiple=True,
    help="Limit the operator to this project (repeat for several; default: every project).",
)
@DATABASE_URL
def create(email: str, role: str, projects: tuple[str, ...], database_url: str | None) -> None:
    """Create an operator and print its one-time set-password link."""

    async def work(store: Store) -> tuple[dict[str, Any], str]:
        return await store.create_operator(email, role, list(projects) or None)

    row, token = _with_store(database_url, work)
    click.echo(f"created {row['email']} ({row['role']}), id {row['id']}")
    click.echo(f"set-password link (works once, for 7 days): {_link(database_url, token)}")


@users.command("list")
@DATABASE_URL
def list_cmd(database_url: str | None) -> None:
    """Every operator: email, role, projects, state."""

    async def work(store: Store) -> list[dict[str, Any]]:
        return await store.list_operators()

    for row in _with_store(database_url, work):
        state = (
            "disabled" if row["disabled_at"] else ("active" if row["has_password"] else "invited")
        )
        scope = ",".join(row["projects"]) if row["projects"] else "all projects"
        click.echo(f"{row['id']}  {row['email']:<32} {row['role']:<9} {state:<9} {scope}")


@users.command("disable")
@click.argument("email")
@click.option("--enable", is_flag=True, help="Enable a disabled operator again instead.")
@DATABASE_URL
def disable(email: str, enable: bool, database_url: str | None) -> None:
    """Disable an operator: its sessions end and its tokens stop working."""

    async def work(store: Store) -> dict[str, Any]:
        found = await store.operator_by_email(email)
        return await store.set_operator_disabled(found["id"], not enable)

    row = _with_store(database_url, work)
    click.echo(f"{row['email']} {'enabled' if enable else 'disabled'}")


@users.command("reset-password")
@click.argument("email")
@DATABASE_URL
def reset_password(email: str, database_url: str | None) -> None:
    """Forget an operator's password, sign it out, print a new set-password link."""

    async def work(store: Store) -> str:
        found = await store.operator_by_email(email)
        return await store.reset_operator_password(found["id"])

    token = _with_store(database_url, work)
    click.echo(f"set-password link (works once, for 7 days): {_link(database_url, token)}")


@users.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice(list(roles.ROLES)))
@DATABASE_URL
def set_role(email: str, role: str, database_url: str | None) -> None:
    """Change an operator's role (the last owner cannot be demoted)."""

    async def work(store: Store) -> dict[str, Any]:
        found = await store.operator_by_email(email)
        return await store.update_operator(found["id"], role=role)

    row = _with_store(database_url, work)
    click.echo(f"{row['email']} is now {row['role']}")


@click.group(cls=Group)
def tokens() -> None:
    """Personal API tokens (hpu_...), which act with their operator's role."""


@tokens.command("create")
@click.option("--user", "email", required=True, help="The operator the token acts as.")
@click.option("--name", required=True, help="What it is for, e.g. 'deploy script'.")
@click.option(
    "--expires-in",
    "days",
    type=click.IntRange(1, 3650),
    default=None,
    help="Days until it stops working [default: never].",
)
@DATABASE_URL
def create_token(email: str, name: str, days: int | None, database_url: str | None) -> None:
    """Issue a personal token and print it once."""

    async def work(store: Store) -> tuple[dict[str, Any], str]:
        found = await store.operator_by_email(email)
        if found["disabled_at"] is not None:
            raise click.ClickException(f"{found['email']} is disabled")
        expires = None if days is None else store.clock.now() + days * 86400.0
        return await store.create_operator_token(found["id"], name, expires)

    row, token = _with_store(database_url, work)
    click.echo(f"token {row['prefix']}... for {email} ({row['id']}); shown once:", err=True)
    click.echo(token)


async def first_owner(store: Store, settings: Settings) -> str | None:
    """On a database with no operator: create the owner ``HOOKPOST_OWNER_EMAIL``; returns
    its set-password link (None when operators exist)."""
    from hookpost.domain import SHELL, acting_as
    from hookpost.web.links import set_password_link

    if await store.count_operators():
        return None
    with acting_as(SHELL):
        _row, token = await store.create_operator(settings.owner_email, "owner")
    return set_password_link(settings, token)


def announce_first_owner(settings: Settings, json_lines: bool) -> None:
    """``hookpost serve``'s start: make the first owner if there is none, and say how to
    sign in -- the link only to a terminal (a JSON stream goes to log storage)."""
    from hookpost.store import Store

    async def run() -> str | None:
        store = Store.from_url(
            settings.database_url, sqlite_synchronous=settings.sqlite_synchronous
        )
        try:
            return await first_owner(store, settings)
        finally:
            await store.close()

    link = asyncio.run(run())
    if link is None:
        return
    log = logging.getLogger("hookpost")
    if json_lines:
        log.info(
            "first owner %s created; print a set-password link with "
            "`hookpost users reset-password %s`",
            settings.owner_email,
            settings.owner_email,
        )
    else:
        log.info("first owner %s: set a password at %s", settings.owner_email, link)


COMMANDS = [users, tokens]

__all__ = ["COMMANDS", "announce_first_owner", "first_owner"]
