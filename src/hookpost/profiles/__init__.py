"""Wire profiles: envelope + signature scheme + success rule + retry defaults.

``get_profile(name)`` is the single lookup used by the dispatcher (to sign) and
by :mod:`hookpost.verify` (to check), so both sides share one implementation.
Built in: ``standard`` (the default), ``stripe`` and the four seed providers;
operators add their own with :class:`~hookpost.profiles.custom.CustomProfile`.
The exact wire contract of each is in ``docs/profiles.md``.
"""

from __future__ import annotations

from hookpost.profiles._base import EventData, MalformedWebhookError, Profile
from hookpost.profiles._checks import usable_keys
from hookpost.profiles._registry import PROFILE_NAMES, RESERIALIZING_PROFILES, get_profile
from hookpost.profiles._resolve import resolve_profile, validate_definition
from hookpost.profiles.custom import CustomProfile, InvalidProfileError
from hookpost.profiles.custom_rules import validate_custom_profile
from hookpost.profiles.ed25519 import generate_keypair, public_key_for

__all__ = [
    "PROFILE_NAMES",
    "RESERIALIZING_PROFILES",
    "CustomProfile",
    "EventData",
    "InvalidProfileError",
    "MalformedWebhookError",
    "Profile",
    "generate_keypair",
    "get_profile",
    "public_key_for",
    "resolve_profile",
    "usable_keys",
    "validate_custom_profile",
    "validate_definition",
]
