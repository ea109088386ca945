"""The deliveries table's indexes: the migrated schema is the models', and the
queries that read a partial index are planned through it on both backends.

Every index of ``deliveries`` costs a publish's insert about 1 us on SQLite, and one
holding ``status`` is rewritten by every claim and record (issue 15, target 7). So
the rare reads by status use partial indexes -- the open rows' (``ix_deliveries_due``,
``ix_deliveries_endpoint_open``) and the held rows' (``ix_deliveries_endpoint_held``)
-- and SQLite only plans a query through a partial index when the query states the
index's condition in the same words. These tests hold both: the schema Alembic
builds has exactly the models' indexes, and the statements of holding, releasing and
counting deliveries are planned through the index each is written for.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import asyncpg
from sqlalchemy import event, inspect

from hookpost.core.crypto import SecretBox, generate_key
from hookpost.core.dburl import is_sqlite_url
from hookpost.store import Store
from hookpost.store.migrate import upgrade
from hookpost.store.models import metadata
from tests.helpers.database import ENDPOINT_VALUES


def _indexes(conn: Any) -> dict[str, dict[str, tuple[tuple[str, ...], bool, bool]]]:
    """Each table's indexes as the database has them: name -> (columns, unique, partial).
    Indexes PostgreSQL makes for a unique constraint are the constraint's, not models'."""
    insp = inspect(conn)
    return {
        table: {
            i["name"]: (
                tuple(i["column_names"]),
                bool(i["unique"]),
                any(
                    k.endswith("_where") and v is not None
                    for k, v in i.get("dialect_options", {}).items()
                ),
            )
            for i in insp.get_indexes(table)
            if "duplicates_constraint" not in i
        }
        for table in metadata.tables
    }


async def test_the_migrated_indexes_are_the_models(db_url: str) -> None:
    found = await _found(db_url)
    for table in metadata.sorted_tables:
        wanted = {
            str(i.name): (
                tuple(c.name for c in i.columns),
                bool(i.unique),
                i.dialect_options["sqlite"]["where"] is not None,
            )
            for i in table.indexes
        }
        assert found[table.name] == wanted, table.name


async def _found(db_url: str) -> dict[str, dict[str, tuple[tuple[str, ...], bool, bool]]]:
    store = Store.from_url(db_url)
    try:
        async with store.engine.connect() as conn:
            return await conn.run_sync(_indexes)
    finally:
        await store.close()


async def test_the_held_index_migration_goes_down_and_up(db_url: str) -> None:
    """0013 replaces (endpoint, status, updated_at) by the held rows' index, and back."""
    from alembic import command

    from hookpost.store.migrate import alembic_config

    held, status = "ix_deliveries_endpoint_held", "ix_deliveries_endpoint_status"
    assert held in (await _found(db_url))["deliveries"]
    await asyncio.to_thread(command.downgrade, alembic_config(db_url), "0012")
    down = (await _found(db_url))["deliveries"]
    assert down[status] == (("endpoint_id", "status", "updated_at"), False, False)
    assert held not in down
    await asyncio.to_thread(upgrade, db_url)
    up = (await _found(db_url))["deliveries"]
    assert up[held] == (("endpoint_id",), False, True) and status not in up


#: What each captured statement is planned through: (the store call, a fragment of its
#: SQL) -> the index. ``None``: any index, no scan of the table.
PLANS: dict[tuple[str, str], str | None] = {
    ("disable", "UPDATE deliveries"): "ix_deliveries_endpoint_open",
    ("release_held", "UPDATE deliveries"): "ix_deliveries_endpoint_held",
    ("queue_stats", "next_attempt_at <="): "ix_deliveries_due",
    ("queue_stats", "next_attempt_at >"): "ix_deliveries_due",
    ("queue_stats", "count(deliveries.endpoint_id)"): "ix_deliveries_endpoint_held",
    ("queue_stats", "FROM deliveries WHERE status IN"): None,
}


def _expected(call: str, sql: str) -> tuple[str, str] | None:
    """The :data:`PLANS` entry a captured statement is (its call and fragment), if any."""
    flat = " ".join(sql.split())
    return next(((n, f) for n, f in PLANS if n == call and f in flat), None)


async def _plan(db_url: str, sql: str, params: Any) -> str:
    """The statement's plan as text; on PostgreSQL with scans of tables priced out,
    so a plan without an index means no index can serve it (the tables here are tiny)."""
    if is_sqlite_url(db_url):
        with sqlite3.connect(db_url.removeprefix("sqlite:///")) as db:
            rows = db.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        return "\n".join(str(r[3]) for r in rows)
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute("SET enable_seqscan = off")
        rows = await conn.fetch("EXPLAIN " + sql, *params)
    finally:
        await conn.close()
    return "\n".join(r[0] for r in rows)


async def test_holding_releasing_and_counting_read_their_partial_index(db_url: str) -> None:
    store = Store.from_url(db_url, box=SecretBox.from_text(generate_key()))
    captured: list[tuple[str, str, Any]] = []
    call = [""]

    def capture(_c: Any, _cur: Any, sql: str, params: Any, *_a: Any) -> None:
        if "deliveries" in sql:
            captured.append((call[0], sql, params))

    try:
        pid = str((await store.create_project("p"))[0]["id"])
        ep = str((await store.create_endpoint(pid, dict(ENDPOINT_VALUES)))["id"])
        await store.publish_many(pid, [("t", '{"n":1}', None) for _ in range(20)])
        engines = {store.engine.sync_engine, store.reader.sync_engine}
        for engine in engines:
            event.listen(engine, "before_cursor_execute", capture)
        call[0] = "disable"
        await store.update_endpoint(pid, ep, {"enabled": False})
        call[0] = "queue_stats"
        stats = await store.queue_stats()
        call[0] = "enable"
        await store.update_endpoint(pid, ep, {"enabled": True})
        call[0] = "release_held"
        released = await store.release_held(pid, ep)
        for engine in engines:
            event.remove(engine, "before_cursor_execute", capture)
    finally:
        await store.close()
    assert stats["held"] == 20 and stats["due"] == 0
    assert released == 20
    checked: set[tuple[str, str]] = set()
    for name, sql, params in captured:
        key = _expected(name, sql)
        if key is None:
            continue
        checked.add(key)
        plan = await _plan(db_url, sql, params)
        if PLANS[key] is not None:
            assert PLANS[key] in plan, (sql, plan)
        assert "Seq Scan" not in plan and "SCAN deliveries\n" not in plan + "\n", (sql, plan)
    assert checked == set(PLANS)
