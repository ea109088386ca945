"""Wire profiles: envelope + signature scheme + success rule + retry defaults.

``get_profile(name)`` is the single lookup used by the dispatcher (to sign) and
by :mod:`hookpost.verify` (to check), so both sides share one implementation.
"""

from __future__ import annotations

from hookpost.profiles._base import EventData, Profile
from hookpost.profiles.standard import StandardProfile

_PROFILES: dict[str, Profile] = {p.name: p for p in (StandardProfile(),)}

PROFILE_NAMES: tuple[str, ...] = tuple(_PROFILES)


def get_profile(name: str) -> Profile:
    try:
        return _PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown profile {name!r}; known: {', '.join(PROFILE_NAMES)}") from None


__all__ = ["PROFILE_NAMES", "EventData", "Profile", "get_profile"]
