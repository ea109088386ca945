"""Resolve an endpoint's profile: a built-in by name, or the project's custom one.

Custom profiles are stored per project (``profiles`` table) and arrive here as
their JSON definition; building one is cheap but not free, so instances are
cached by definition.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from hookpost.profiles._base import Profile
from hookpost.profiles._registry import PROFILE_NAMES, get_profile


@lru_cache(maxsize=256)
def _custom(definition_json: str) -> Profile:
    from hookpost.profiles.custom import CustomProfile

    profile: Profile = CustomProfile(json.loads(definition_json))
    return profile


def resolve_profile(
    name: str, definition: dict[str, Any] | None = None, serializer: str | None = None
) -> Profile:
    """The profile an endpoint names: built in (written with ``serializer`` when
    it re-serializes), else its project's custom one from ``definition``."""
    if name in PROFILE_NAMES or definition is None:
        return get_profile(name, serializer)
    return _custom(json.dumps(definition, sort_keys=True))


def validate_definition(definition: dict[str, Any]) -> list[tuple[str, str]]:
    from hookpost.profiles.custom import validate_custom_profile

    problems: list[tuple[str, str]] = validate_custom_profile(definition)
    return problems


__all__ = ["resolve_profile", "validate_definition"]
