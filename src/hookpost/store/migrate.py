"""Schema migrations (Alembic), run from code so no alembic.ini is needed.

``hookpost migrate`` is often started by every replica of a deployment at once (an
init container per pod, a one-shot service per host). Two runners that both read "no
schema yet" would both create it, and the second fails on a duplicate type
(PostgreSQL) or a locked database (SQLite) -- six processes started together on a
fresh database did so every time. :func:`migrate` therefore reads the revision and
upgrades under one lock per database: a PostgreSQL session advisory lock (released
when its connection closes, so a killed runner cannot leave it held), or on SQLite
an exclusive ``flock`` on the database file itself (SQLite's own locks are POSIX
record locks, which ``flock`` does not touch). The runners after the first wait, then
find the schema current and do nothing.

Alembic itself is imported only to upgrade. Reading where a database stands (``serve``
and ``worker`` at start, ``/readyz``) needs the chain of revisions and the row in
``alembic_version``, and both are read here directly: importing Alembic to learn them
cost every server process about 9 MB of its resident memory (issue 15, target 8). A
test checks that the chain read here is Alembic's.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, make_url, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from hookpost.core.dburl import is_sqlite_url
from hookpost.core.private_files import private_sqlite_database
from hookpost.store import _backend

#: pg_advisory_lock's key for schema migrations: "hookpost" in ASCII, one per database.
MIGRATION_LOCK_KEY = 0x686F6F6B706F7374

_HERE = Path(__file__).parent / "migrations"

if TYPE_CHECKING:
    from alembic.config import Config


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` up to ``revision``. Blocking; call from a thread."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


@lru_cache(maxsize=1)
def revision_chain() -> dict[str, str | None]:
    """Each migration's ``revision`` -> its ``down_revision``, read from the files in
    ``migrations/versions`` (their module-level assignments, not by importing them)."""
    chain: dict[str, str | None] = {}
    for path in sorted((_HERE / "versions").glob("*.py")):
        values: dict[str, object] = {}
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                    values[target.id] = ast.literal_eval(node.value)
        if "revision" in values:
            down = values.get("down_revision")
            chain[str(values["revision"])] = None if down is None else str(down)
    return chain


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The revision no other one follows: this code's schema."""
    chain = revision_chain()
    (head,) = set(chain) - set(chain.values())
    return head


def _read_revision(conn: Connection) -> str | None:
    """The revision in ``alembic_version`` (None: no hookpost schema yet)."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


async def current_revision(url: str) -> str | None:
    engine = _backend.create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_read_revision)
    finally:
        await engine.dispose()


async def schema_is_current(conn: AsyncConnection) -> bool:
    """Is the database behind ``conn`` at this code's schema head?"""
    return await conn.run_sync(_read_revision) == head_revision()


class SchemaMismatch(RuntimeError):
    pass


def known_revisions() -> set[str]:
    return set(revision_chain())


def migrate(url: str) -> tuple[str | None, str]:
    """Upgrade to head; (revision before, revision after) so the caller can say what it did.

    A database at a revision this code does not know (a newer hookpost migrated it)
    is left alone: :class:`SchemaMismatch` says to upgrade hookpost.
    """
    return asyncio.run(_migrate_locked(url))


async def _migrate_locked(url: str) -> tuple[str | None, str]:
    async with migration_lock(url):
        before = await current_revision(url)
        head = head_revision()
        if before is not None and before not in known_revisions():
            raise SchemaMismatch(
                f"the database schema ({before}) is newer than this hookpost ({head}): "
                "upgrade hookpost"
            )
        if before != head:
            await upgrade_async(url)
        return before, head


@contextlib.asynccontextmanager
async def migration_lock(url: str) -> AsyncIterator[None]:
    """Hold this database's migration lock (waiting for another runner to finish)."""
    if is_sqlite_url(url):
        database = make_url(url).database
        if not database or database == ":memory:" or database.startswith("file:"):
            yield  # a private in-memory database: nobody else can migrate it
            return
        private_sqlite_database(database)
        fd = os.open(database, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the file releases the lock
        return
    engine = _backend.create_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
            await conn.commit()
            try:
                yield
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
                await conn.commit()
    finally:
        await engine.dispose()


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
