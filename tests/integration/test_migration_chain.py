"""Where a database stands, read without Alembic (``hookpost.store.migrate``).

``serve``, ``worker`` and ``/readyz`` check the schema's revision; the chain of
revisions is read from the migration files and the current one from
``alembic_version`` directly, so a server process never imports Alembic (about
9 MB of resident memory, issue 15 target 8). These tests hold that reading to
Alembic's own, on both backends.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from hookpost.store import migrate


def test_the_chain_read_from_the_files_is_alembics() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config(""))
    assert migrate.head_revision() == script.get_current_head()
    assert migrate.known_revisions() == {s.revision for s in script.walk_revisions()}
    assert migrate.revision_chain() == {
        s.revision: s.down_revision for s in script.walk_revisions()
    }


async def test_the_revision_read_is_alembics_before_and_after_migrating(tmp_path: Path) -> None:
    fresh = f"sqlite:///{tmp_path}/fresh.db"
    assert await migrate.current_revision(fresh) is None  # no schema yet
    for revision in ("0003", "head"):
        await asyncio.to_thread(migrate.upgrade, fresh, revision)
        ours = await migrate.current_revision(fresh)
        engine = create_engine(fresh)
        with engine.connect() as conn:
            assert ours == MigrationContext.configure(conn).get_current_revision()
        engine.dispose()
    assert await migrate.current_revision(fresh) == migrate.head_revision()


async def test_the_revision_read_on_postgres(db_url: str) -> None:
    assert await migrate.current_revision(db_url) == migrate.head_revision()


def test_a_server_process_does_not_import_alembic() -> None:
    code = (
        "import sys, hookpost.api.app, hookpost.cli, hookpost.store.migrate as m;"
        "m.head_revision(); m.known_revisions();"
        "print('alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr
