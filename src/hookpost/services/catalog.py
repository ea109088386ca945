"""The project's catalog: event types (with optional JSON Schemas) and custom profiles.

What is checked before anything is saved: a schema must be one
:mod:`hookpost.core.tenant_schema` can enforce safely, a custom profile's
definition one :mod:`hookpost.profiles` can build. Enforcing a schema on a
payload is part of publishing (:mod:`hookpost.services.events`).
"""

from __future__ import annotations

from typing import Any

from hookpost.core import tenant_schema
from hookpost.core.catalogs import PROVIDER_EVENT_TYPES
from hookpost.domain import Invalid
from hookpost.profiles import validate_definition
from hookpost.store import Store


async def check_schema(project_id: str, schema: dict[str, Any]) -> None:
    """Invalid naming the field when ``schema`` cannot be saved (see core/tenant_schema.py)."""
    problems = await tenant_schema.check_schema(project_id, schema)
    if problems:
        raise Invalid.of(problems)


async def create_event_type(
    store: Store, project_id: str, name: str, description: str, schema: dict[str, Any] | None
) -> dict[str, Any]:
    if schema is not None:
        await check_schema(project_id, schema)
    item = {"name": name, "description": description, "schema": schema}
    (row,) = await store.upsert_event_types(project_id, [item], replace=False)
    return row


async def seed(store: Store, project_id: str, provider: str) -> list[dict[str, Any]]:
    """Add (or refresh) every event type a seed provider documents."""
    return await store.upsert_event_types(project_id, PROVIDER_EVENT_TYPES[provider], replace=True)


async def create_profile(
    store: Store, project_id: str, name: str, definition: dict[str, Any]
) -> dict[str, Any]:
    """Store a custom profile once its definition is one hookpost can build."""
    problems = validate_definition(definition)
    if problems:
        raise Invalid.of([(f"definition.{field}", msg) for field, msg in problems])
    return await store.create_profile(project_id, name, definition)
