"""The receiver library: verify that a request really is a webhook from hookpost.

    from hookpost.verify import verify, WebhookVerificationError

    event = verify(raw_body, request.headers, secret)          # standard profile
    event = verify(raw_body, request.headers, [old, new], profile="byl")
    event = verify(raw_body, request.headers, "whpk_...")      # standard, ed25519

Always verify the raw bytes of the body, before any JSON parsing middleware
re-serializes it (:mod:`hookpost.receiver` has helpers for FastAPI/Starlette,
Flask and Django that do). ``verify`` raises only
:class:`WebhookVerificationError`, whatever garbage it is given; its subclass
:class:`MalformedWebhookError` marks requests that are not shaped like a
webhook at all (answer 400) as opposed to a bad or stale signature (401), and
:class:`InvalidSecretError` a secret that is no key at all -- missing, empty,
blank, a bare ``whsec_`` -- which would otherwise "verify" signatures made
with the empty HMAC key, that anyone can make. It is refused before the
request is looked at, and one such entry refuses a whole list.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from hookpost.core.signing import InvalidSecretError, WebhookVerificationError
from hookpost.profiles import MalformedWebhookError, Profile, get_profile, usable_keys

__all__ = ["InvalidSecretError", "MalformedWebhookError", "WebhookVerificationError", "verify"]


def verify(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str | Sequence[str],
    profile: str | Profile = "standard",
    tolerance: float = 300,
    *,
    now: float | None = None,
) -> Any:
    """Return the parsed event if ``body`` is signed by one of the secrets.

    ``profile`` is a built-in profile's name or a profile object (such as a
    :class:`~hookpost.profiles.CustomProfile`). ``tolerance`` is how many
    seconds a signed timestamp may be away from ``now``, for the schemes that
    sign one (standard, stripe, galaxyjoy, custom with a timestamp).
    """
    try:
        secrets = usable_keys(secret)  # a key that is no key is the first thing to fix
        try:
            prof = get_profile(profile) if isinstance(profile, str) else profile
        except KeyError as exc:
            raise WebhookVerificationError(str(exc.args[0])) from None
        raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        return prof.verify(
            raw, headers, secrets, tolerance=tolerance, now=time.time() if now is None else now
        )
    except WebhookVerificationError:
        raise
    except Exception as exc:  # garbage input must never surface as anything else
        raise WebhookVerificationError(f"malformed webhook: {type(exc).__name__}") from None
