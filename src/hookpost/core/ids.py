"""Identifiers: prefixed, time-ordered (ULID-like) so that sorting by id is
sorting by creation time, which keeps cursor pagination a simple ``id < ?``."""

from __future__ import annotations

import os
import secrets
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32


def _b32(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        out.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(out))


def new_id(prefix: str) -> str:
    """``prefix_`` + 10 chars of millisecond time + 16 chars of randomness."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    return f"{prefix}_{_b32(ms, 10)}{_b32(rand, 16)}"


def new_token(prefix: str, nbytes: int = 24) -> str:
    """A random bearer credential such as an API key."""
    return f"{prefix}_{secrets.token_urlsafe(nbytes)}"


def now_ms() -> int:
    return time.time_ns() // 1_000_000
