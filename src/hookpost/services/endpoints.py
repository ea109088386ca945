"""Endpoint use cases: create, update, rotate the secret, send a test, release held deliveries.

The rules that hold whoever asks (the API or the dashboard): the URL passes
the SSRF check (:mod:`hookpost.services.destinations`), the profile is built in
or the project's own, the secret suits the profile and the signing, masked
secret header values keep the stored ones, and a project has at most
``HOOKPOST_MAX_ENDPOINTS_PER_PROJECT`` endpoints.

An endpoint's secret is shown once, in the answer to create and rotate
(:class:`WithSecret`): the HMAC secret receivers share, or -- for ed25519
signing -- only the public ``whpk_`` key. hookpost keeps the private ``whsk_``
key it generated or was given and never shows it again, so whoever can read an
answer (or a portal page) can verify deliveries but never forge them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hookpost.config import Settings
from hookpost.core import destination_url, jsonenc, secret_headers
from hookpost.core.signing import generate_secret
from hookpost.domain import Invalid, NotFound
from hookpost.profiles import (
    PROFILE_NAMES,
    RESERIALIZING_PROFILES,
    Profile,
    ed25519,
    resolve_profile,
)
from hookpost.services import Wake
from hookpost.services.destinations import DestinationPolicy
from hookpost.store import Store

#: The payload of a test event when the caller gives none.
TEST_PAYLOAD = {"message": "test event from hookpost"}


@dataclass(frozen=True, slots=True)
class WithSecret:
    """An endpoint row and the secret that may be shown with it, this once."""

    endpoint: dict[str, Any]
    #: The HMAC secret, or an ed25519 endpoint's public ``whpk_`` key.
    secret: str


async def profile_for(store: Store, project_id: str, name: str) -> Profile:
    """A built-in profile, or this project's custom profile of that name (else Invalid)."""
    if name in PROFILE_NAMES:
        return resolve_profile(name)
    try:
        row = await store.get_profile(project_id, name)
    except NotFound:
        raise Invalid(
            "profile", f"unknown profile {name!r}; built in: {', '.join(PROFILE_NAMES)}"
        ) from None
    return resolve_profile(name, row["definition"])


def check_serializer(profile: str, serializer: str | None) -> None:
    """Invalid("serializer") unless ``serializer`` is None or ``profile`` re-serializes.

    Only a profile whose receivers hash the body as their language writes it
    back (:data:`~hookpost.profiles.RESERIALIZING_PROFILES`) has a serializer
    to choose; the name itself is checked by the schema.
    """
    if serializer is not None and profile not in RESERIALIZING_PROFILES:
        raise Invalid(
            "serializer",
            f"only for profiles whose receivers re-serialize the body "
            f"({', '.join(RESERIALIZING_PROFILES)}); the {profile} profile signs the "
            "raw body, so leave serializer unset (null)",
        )


def secret_for(profile: Profile, given: str | None, signing: str | None) -> str:
    """The secret to store: ``given`` once checked, else a new one of the kind ``signing`` asks.

    ``signing`` None follows the secret given (a ``whsk_`` key means ed25519),
    and without one means hmac.
    """
    field = "signing" if signing else "secret"  # what the caller chose, to name in a refusal
    signing = signing or ed25519.signing_of(given) or "hmac"
    if signing == "ed25519":
        if profile.name != "standard":
            raise Invalid(field, "ed25519 signing works only with the standard profile")
        if given is not None and not given.startswith(ed25519.SECRET_KEY_PREFIX):
            raise Invalid(
                "secret", "ed25519 signing needs a whsk_ secret key, or none to generate a pair"
            )
    elif given is not None and given.startswith(ed25519.SECRET_KEY_PREFIX):
        raise Invalid("secret", "a whsk_ key signs with ed25519, not hmac")
    if given is None:
        return ed25519.generate_keypair()[0] if signing == "ed25519" else generate_secret()
    problem = profile.validate_secret(given)
    if problem:
        raise Invalid("secret", problem)
    return given


def merged_headers(values: dict[str, Any], before: dict[str, Any] | None = None) -> dict[str, Any]:
    """``values`` with its ``headers`` and ``secret_headers`` as they will be stored.

    A masked value keeps the stored one; secret marks add up (see
    :func:`hookpost.core.secret_headers.merge`); Invalid naming the field otherwise.
    """
    try:
        headers, secret = secret_headers.merge(
            values.get("headers"),
            values.get("secret_headers"),
            before["headers"] if before else None,
            before["secret_headers"] if before else (),
        )
    except secret_headers.HeaderProblem as exc:
        raise Invalid(exc.field, exc.message) from None
    return {**values, "headers": headers, "secret_headers": secret}


