"""The states a delivery moves through.

``pending`` (due at ``next_attempt_at``) -> ``delivering`` (leased by one
worker) -> ``succeeded``, ``failed`` (no attempts left, or the receiver asked
to stop), or back to ``pending`` with a later ``next_attempt_at``. ``held``
waits, without a due time, for its disabled endpoint to be enabled and its
held deliveries released.

A :class:`~enum.StrEnum` so each member *is* its string: stored in the
``status`` column, compared in SQL and written in JSON exactly as before.
Raw SQL texts (the claim, partial indexes, migrations) still spell them out.
"""

from __future__ import annotations

import enum


class DeliveryStatus(enum.StrEnum):
    """A delivery's state (the ``status`` column and the API's ``status`` field)."""

    PENDING = "pending"
    DELIVERING = "delivering"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    HELD = "held"


__all__ = ["DeliveryStatus"]
