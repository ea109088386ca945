"""Retention: deleting old attempts, and finished events with their deliveries.

Run by the workers' maintenance task (``HOOKPOST_RETENTION_DAYS``) and by
``hookpost purge``. It works in bounded batches, each its own short
transaction, so a purge of millions of rows never holds a long lock.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select

from hookpost.domain import DeliveryStatus
from hookpost.store._core import Core
from hookpost.store.models import attempts, deliveries, events

__all__ = ["RetentionMixin"]


class RetentionMixin(Core):
    """Retention: purge what is older than the cutoff."""

    async def purge(
        self, older_than_seconds: float, *, batch: int = 1000, max_batches: int = 10_000
    ) -> dict[str, int]:
        """Delete attempts, and finished events with their deliveries, older than the cutoff.

        Works in bounded batches, each its own short transaction, so a purge of
        millions of rows never holds a long lock. Events with a delivery still
        pending, in flight or held are kept whatever their age, and so is the
        newest event: SQLite numbers a new row one past the largest left, so
        deleting it would hand its sequence out again, below the cursor of a
        catch-up reader that has already seen it.
        """
        cutoff = self.clock.now() - older_than_seconds
        removed = {"attempts": 0, "events": 0}
        for _ in range(max_batches):
            async with self.writer.begin() as conn:
                ids = select(attempts.c.id).where(attempts.c.started_at < cutoff).limit(batch)
                res = await conn.execute(delete(attempts).where(attempts.c.id.in_(ids)))
            removed["attempts"] += res.rowcount
            if res.rowcount < batch:
                break
        active = select(deliveries.c.event_seq).where(
            deliveries.c.event_seq == events.c.seq,
            deliveries.c.status.in_(
                (DeliveryStatus.PENDING, DeliveryStatus.DELIVERING, DeliveryStatus.HELD)
            ),
        )
        newest = select(func.max(events.c.seq)).scalar_subquery()
        for _ in range(max_batches):
            async with self.writer.begin() as conn:
                seqs = [
                    r.seq
                    for r in (
                        await conn.execute(
                            select(events.c.seq)
                            .where(
                                events.c.created_at < cutoff,
                                ~active.exists(),
                                events.c.seq < newest,
                            )
                            .limit(batch)
                        )
                    ).all()
                ]
                if seqs:
                    dsub = select(deliveries.c.id).where(deliveries.c.event_seq.in_(seqs))
                    await conn.execute(delete(attempts).where(attempts.c.delivery_id.in_(dsub)))
                    await conn.execute(delete(deliveries).where(deliveries.c.event_seq.in_(seqs)))
                    await conn.execute(delete(events).where(events.c.seq.in_(seqs)))
            removed["events"] += len(seqs)
            if len(seqs) < batch:
                break
        return removed
