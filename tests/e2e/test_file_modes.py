"""What hookpost writes to disk is the service user's alone, whatever the umask.

The database holds every payload: after ``hookpost migrate`` and while
``hookpost serve`` runs, the database and its ``-wal`` / ``-shm`` files are
0600 and the directories hookpost made (the data directory, ``.hookpost/``,
the database's ``-wake/`` directory) 0700 -- with the common umask 022, under
which SQLite alone would make the database 0644. A database an earlier
version left world-readable is narrowed when hookpost opens it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hookpost.core.clock import ManualClock
from hookpost.core.crypto import SecretBox
from hookpost.store import Store
from hookpost.store.migrate import upgrade
from tests.conftest import TEST_SECRET_KEY, free_port
from tests.helpers.cli import cli_env, run, spawn, wait_port


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextlib.contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def assert_private(data: Path, db: Path) -> None:
    """Every file hookpost made is 0600 and every directory 0700 (sockets aside)."""
    assert mode(db) == 0o600, oct(mode(db))
    for path in [data, *data.rglob("*")]:
        if path.is_dir():
            assert mode(path) == 0o700, (path, oct(mode(path)))
        elif path.is_file():
            assert mode(path) == 0o600, (path, oct(mode(path)))


async def test_migrate_then_serve_keep_everything_private(tmp_path: Path) -> None:
    data = tmp_path / "srv" / "data"  # neither exists yet
    db = data / "hookpost.db"
    env = cli_env(
        HOOKPOST_DATABASE_URL=f"sqlite:///{db}", HOOKPOST_DATA_DIR=str(data), HOOKPOST_WORKERS="1"
    )
    with umask(0o022):
        code, out = await run("migrate", env=env, cwd=tmp_path)
        assert code == 0, out
        assert_private(data, db)
        assert mode(tmp_path / "srv") == 0o700  # a missing parent is made private too

        port = free_port()
        async with spawn("serve", "--port", str(port), env=env, cwd=tmp_path):
            await wait_port(port, timeout=20)
            token = (data / ".hookpost" / "admin_token").read_text().strip()
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}",
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            ) as c:
                r = await c.post("/api/v1/projects", json={"name": "modes"})
                assert r.status_code == 201, r.text
                pid = r.json()["id"]
                r = await c.post(
                    f"/api/v1/projects/{pid}/events",
                    json={"event_type": "a.b", "payload": {"secret": "payload"}},
                )
                assert r.status_code == 202, r.text
            # While it runs: the WAL holds the payload, the key files exist.
            names = {p.name for p in data.iterdir()}
            # (hookpost.db-wake/ is the embedded worker's wake-up registration.)
            expected = {"hookpost.db-wal", "hookpost.db-shm", "hookpost.db-wake", ".hookpost"}
            assert expected <= names, names
            assert any((data / "hookpost.db-wake").iterdir())
            assert (data / ".hookpost" / "secret_key").exists()
            assert_private(data, db)


@pytest.mark.parametrize("entry", ["migrate", "store"])
def test_an_existing_world_readable_database_is_narrowed(tmp_path: Path, entry: str) -> None:
    db = tmp_path / "old.db"
    url = f"sqlite:///{db}"
    with umask(0o022):
        upgrade(url)
        for path in [db, *tmp_path.glob("old.db-*")]:
            os.chmod(path, 0o644)  # what an earlier version left
        if entry == "migrate":
            upgrade(url)
        else:

            async def open_store() -> None:
                store = Store.from_url(url, ManualClock(), box=SecretBox.from_text(TEST_SECRET_KEY))
                try:
                    await store.create_project("x")
                finally:
                    await store.close()

            asyncio.run(open_store())
    for path in [db, *tmp_path.glob("old.db-*")]:
        assert mode(path) == 0o600, (path, oct(mode(path)))


def test_an_existing_directory_is_left_alone(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    with umask(0o022):
        upgrade(f"sqlite:///{tmp_path}/x.db")
    assert mode(tmp_path) == 0o755
    assert mode(tmp_path / "x.db") == 0o600
