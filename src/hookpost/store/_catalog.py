"""The project's catalog: its event types (with optional JSON Schemas) and custom profiles.

Every publish checks its event type's schema, so :meth:`event_type_schema`
is memoised for a second (``Core._schemas``), cleared by any change this
process makes to the catalog. A custom profile is an operator-defined wire
format (:mod:`hookpost.profiles.custom`); one still used by an endpoint
cannot be deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from hookpost.core.ids import new_id
from hookpost.domain import Conflict, NotFound, Page
from hookpost.store._audit import audit
from hookpost.store._core import Core
from hookpost.store.models import endpoints, event_types, profiles

__all__ = ["CatalogMixin"]


class CatalogMixin(Core):
    """Event types and custom profiles: add, replace, list, read, delete."""

    async def create_profile(
        self, project_id: str, name: str, definition: dict[str, Any]
    ) -> dict[str, Any]:
        now = self.clock.now()
        row = {
            "id": new_id("prof"),
            "project_id": project_id,
            "name": name,
            "definition": definition,
            "created_at": now,
        }
        try:
            async with self.writer.begin() as conn:
                await self._require_project(conn, project_id)
                await conn.execute(insert(profiles).values(**row))
                await audit(
                    conn,
                    now,
                    "profile.create",
                    "profile",
                    name,
                    project_id=project_id,
                    after=row,
                )
        except IntegrityError:
            raise Conflict(f"a profile named {name!r} already exists") from None
        return row

    async def list_profiles(self, project_id: str, *, limit: int, cursor: str | None) -> Page:
        stmt = select(profiles).where(profiles.c.project_id == project_id)
        return await self._page(stmt, profiles.c.id, limit, cursor)

    async def get_profile(self, project_id: str, name: str) -> dict[str, Any]:
        return await self._one(
            select(profiles).where(profiles.c.project_id == project_id, profiles.c.name == name),
            "profile",
        )

    async def delete_profile(self, project_id: str, name: str) -> None:
        async with self.writer.begin() as conn:
            used = (
                await conn.execute(
                    select(func.count())
                    .select_from(endpoints)
                    .where(endpoints.c.project_id == project_id, endpoints.c.profile == name)
                )
            ).scalar_one()
            if used:
                raise Conflict(f"profile {name!r} is used by {used} endpoint(s)")
            found = (
                await conn.execute(
                    select(profiles).where(
                        profiles.c.project_id == project_id, profiles.c.name == name
                    )
                )
            ).first()
            if found is None:
                raise NotFound("profile")
            await conn.execute(delete(profiles).where(profiles.c.id == found.id))
            await audit(
                conn,
                self.clock.now(),
                "profile.delete",
                "profile",
                name,
                project_id=project_id,
                before=dict(found._mapping),
            )

    async def upsert_event_types(
        self, project_id: str, items: Sequence[dict[str, Any]], *, replace: bool
    ) -> list[dict[str, Any]]:
        """Add catalog entries; ``replace=False`` refuses (409) a name that exists."""
        self._schemas.clear()
        now = self.clock.now()
        async with self.writer.begin() as conn:
            await self._require_project(conn, project_id)
            names = [i["name"] for i in items]
            existing = {
                r.name
                for r in (
                    await conn.execute(
                        select(event_types.c.name).where(
                            event_types.c.project_id == project_id, event_types.c.name.in_(names)
                        )
                    )
                ).all()
            }
            if existing and not replace:
                raise Conflict(f"event type {sorted(existing)[0]!r} already exists")
            if existing:
                await conn.execute(
                    delete(event_types).where(
                        event_types.c.project_id == project_id, event_types.c.name.in_(existing)
                    )
                )
            rows = [
                {
                    "project_id": project_id,
                    "name": i["name"],
                    "description": i.get("description") or "",
                    "schema": i.get("schema"),
                    "created_at": now,
                }
                for i in items
            ]
            if rows:
                await conn.execute(insert(event_types), rows)
            if replace:  # the seed: one entry naming what it added or refreshed
                await audit(
                    conn,
                    now,
                    "event_type.seed",
                    "project",
                    project_id,
                    project_id=project_id,
                    after={"added": sorted(set(names) - existing), "refreshed": sorted(existing)},
                )
            for row in rows if not replace else ():
                await audit(
                    conn,
                    now,
                    "event_type.create",
                    "event_type",
                    row["name"],
                    project_id=project_id,
                    after=row,
                )
        return rows

    async def list_event_types(self, project_id: str, *, limit: int, cursor: str | None) -> Page:
        stmt = select(event_types).where(event_types.c.project_id == project_id)
        return await self._page(stmt, event_types.c.name, limit, cursor, desc=False)

    async def get_event_type(self, project_id: str, name: str) -> dict[str, Any]:
        return await self._one(
            select(event_types).where(
                event_types.c.project_id == project_id, event_types.c.name == name
            ),
            "event type",
        )

    async def delete_event_type(self, project_id: str, name: str) -> None:
        self._schemas.clear()
        where = (event_types.c.project_id == project_id, event_types.c.name == name)
        async with self.writer.begin() as conn:
            found = (await conn.execute(select(event_types).where(*where))).first()
            if found is None:
                raise NotFound("event type")
            await conn.execute(delete(event_types).where(*where))
            await audit(
                conn,
                self.clock.now(),
                "event_type.delete",
                "event_type",
                name,
                project_id=project_id,
                before=dict(found._mapping),
            )

    async def event_type_schema(self, project_id: str, name: str) -> dict[str, Any] | None:
        return await self._schemas.load(
            (project_id, name), lambda: self._schema_row(project_id, name)
        )

    async def _schema_row(self, project_id: str, name: str) -> dict[str, Any] | None:
        async with self.reader.connect() as conn:
            value = (
                await conn.execute(
                    select(event_types.c.schema).where(
                        event_types.c.project_id == project_id, event_types.c.name == name
                    )
                )
            ).scalar_one_or_none()
        return value if isinstance(value, dict) else None
