"""The audit log's vocabulary: every action it records, and what an entry may show.

An audit entry says who (:mod:`hookpost.domain._actor`) did what (an
*action*, one of :data:`ACTIONS`) to which object, and how the object's
fields changed. This module is the one place both are decided:

- :data:`ACTIONS` names every action, one line each. The store refuses an
  action that is not in it (:func:`check_action`), so a reader of the log, the
  API's filter and the docs have one list to go by, and a typo fails a test
  instead of writing a name nobody searches for.
- :func:`changes` turns an object's state before and after a change into the
  fields that changed, each side masked by :func:`masked`: the one masking
  rule. A field is secret when its name says so by the same rule as custom
  headers (:func:`hookpost.core.secret_headers.secret_by_name`: ``secret``,
  ``api_key``, ``password``, ``token``..., plurals too: ``old_secrets``) or it
  ends in ``_hash``; such a
  value is shown as :data:`MASK` on both sides, so the entry tells *that* a
  secret changed, never what it is. A ``headers`` mapping is masked header by
  header (secret by name or by the object's ``secret_headers`` marks), and a
  broker URL's password is masked as the API shows it. Fields that only
  describe the write itself (:data:`NOISE`: ``updated_at``) and the
  decrypted copies the store keeps for delivery (``wire_url``) are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from hookpost.core import destination_url, secret_headers

#: What a secret value is shown as in an entry (the same mask as headers).
MASK = secret_headers.MASK

#: Every action the audit log records: ``<object>.<verb>`` -> what it means.
ACTIONS: dict[str, str] = {
    "project.create": "a project was created (with its default API key)",
    "project.update": "a project was renamed",
    "project.delete": "a project and everything in it were deleted",
    "api_key.create": "a project API key was issued",
    "api_key.revoke": "a project API key was revoked",
    "endpoint.create": "an endpoint was added",
    "endpoint.update": "an endpoint's settings changed (enabling and disabling included)",
    "endpoint.delete": "an endpoint and its deliveries were deleted",
    "endpoint.secret.reveal": "an endpoint's signing secret or secret header was shown",
    "endpoint.secret.rotate": "an endpoint's signing secret was replaced",
    "endpoint.recover": "a recover job was started for one endpoint's failed deliveries",
    "project.recover": "a recover job was started for every endpoint's failed deliveries",
    "endpoint.release_held": "deliveries held while the endpoint was disabled were released",
    "delivery.resend": "a delivery was made due again with one more attempt",
    "event_type.create": "an event type was added to the catalog",
    "event_type.delete": "an event type was removed from the catalog",
    "event_type.seed": "a seed provider's event types were added (or refreshed) at once",
    "profile.create": "a custom profile was added",
    "profile.delete": "a custom profile was deleted",
    "portal_link.create": "a portal link was issued to a project's customer",
    "secret_key.rotate": "endpoint secrets were re-encrypted under the current key (rotate-key)",
    "session.sign_in": "someone signed in to the dashboard",
    "session.sign_in_failed": "a dashboard sign-in was refused (wrong credentials)",
    "session.sign_out": "someone signed out of the dashboard",
    "operator.create": "an operator account was created",
    "operator.update": "an operator's role, projects or state changed",
    "operator.disable": "an operator account was disabled",
    "operator.password_reset": "an operator's password was reset (a set-password link issued)",
    "operator.password_set": "an operator set a password",
    "operator.sessions_revoke": "every session of an operator was ended",
    "token.create": "a personal API token was issued",
    "token.revoke": "a personal API token was revoked",
    "token.refused": "an API request's bearer token was refused (unknown, revoked or expired)",
}

#: Object types an entry may name (the first word of an action, mostly).
OBJECT_TYPES = frozenset(
    {
        "project",
        "api_key",
        "endpoint",
        "delivery",
        "event_type",
        "profile",
        "portal_link",
        "secret_key",
        "session",
        "operator",
        "token",
    }
)

#: Fields that change with every write and say nothing about it.
NOISE = frozenset({"updated_at", "wire_url"})


def check_action(action: str) -> str:
    """``action`` if :data:`ACTIONS` names it; ValueError otherwise."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: add it to hookpost.domain.ACTIONS")
    return action


def secret_field(name: str) -> bool:
    """Is a field of this name secret (its value never shown in an entry)?"""
    plural = name.removesuffix("s")  # old_secrets
    return name.endswith("_hash") or any(map(secret_headers.secret_by_name, (name, plural)))


def _mask_value(name: str, value: Any, marked: Iterable[str]) -> Any:
    if value is None:
        return None
    if secret_field(name):
        return MASK
    if name == "headers" and isinstance(value, Mapping):
        return secret_headers.mask(value, marked)
    if name == "url" and isinstance(value, str):
        return destination_url.mask(value)
    return value


def masked(fields: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``fields`` with every secret value masked and :data:`NOISE` left out (None stays None)."""
    if fields is None:
        return None
    marked = fields.get("secret_headers") or ()
    return {k: _mask_value(k, v, marked) for k, v in fields.items() if k not in NOISE}


def _set(fields: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    return None if fields is None else {k: v for k, v in fields.items() if v is not None}


def changes(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The fields that differ between ``before`` and ``after``, each side masked.

    A create passes ``before=None`` (every field of ``after`` that is set is
    new), a delete ``after=None`` (every field that was set is gone); an update
    gets only the fields whose values differ (a field one side lacks counts as
    None). A secret that changed shows as
    :data:`MASK` -> :data:`MASK`: that it changed, never what it is.
    """
    if before is None or after is None:  # a field a create leaves empty did not change
        return masked(_set(before)), masked(_set(after))
    names = [k for k in {**before, **after} if k not in NOISE]
    differ = [k for k in names if before.get(k) != after.get(k)]
    old, new = masked(before) or {}, masked(after) or {}
    return {k: old.get(k) for k in differ}, {k: new.get(k) for k in differ}


__all__ = ["ACTIONS", "MASK", "NOISE", "OBJECT_TYPES", "changes", "check_action", "masked"]
