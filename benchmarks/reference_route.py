"""R_route: the least a durable publish route can do on this machine (issue 15).

FastAPI, hookpost's own publish body model (``EventIn``, so the same pydantic
validation), uvicorn as ``hookpost serve`` runs it (uvloop, httptools), and a
group commit into ``sqlite3`` (WAL, ``synchronous=FULL``): requests that arrive
while a commit runs wait for the next one, which writes them all with one
events insert and one deliveries insert, on one thread. No auth, no routing to
endpoints, no idempotency: the reference any publish route is measured against.
With no database path it answers without writing: the same route without the DB.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from hookpost.web.schemas import EventIn


def main(port: int, db_path: str) -> None:
    import uvicorn
    from fastapi import FastAPI

    queue: list[tuple[tuple[Any, ...], asyncio.Future[None]]] = []
    wakeup = asyncio.Event()
    db = None
    if db_path:
        db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("CREATE TABLE events (id TEXT PRIMARY KEY, type TEXT, payload TEXT, at REAL)")
        db.execute("CREATE TABLE deliveries (id TEXT PRIMARY KEY, event_id TEXT, at REAL)")

    def commit(rows: list[tuple[Any, ...]]) -> None:
        assert db is not None
        db.execute("BEGIN")
        db.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", rows)
        db.executemany(
            "INSERT INTO deliveries VALUES (?, ?, ?)", [("d" + r[0], r[0], r[3]) for r in rows]
        )
        db.execute("COMMIT")

    async def writer() -> None:
        loop = asyncio.get_running_loop()
        while True:
            await wakeup.wait()
            wakeup.clear()
            batch = queue[:]
            del queue[:]
            await loop.run_in_executor(None, commit, [row for row, _ in batch])
            for _, done in batch:
                done.set_result(None)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(writer()) if db is not None else None
        yield
        if task is not None:
            task.cancel()

    app = FastAPI(lifespan=lifespan)

    @app.post("/events", status_code=202)
    async def publish(body: EventIn) -> dict[str, Any]:
        eid = uuid.uuid4().hex
        if db is not None:
            done = asyncio.get_running_loop().create_future()
            queue.append(((eid, body.event_type, json.dumps(body.payload), time.time()), done))
            wakeup.set()
            await done
        return {"id": eid, "event_type": body.event_type, "deliveries": 1}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
