"""The built-in profiles by name: the one table ``get_profile`` reads."""

from __future__ import annotations

from hookpost.core.serializers import SERIALIZERS
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

#: Built-in profiles whose providers' guides hash the body as the receiver's
#: language re-serializes it, so an endpoint names that language's serializer.
RESERIALIZING_PROFILES: tuple[str, ...] = (JustWalletProfile.name,)

_SERIALIZED: dict[tuple[str, str], Profile] = {
    (JustWalletProfile.name, s): JustWalletProfile(s) for s in SERIALIZERS
}


def get_profile(name: str, serializer: str | None = None) -> Profile:
    """The built-in profile ``name``; ``serializer`` (one of
    :data:`~hookpost.core.serializers.SERIALIZERS`) picks how a re-serializing
    profile writes its body and is ignored by the others (None: the default).

    Raises ``KeyError`` for an unknown profile or serializer name.
    """
    if serializer is not None and name in RESERIALIZING_PROFILES:
        try:
            return _SERIALIZED[name, serializer]
        except KeyError:
            raise KeyError(f"unknown serializer {serializer!r}") from None
    try:
        return _PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown profile {name!r}; known: {', '.join(PROFILE_NAMES)}") from None


__all__ = ["PROFILE_NAMES", "RESERIALIZING_PROFILES", "get_profile"]
