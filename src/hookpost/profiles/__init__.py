"""Wire profiles: envelope + signature scheme + success rule + retry defaults.

``get_profile(name)`` is the single lookup used by the dispatcher (to sign) and
by :mod:`hookpost.verify` (to check), so both sides share one implementation.
Built in: ``standard`` (the default), ``stripe`` and the four seed providers;
operators add their own with :class:`~hookpost.profiles.custom.CustomProfile`.
The exact wire contract of each is in ``docs/profiles.md``.
"""

from __future__ import annotations

from hookpost.profiles._base import EventData, MalformedWebhookError, Profile
from hookpost.profiles.byl import BylProfile
from hookpost.profiles.custom import CustomProfile, InvalidProfileError
from hookpost.profiles.custom_rules import validate_custom_profile
from hookpost.profiles.ed25519 import generate_keypair, public_key_for
from hookpost.profiles.galaxyjoy import GalaxyJoyProfile
from hookpost.profiles.gluwa import GluwaProfile
from hookpost.profiles.gluwa_v1 import GluwaV1Profile
from hookpost.profiles.justwallet import JustWalletProfile
from hookpost.profiles.standard import StandardProfile
from hookpost.profiles.stripe import StripeProfile

_PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        StandardProfile(),
        StripeProfile(),
        GalaxyJoyProfile(),
        GluwaProfile(),
        GluwaV1Profile(),
        JustWalletProfile(),
        BylProfile(),
    )
}

PROFILE_NAMES: tuple[str, ...] = tuple(_PROFILES)


def get_profile(name: str) -> Profile:
    try:
        return _PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown profile {name!r}; known: {', '.join(PROFILE_NAMES)}") from None


__all__ = [
    "PROFILE_NAMES",
    "CustomProfile",
    "EventData",
    "InvalidProfileError",
    "MalformedWebhookError",
    "Profile",
    "generate_keypair",
    "get_profile",
    "public_key_for",
    "validate_custom_profile",
]
