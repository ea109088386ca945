"""Sending deliveries again: one now (resend), or every failed one in a window (recover).

Both end with a wake-up, so this process's workers pick the work up at once
rather than at their next poll. Recover is a background job (its progress is
the job's ``done`` of ``total``), since a window may hold a great many
failures; the job itself runs in the workers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hookpost.domain import Conflict, NotFound
from hookpost.services import Wake
from hookpost.store import Store


async def resend(store: Store, project_id: str, delivery_id: str, wake: Wake) -> dict[str, Any]:
    """Attempt the delivery once more, now (Conflict while an attempt is in flight)."""
    row = await store.resend(project_id, delivery_id)
    wake()
    return row


async def resend_many(
    store: Store, project_id: str, delivery_ids: Iterable[str], wake: Wake
) -> int:
    """One more attempt for each delivery; how many were queued. One being attempted
    right then, or not of this project, is left out (and not counted)."""
    resent = 0
    for delivery_id in delivery_ids:
        try:
            await store.resend(project_id, delivery_id)
        except (NotFound, Conflict):
            continue
        resent += 1
    wake()
    return resent


async def recover(
    store: Store,
    project_id: str,
    endpoint_id: str | None,
    since: float,
    until: float | None,
    wake: Wake,
) -> dict[str, Any]:
    """Queue a job resending the failed deliveries (of one endpoint, or all) in the window."""
    job = await store.create_recover_job(project_id, endpoint_id, since, until)
    wake()
    return job
