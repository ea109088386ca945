"""SQLite's WAL checkpoints run beside the commits, and the log still stays bounded.

The store's writer connection never checkpoints inside a commit
(``wal_autocheckpoint=0``); :class:`~hookpost.store._checkpoint.Checkpointer`
copies the log back on a thread of its own and, when the log has grown past
its bound, has the writer catch up so the log starts over. Without that
catch-up a background checkpoint alone stays a few commits behind steady
writes and the ``-wal`` file grows with everything written: these tests fail
then, and without any checkpointer at all.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

from hookpost.core.clock import ManualClock
from hookpost.store import Store
from hookpost.store._backend import Writer, create_engine
from hookpost.store._checkpoint import Checkpointer
from hookpost.store.migrate import upgrade

ROW = os.urandom(2000).hex()  # 4,000 bytes: a row on pages of its own
WRITES = 3000  # as fast as the writer takes them: ~70 MB appended to the log in all


def _write(db: sqlite3.Connection) -> None:
    db.execute("INSERT INTO filler (body) VALUES (?)", (ROW,))
    db.execute("DELETE FROM filler WHERE id <= (SELECT max(id) FROM filler) - 200")


async def _largest_log(path: Path, checkpointer: Checkpointer | None) -> int:
    """Steady writes through a writer that never checkpoints in a commit: the ``-wal``
    file's largest size meanwhile (bytes)."""
    engine = create_engine(
        f"sqlite:///{path}", sqlite_busy_timeout_ms=0, sqlite_autocheckpoint=False
    )
    writer = Writer(engine, checkpointer=checkpointer)
    try:
        await writer.run_sqlite(
            lambda db: db.execute("CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT)")
        )
        wal = Path(f"{path}-wal")
        largest = 0
        for _ in range(WRITES):
            await writer.run_sqlite(_write, synced=False)
            largest = max(largest, wal.stat().st_size)
            await asyncio.sleep(0)
        return largest
    finally:
        if checkpointer is not None:
            checkpointer.close()
        await engine.dispose()


async def test_the_log_stays_bounded_under_steady_writes(tmp_path: Path) -> None:
    unchecked = await _largest_log(tmp_path / "none.db", None)
    checkpointer = Checkpointer(str(tmp_path / "wal.db"), interval=0.01, restart_frames=100)
    largest = await _largest_log(tmp_path / "wal.db", checkpointer)
    # Measured: ~5 MB against ~70 MB; background passes without the writer's
    # catch-up let the log grow as if there were none.
    assert checkpointer.passes > 0
    assert largest < unchecked / 4, (largest, unchecked)


async def test_a_store_on_a_file_checkpoints_in_the_background(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/hookpost.db"
    await asyncio.to_thread(upgrade, url)
    store = Store.from_url(url, ManualClock())
    try:
        level = await store.writer.run_sqlite(
            lambda db: db.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        )
        assert level == 0
        project, _key = await store.create_project("p")
        for n in range(5):
            await store.publish(project["id"], "a.b", f'{{"n":{n}}}', None)
        checkpointer = store.checkpointer
        assert checkpointer is not None
        for _ in range(200):  # the first commit started a pass; bounded wait for it
            if checkpointer.passes:
                break
            await asyncio.sleep(0.01)
        assert checkpointer.passes >= 1
    finally:
        await store.close()
    # The last connection closed checkpoints and removes the log: nothing lost.
    db = sqlite3.connect(f"{tmp_path}/hookpost.db")
    try:
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 5
    finally:
        db.close()
