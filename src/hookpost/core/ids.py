"""Identifiers: prefixed, time-ordered (ULID-like) so that sorting by id is
sorting by creation time, which keeps cursor pagination a simple ``id < ?``."""

from __future__ import annotations

import os
import secrets
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
#: A random byte to a base32 digit: its low 5 bits (256 is a multiple of 32: uniform),
#: so the digits are made by ``bytes.translate`` rather than ``_b32``'s Python loop.
_BYTE_TO_DIGIT = bytes(_ALPHABET.encode()[b & 31] for b in range(256))


def _b32(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        out.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(out))


#: The last millisecond's digits (ids made in the same millisecond share them).
_last_ms: tuple[int, str] = (-1, "")


def _ms_digits() -> str:
    global _last_ms
    ms = time.time_ns() // 1_000_000
    if _last_ms[0] != ms:
        _last_ms = (ms, _b32(ms, 10))
    return _last_ms[1]


def _random_digits(n: int) -> str:
    """``n`` random base32 digits (5 random bits each), made in C."""
    return os.urandom(n).translate(_BYTE_TO_DIGIT).decode("ascii")


def new_id(prefix: str) -> str:
    """``prefix_`` + 10 chars of millisecond time + 16 chars of randomness."""
    return f"{prefix}_{_ms_digits()}{_random_digits(16)}"


def new_ids(prefix: str, n: int) -> list[str]:
    """``n`` ids as :func:`new_id` makes them, for the same millisecond.

    A batch's delivery rows take one each: the randomness of all of them is
    read and turned into digits at once.
    """
    head = f"{prefix}_{_ms_digits()}"
    text = _random_digits(16 * n)
    return [head + text[i : i + 16] for i in range(0, 16 * n, 16)]


def new_token(prefix: str, nbytes: int = 24) -> str:
    """A random bearer credential such as an API key."""
    return f"{prefix}_{secrets.token_urlsafe(nbytes)}"


def now_ms() -> int:
    return time.time_ns() // 1_000_000
