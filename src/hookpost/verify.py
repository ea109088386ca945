"""The receiver library: verify that a request really is a webhook from hookpost.

    from hookpost.verify import verify, WebhookVerificationError

    event = verify(raw_body, request.headers, secret)          # standard profile
    event = verify(raw_body, request.headers, [old, new], profile="standard")

Always verify the raw bytes of the body, before any JSON parsing middleware
re-serializes it. ``verify`` raises only :class:`WebhookVerificationError`,
whatever garbage it is given.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from hookpost.core.signing import WebhookVerificationError
from hookpost.profiles import get_profile

__all__ = ["WebhookVerificationError", "verify"]


def verify(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str | Sequence[str],
    profile: str = "standard",
    tolerance: float = 300,
    *,
    now: float | None = None,
) -> Any:
    """Return the parsed event if ``body`` is signed by one of the secrets."""
    try:
        prof = get_profile(profile)
    except KeyError as exc:
        raise WebhookVerificationError(str(exc)) from None
    secrets = [secret] if isinstance(secret, str) else list(secret)
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    try:
        return prof.verify(
            raw, headers, secrets, tolerance=tolerance, now=time.time() if now is None else now
        )
    except WebhookVerificationError:
        raise
    except Exception as exc:  # garbage input must never surface as anything else
        raise WebhookVerificationError(f"malformed webhook: {type(exc).__name__}") from None
