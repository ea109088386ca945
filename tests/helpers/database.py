"""What the database holds, byte for byte: for tests that a secret is never stored in clear."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from tests.conftest import Hookpost


async def database_bytes(hp: Hookpost, db_url: str) -> bytes:
    """Everything the database holds, as bytes (to search for a secret in clear)."""
    if hp.store.is_sqlite:  # the database file and its WAL, byte for byte
        db = Path(db_url.removeprefix("sqlite:///"))
        return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*") if p.is_file())
    async with hp.store.engine.connect() as conn:
        names = await conn.run_sync(lambda c: inspect(c).get_table_names())
        rows = [(await conn.execute(text(f'SELECT * FROM "{n}"'))).all() for n in names]
    return repr(rows).encode()
