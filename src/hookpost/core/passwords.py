"""Operator passwords: Argon2id hashes, never the password.

An operator's password is the one low-entropy secret hookpost keeps, so it
gets a slow, memory-hard hash (Argon2id through ``argon2-cffi``, with the
library's defaults: 3 passes over 64 MiB, 4 lanes -- about 50 ms of one core
here) instead of the SHA-256 that is enough for the random API keys and
personal tokens. :func:`verify` takes about as long for an unknown account as
for a known one (it checks against a dummy hash), so the time of a failed
sign-in does not tell whether the email exists.

Both functions burn CPU for tens of milliseconds: async callers run them in a
thread (``asyncio.to_thread``) so the event loop keeps serving.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

#: Shortest password accepted (NIST SP 800-63B asks for at least 8; we ask 12).
MIN_LENGTH = 12
#: Longest accepted: Argon2 takes any length, but a megabyte "password" is a DoS.
MAX_LENGTH = 256

_hasher = PasswordHasher()
#: What :func:`verify` checks an unknown account's password against: a hash made with
#: today's parameters (a unit test keeps it so). Written out rather than hashed at import:
#: hashing allocates the 64 MiB of memory Argon2 works in, which was a third of the
#: server's peak RSS (issue 15, target 8) for a sign-in that may never happen.
_DUMMY = (
    "$argon2id$v=19$m=65536,t=3,p=4$wTXLqKx58N08Swvtj+AQEA"
    "$RPIYldg4ZOfEvd3/J3del7gbx7yverjIK80VabNRRCw"
)


def check_strength(password: str) -> str | None:
    """Why ``password`` is refused (a sentence for the form), or None if it will do."""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    if not password.strip():
        return "must not be only spaces"
    return None


def hash_password(password: str) -> str:
    """The Argon2id hash (a ``$argon2id$...`` string with its own salt and parameters)."""
    return _hasher.hash(password)


def verify(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored``; False for None (no password set yet)."""
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True when ``stored`` was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(stored)


__all__ = ["MAX_LENGTH", "MIN_LENGTH", "check_strength", "hash_password", "needs_rehash", "verify"]
