"""Replaying a recorded attempt: its body (or a changed one) with the headers it was signed with.

A faithful replay must be accepted by a guide's receiver, and a replay whose
body differs by one byte refused: that is how the receiver tests show a
signature covers exactly the bytes that went on the wire.
"""

from __future__ import annotations

from typing import Any

import httpx

#: Headers the HTTP client sets for itself: not copied from the recorded attempt.
HOP_BY_HOP = {"content-length", "host", "transfer-encoding", "connection"}


async def replay(url: str, attempt: dict[str, Any], body: bytes) -> int:
    """Send ``body`` with the headers hookpost signed the real attempt with; the status."""
    headers = {k: v for k, v in attempt["request_headers"].items() if k.lower() not in HOP_BY_HOP}
    async with httpx.AsyncClient() as client:
        return (await client.post(url, content=body, headers=headers)).status_code
