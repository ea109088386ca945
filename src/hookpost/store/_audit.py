"""The audit log: one row per change, written inside the change's own transaction.

Every store method that changes something an operator can see calls
:func:`audit` on the connection of its transaction, with the object's state
before and after; the entry commits with the change or not at all, so a
failed change leaves none. Who acted is the task's
:func:`hookpost.domain.current_actor`, set by the web layer or the CLI, so no
caller passes it down. The action must be one of
:data:`hookpost.domain.AUDIT_ACTIONS`, and only the changed fields are kept,
secrets masked (:func:`hookpost.domain.audit_changes`: the one rule).

What happens without a write of its own -- a secret shown, a sign-in, a
refused sign-in, a portal link signed -- goes through
:meth:`AuditMixin.record_audit`, a transaction holding just the entry.

Nothing in the product updates or deletes an entry: there is no such method.
Only retention (:meth:`AuditMixin.purge_audit`, ``HOOKPOST_AUDIT_RETENTION_DAYS``)
removes entries, oldest first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hookpost.core.ids import new_id
from hookpost.domain import Page, audit_changes, check_audit_action, current_actor
from hookpost.store._core import Core
from hookpost.store.models import audit_log

__all__ = ["AuditFilter", "AuditMixin", "audit"]


async def audit(
    conn: AsyncConnection,
    now: float,
    action: str,
    object_type: str,
    object_id: str,
    *,
    project_id: str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Write one entry on ``conn`` (the caller's transaction) as the current actor.

    ``before``/``after`` are the object's whole state (None for a create's
    before and a delete's after, or when there is no state to show); only the
    fields that differ are stored, secrets masked. ``now`` is epoch seconds.
    Returns the row written, or None for an ``*.update`` whose states show no
    field differing: a PATCH that sets what is already there (or only
    ``updated_at``) changed nothing, and the log records changes -- one entry
    per change, as a repeated revoke writes one. (Other actions -- a resend, a
    secret shown -- are events in themselves, written whatever their states.)
    ValueError for an action not in ``AUDIT_ACTIONS`` (checked first, written or not).
    """
    check_audit_action(action)
    actor = current_actor()
    old, new = audit_changes(before, after)
    if action.endswith(".update") and before is not None and after is not None:
        if not old and not new:
            return None
    row = {
        "id": new_id("aud"),
        "at": now,
        "actor_kind": actor.kind,
        "actor_id": _fit("actor_id", actor.id),
        "actor_label": _fit("actor_label", actor.label),
        "address": _fit("address", actor.address),
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "project_id": project_id,
        "before": old,
        "after": new,
    }
    await conn.execute(insert(audit_log).values(**row))
    return row


def _fit(column: str, value: str | None) -> Any:
    """``value`` cut to its column's length: the address is what the client (or the
    ``X-Forwarded-For`` a trusted proxy passed on) claims, of any length, and a change
    must not fail on PostgreSQL because the entry naming its author is too long."""
    length = getattr(audit_log.c[column].type, "length", None)
    return value if value is None or length is None else value[:length]


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which entries to read; every field given must match (None: any).

    ``actor`` matches the actor's id or label exactly (an operator's id or
    email, a key's prefix); ``action`` is a name, or ``endpoint.*`` for every
    action under ``endpoint.``; ``since``/``until`` are epoch seconds, since
    inclusive and until exclusive. ``within`` is not a filter a reader picks but
    what the reader may see: an operator limited to some projects reads only the
    entries of those (none without a project: sign-ins, accounts, the key).
    """

    actor: str | None = None
    actor_kind: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    project_id: str | None = None
    since: float | None = None
    until: float | None = None
    within: frozenset[str] | None = None

    def where(self, stmt: Any) -> Any:
        c = audit_log.c
        if self.within is not None:
            stmt = stmt.where(c.project_id.in_(sorted(self.within)))
        if self.actor is not None:
            stmt = stmt.where(or_(c.actor_id == self.actor, c.actor_label == self.actor))
        if self.actor_kind is not None:
            stmt = stmt.where(c.actor_kind == self.actor_kind)
        if self.action is not None:
            if self.action.endswith(".*"):
                stmt = stmt.where(c.action.startswith(self.action[:-1], autoescape=True))
            else:
                stmt = stmt.where(c.action == self.action)
        for column, value in (
            (c.object_type, self.object_type),
            (c.object_id, self.object_id),
            (c.project_id, self.project_id),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        if self.since is not None:
            stmt = stmt.where(c.at >= self.since)
        if self.until is not None:
            stmt = stmt.where(c.at < self.until)
        return stmt


class AuditMixin(Core):
    """The audit log: record an entry on its own, read pages, export, purge."""

    async def record_audit(
        self,
        action: str,
        object_type: str,
        object_id: str,
        *,
        project_id: str | None = None,
        before: Mapping[str, Any] | None = None,
        after: Mapping[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """One entry in a transaction of its own, for an action that writes nothing else
        (a secret shown, a sign-in or a refused one, a portal link signed)."""
        async with self.writer.begin() as conn:
            return await audit(
                conn,
                self.clock.now(),
                action,
                object_type,
                object_id,
                project_id=project_id,
                before=before,
                after=after,
            )

    async def list_audit(self, where: AuditFilter, *, limit: int, cursor: str | None) -> Page:
        """A page of entries matching ``where``, newest first (``next_cursor`` for older)."""
        return await self._page(where.where(select(audit_log)), audit_log.c.id, limit, cursor)

    async def export_audit(
        self, where: AuditFilter, *, batch: int = 500
    ) -> AsyncIterator[dict[str, Any]]:
        """Every entry matching ``where``, oldest first, read ``batch`` rows per query
        (each query its own short read, so an export of millions never holds a snapshot)."""
        after: str | None = None
        while True:
            stmt = where.where(select(audit_log))
            if after is not None:
                stmt = stmt.where(audit_log.c.id > after)
            stmt = stmt.order_by(audit_log.c.id).limit(batch)
            async with self.reader.connect() as conn:
                rows = [dict(r._mapping) for r in (await conn.execute(stmt)).all()]
            for row in rows:
                yield row
            if len(rows) < batch:
                return
            after = rows[-1]["id"]

    async def purge_audit(
        self, older_than_seconds: float, *, batch: int = 1000, max_batches: int = 10_000
    ) -> int:
        """Delete entries older than the cutoff, in batches of short transactions; how many."""
        cutoff = self.clock.now() - older_than_seconds
        removed = 0
        for _ in range(max_batches):
            async with self.writer.begin() as conn:
                ids = select(audit_log.c.id).where(audit_log.c.at < cutoff).limit(batch)
                res = await conn.execute(delete(audit_log).where(audit_log.c.id.in_(ids)))
            removed += int(res.rowcount)
            if res.rowcount < batch:
                break
        return removed
