"""A repeated ``event_id``: the same event again, or a different one under a used id.

A publisher retries a publish whose answer it never got with the same
``event_id``; that repeat must answer as the first did and create nothing.
A *different* event sent under an id already used is a bug in the publisher
(two events given one id), and answering 200 with the first event hid it: the
second event was silently dropped. As Stripe does for a reused idempotency
key, such a repeat is a conflict that says what differs.

Payloads are compared as JSON values: key order and spacing do not matter,
but ``1`` and ``1.0``, or ``1`` and ``true``, differ (they arrive differently
at the receiver).
"""

from __future__ import annotations

import json
from typing import Any


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def repeat_differences(
    first_type: str, first_payload: str, event_type: str, payload: Any
) -> list[str]:
    """Which of ``event_type`` and ``payload`` differ from the first event's
    (``first_payload`` is the stored JSON text); empty for an identical repeat."""
    differ = []
    if first_type != event_type:
        differ.append("event_type")
    if _canonical(json.loads(first_payload)) != _canonical(payload):
        differ.append("payload")
    return differ


__all__ = ["repeat_differences"]
