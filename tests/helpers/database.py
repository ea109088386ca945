"""The store at hand: what the database holds, byte for byte (for tests that a secret is
never stored in clear), and a project to publish into straight through a ``Store``."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from hookpost.store import Store
from tests.conftest import Hookpost

#: An endpoint's stored values, as the API would hand them to ``Store.create_endpoint``.
ENDPOINT_VALUES = {
    "url": "http://127.0.0.1:9/hook",
    "event_types": [],
    "profile": "standard",
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "headers": {},
    "enabled": True,
}


async def project_with_endpoint(store: Store) -> str:
    """A new project with one endpoint (to 127.0.0.1:9, nothing listens): its id."""
    pid = str((await store.create_project("p"))[0]["id"])
    await store.create_endpoint(pid, dict(ENDPOINT_VALUES))
    return pid


async def database_bytes(hp: Hookpost, db_url: str) -> bytes:
    """Everything the database holds, as bytes (to search for a secret in clear)."""
    if hp.store.is_sqlite:  # the database file and its WAL, byte for byte
        db = Path(db_url.removeprefix("sqlite:///"))
        return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*") if p.is_file())
    async with hp.store.engine.connect() as conn:
        names = await conn.run_sync(lambda c: inspect(c).get_table_names())
        rows = [(await conn.execute(text(f'SELECT * FROM "{n}"'))).all() for n in names]
    return repr(rows).encode()
