"""Schema migrations (Alembic), run from code so no alembic.ini is needed."""

from __future__ import annotations

import asyncio
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from hookpost.store import _backend

_HERE = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` up to ``revision``. Blocking; call from a thread."""
    command.upgrade(alembic_config(url), revision)


@lru_cache(maxsize=1)
def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None
    return head


async def current_revision(url: str) -> str | None:
    engine = _backend.create_engine(url)

    def _read(conn: Connection) -> str | None:
        return MigrationContext.configure(conn).get_current_revision()

    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_read)
    finally:
        await engine.dispose()


async def schema_is_current(conn: AsyncConnection) -> bool:
    """Is the database behind ``conn`` at this code's schema head?"""

    def _read(sync_conn: Connection) -> str | None:
        return MigrationContext.configure(sync_conn).get_current_revision()

    return await conn.run_sync(_read) == head_revision()


class SchemaMismatch(RuntimeError):
    pass


def known_revisions() -> set[str]:
    return {s.revision for s in ScriptDirectory.from_config(alembic_config("")).walk_revisions()}


def migrate(url: str) -> tuple[str | None, str]:
    """Upgrade to head; (revision before, revision after) so the caller can say what it did.

    A database at a revision this code does not know (a newer hookpost migrated it)
    is left alone: :class:`SchemaMismatch` says to upgrade hookpost.
    """
    before = asyncio.run(current_revision(url))
    head = head_revision()
    if before is not None and before not in known_revisions():
        raise SchemaMismatch(
            f"the database schema ({before}) is newer than this hookpost ({head}): upgrade hookpost"
        )
    if before != head:
        upgrade(url)
    return before, head


async def check_schema(url: str) -> None:
    """Refuse to run on a database that is not at this code's schema."""
    current = await current_revision(url)
    head = head_revision()
    if current == head:
        return
    if current is None:
        raise SchemaMismatch("the database has no hookpost schema yet: run `hookpost migrate`")
    if current not in known_revisions():
        raise SchemaMismatch(
            f"the database schema ({current}) is newer than this hookpost "
            f"({head}): upgrade hookpost"
        )
    raise SchemaMismatch(
        f"the database schema ({current}) is behind ({head}): run `hookpost migrate`"
    )


async def upgrade_async(url: str) -> None:
    await asyncio.to_thread(upgrade, url)
