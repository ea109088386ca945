"""Date-time renderings used in envelopes.

Each provider wrote its timestamps with its own stack's formatter; matching
them keeps receivers that parse with a strict format string working.
"""

from __future__ import annotations

from datetime import UTC, datetime


def iso_millis(ts: float) -> str:
    """``2024-02-09T12:08:43.123Z`` (JavaScript's ``Date.toISOString``)."""
    return _utc(ts).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_micros(ts: float) -> str:
    """``2023-08-07T16:14:16.000000Z`` (Laravel's default, as Byl sends)."""
    return _utc(ts).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