async def create(
    store: Store,
    settings: Settings,
    destinations: DestinationPolicy,
    project_id: str,
    values: dict[str, Any],
) -> WithSecret:
    """A new endpoint from the create body's ``values`` (``secret`` and ``signing`` included).

    LimitReached once the project has HOOKPOST_MAX_ENDPOINTS_PER_PROJECT endpoints.
    """
    await destinations.check(values["url"])
    values = dict(values)
    given, signing = values.pop("secret", None), values.pop("signing", None)
    profile = await profile_for(store, project_id, values["profile"])
    check_serializer(values["profile"], values.get("serializer"))
    secret = secret_for(profile, given, signing)
    values["event_types"] = values.get("event_types") or []
    values = merged_headers({**values, "headers": values.get("headers") or {}})
    row = await store.create_endpoint(
        project_id,
        {**values, "secret": secret},
        max_endpoints=settings.max_endpoints_per_project,
    )
    return WithSecret(row, ed25519.shown_key(secret))


async def update(
    store: Store,
    settings: Settings,
    destinations: DestinationPolicy,
    project_id: str,
    endpoint_id: str,
    values: dict[str, Any],
) -> dict[str, Any]:
    """Change the fields ``values`` holds (a PATCH: what is absent stays)."""
    for not_null in ("url", "description", "enabled", "ordering"):
        if not_null in values and values[not_null] is None:
            raise Invalid(not_null, "may not be null")
    values = dict(values)
    if values.get("serializer") is not None:
        ep = await store.get_endpoint(project_id, endpoint_id)
        check_serializer(ep["profile"], values["serializer"])
    if values.get("url"):
        await destinations.check(values["url"])
        if destination_url.has_credentials(values["url"]):
            # A broker URL sent back as shown: its masked password keeps the stored one.
            before = await store.get_endpoint(project_id, endpoint_id)
            try:
                stored = before.get("wire_url") or before["url"]
                values["url"] = destination_url.unmask(values["url"], stored)
            except destination_url.DestinationProblem as exc:
                raise Invalid("url", str(exc)) from None
    if "event_types" in values:
        values["event_types"] = values["event_types"] or []
    if "headers" in values:
        values["headers"] = values["headers"] or {}
    if "headers" in values or "secret_headers" in values:
        values = merged_headers(values, await store.get_endpoint(project_id, endpoint_id))
    return await store.update_endpoint(
        project_id, endpoint_id, values, operations_project=settings.operations_project
    )


async def rotate_secret(
    store: Store,
    project_id: str,
    endpoint_id: str,
    *,
    secret: str | None = None,
    signing: str | None = None,
    grace_period_seconds: int,
) -> WithSecret:
    """A new secret (``secret``, or a generated one of the endpoint's kind or ``signing``);
    the previous one keeps signing alongside it for the grace period."""
    ep = await store.get_endpoint(project_id, endpoint_id)
    profile = await profile_for(store, project_id, ep["profile"])
    signing = signing or (None if secret else ed25519.signing_of(ep["secret"]))
    new = secret_for(profile, secret, signing)
    row = await store.rotate_secret(project_id, endpoint_id, new, grace_period_seconds)
    return WithSecret(row, ed25519.shown_key(new))


async def send_test(
    store: Store,
    project_id: str,
    endpoint_id: str,
    event_type: str,
    payload: Any,
    wake: Wake,
) -> tuple[dict[str, Any], int]:
    """Publish a test event to this endpoint only: the event and its delivery count."""
    await store.get_endpoint(project_id, endpoint_id)
    event, count, _ = await store.publish(
        project_id,
        event_type,
        jsonenc.compact(TEST_PAYLOAD if payload is None else payload),
        only_endpoint=endpoint_id,
    )
    wake()
    return event, count


async def release_held(store: Store, project_id: str, endpoint_id: str, wake: Wake) -> int:
    """Queue every delivery held while the endpoint was disabled (Conflict while it still is)."""
    released = await store.release_held(project_id, endpoint_id)
    wake()
    return released
