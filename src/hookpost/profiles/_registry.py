"""The built-in profiles by name: the one table ``get_profile`` reads."""

from __future__ import annotations

from hookpost.profiles._base import Profile
from hookpost.profiles.byl import BylProfile
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


__all__ = ["PROFILE_NAMES", "get_profile"]
