"""Projects and their API keys.

A project is the tenant: every other row hangs off one. Its API keys are
stored as their SHA-256 only (a high-entropy token needs no slow hash), and
the key that authenticates every request is memoised for a second
(``Core._keys``), cleared by any change this process makes.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hookpost.core.ids import new_id, new_token
from hookpost.domain import NotFound, Page
from hookpost.store._audit import audit
from hookpost.store._core import Core
from hookpost.store.models import (
    api_keys,
    attempts,
    deliveries,
    endpoints,
    event_types,
    events,
    jobs,
    profiles,
    projects,
)

__all__ = ["KEY_SCOPES", "ProjectsMixin", "hash_key"]

#: What a project API key may do (enforced in hookpost.web.deps).
KEY_SCOPES = ("full", "read", "publish")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class ProjectsMixin(Core):
    """Projects and API keys: create, list, rename, delete; issue, look up, revoke keys."""

    async def create_project(self, name: str) -> tuple[dict[str, Any], str]:
        now = self.clock.now()
        project_id = new_id("proj")
        project: dict[str, Any] = {"id": project_id, "name": name, "created_at": now}
        async with self.writer.begin() as conn:
            await conn.execute(insert(projects).values(**project))
            _row, key = await self._insert_key(conn, project_id, "full", "default", now)
            await audit(
                conn,
                now,
                "project.create",
                "project",
                project_id,
                project_id=project_id,
                after=project,
            )
        return project, key

    async def _insert_key(
        self, conn: AsyncConnection, project_id: str, scope: str, name: str, now: float
    ) -> tuple[dict[str, Any], str]:
        """Only the key's SHA-256 is stored; the key itself is returned once."""
        key = new_token("hpk")
        row = {
            "id": new_id("key"),
            "project_id": project_id,
            "name": name,
            "scope": scope,
            "prefix": key[:10],
            "key_hash": hash_key(key),
            "created_at": now,
            "revoked_at": None,
        }
        await conn.execute(insert(api_keys).values(**row))
        return row, key

    async def create_api_key(
        self, project_id: str, scope: str, name: str = ""
    ) -> tuple[dict[str, Any], str]:
        if scope not in KEY_SCOPES:
            raise ValueError(f"unknown scope {scope!r}")
        now = self.clock.now()
        async with self.writer.begin() as conn:
            await self._require_project(conn, project_id)
            row, key = await self._insert_key(conn, project_id, scope, name, now)
            await audit(
                conn, now, "api_key.create", "api_key", row["id"], project_id=project_id, after=row
            )
            return row, key

    async def list_api_keys(self, project_id: str, *, limit: int, cursor: str | None) -> Page:
        stmt = select(api_keys).where(api_keys.c.project_id == project_id)
        return await self._page(stmt, api_keys.c.id, limit, cursor)

    async def revoke_api_key(self, project_id: str, key_id: str) -> dict[str, Any]:
        """Revoke (idempotent: a revoked key keeps its first revocation time)."""
        self._keys.clear()
        now = self.clock.now()
        async with self.writer.begin() as conn:
            before = await self._api_key(conn, project_id, key_id)
            res = await conn.execute(
                update(api_keys)
                .where(
                    api_keys.c.id == key_id,
                    api_keys.c.project_id == project_id,
                    api_keys.c.revoked_at.is_(None),
                )
                .values(revoked_at=now)
            )
            after = await self._api_key(conn, project_id, key_id)
            if not res.rowcount:  # revoked before: nothing changed, nothing to record
                return after
            await audit(
                conn,
                now,
                "api_key.revoke",
                "api_key",
                key_id,
                project_id=project_id,
                before=before,
                after=after,
            )
        return after

    async def _api_key(self, conn: AsyncConnection, project_id: str, key_id: str) -> dict[str, Any]:
        row = (
            await conn.execute(
                select(api_keys).where(api_keys.c.id == key_id, api_keys.c.project_id == project_id)
            )
        ).first()
        if row is None:
            raise NotFound("api key")
        return dict(row._mapping)

    async def key_principal(self, key: str) -> dict[str, Any] | None:
        """``{id, project_id, scope, prefix}`` of a live key, or None.

        Looked up by the key's SHA-256 (a high-entropy token needs no slow
        hash), then compared again in constant time.
        """
        digest = hash_key(key)
        return await self._keys.load(digest, lambda: self._key_row(digest))

    async def _key_row(self, digest: str) -> dict[str, Any] | None:
        async with self.reader.connect() as conn:
            row = (
                await conn.execute(
                    select(
                        api_keys.c.id,
                        api_keys.c.project_id,
                        api_keys.c.scope,
                        api_keys.c.prefix,
                        api_keys.c.key_hash,
                    ).where(api_keys.c.key_hash == digest, api_keys.c.revoked_at.is_(None))
                )
            ).first()
        if row is None or not secrets.compare_digest(str(row.key_hash), digest):
            return None
        return {"id": row.id, "project_id": row.project_id, "scope": row.scope,
                "prefix": row.prefix}  # fmt: skip

    async def project_for_key(self, key: str) -> str | None:
        found = await self.key_principal(key)
        return None if found is None else str(found["project_id"])

    async def list_projects(
        self, *, limit: int, cursor: str | None, only: str | Collection[str] | None = None
    ) -> Page:
        """A page of projects; ``only`` one id or a collection of them (a restricted operator)."""
        stmt = select(projects)
        if isinstance(only, str):
            stmt = stmt.where(projects.c.id == only)
        elif only is not None:
            stmt = stmt.where(projects.c.id.in_(list(only)))
        return await self._page(stmt, projects.c.id, limit, cursor)

    async def get_project(self, project_id: str) -> dict[str, Any]:
        async with self.reader.connect() as conn:
            row = (await conn.execute(select(projects).where(projects.c.id == project_id))).first()
        if row is None:
            raise NotFound("project")
        return dict(row._mapping)

    async def update_project(self, project_id: str, name: str) -> dict[str, Any]:
        return await self._change_project(project_id, name=name)

    async def _change_project(self, project_id: str, **values: Any) -> dict[str, Any]:
        """Set ``values`` on the project, with its ``project.update`` entry; the new row."""
        async with self.writer.begin() as conn:
            before = await self._project(conn, project_id)
            await conn.execute(update(projects).where(projects.c.id == project_id).values(values))
            after = {**before, **values}
            await audit(
                conn,
                self.clock.now(),
                "project.update",
                "project",
                project_id,
                project_id=project_id,
                before=before,
                after=after,
            )
        return after

    async def _project(self, conn: AsyncConnection, project_id: str) -> dict[str, Any]:
        row = (await conn.execute(select(projects).where(projects.c.id == project_id))).first()
        if row is None:
            raise NotFound("project")
        return dict(row._mapping)

    async def set_viewers_see_payloads(self, project_id: str, allowed: bool) -> dict[str, Any]:
        """The project setting that shows payload bodies to viewers (issue 18)."""
        return await self._change_project(project_id, viewers_see_payloads=allowed)

    async def delete_project(self, project_id: str) -> None:
        self._keys.clear()
        async with self.writer.begin() as conn:
            before = await self._project(conn, project_id)
            # Explicit order: SQLite only cascades when foreign keys are on,
            # and deleting children first keeps each statement index-driven.
            dsub = select(deliveries.c.id).where(deliveries.c.project_id == project_id)
            await conn.execute(delete(attempts).where(attempts.c.delivery_id.in_(dsub)))
            await conn.execute(delete(deliveries).where(deliveries.c.project_id == project_id))
            await conn.execute(delete(events).where(events.c.project_id == project_id))
            await conn.execute(delete(endpoints).where(endpoints.c.project_id == project_id))
            await conn.execute(delete(profiles).where(profiles.c.project_id == project_id))
            await conn.execute(delete(event_types).where(event_types.c.project_id == project_id))
            await conn.execute(delete(jobs).where(jobs.c.project_id == project_id))
            await conn.execute(delete(api_keys).where(api_keys.c.project_id == project_id))
            await conn.execute(delete(projects).where(projects.c.id == project_id))
            await audit(
                conn,
                self.clock.now(),
                "project.delete",
                "project",
                project_id,
                project_id=project_id,
                before=before,
            )
