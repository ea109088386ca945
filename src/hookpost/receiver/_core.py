"""What every framework helper does once it has the raw body and the headers.

A secret given as a value is checked when the helper is made, so an empty or
blank ``WEBHOOK_SECRET`` stops the app at start-up with ``InvalidSecretError``
instead of accepting signatures made with the empty key. A secret given as a
function can only be checked per request: an unusable one then answers 500
(the receiver's configuration is at fault, not the request, and the sender
retries) and the handler never runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hookpost.profiles import MalformedWebhookError, Profile, usable_keys
from hookpost.verify import InvalidSecretError, WebhookVerificationError, verify

#: A secret, several (during a rotation), or a function returning them -- so an
#: app can read its settings at request time rather than at import time.
SecretSource = str | Sequence[str] | Callable[[], str | Sequence[str]]


def status_for(exc: WebhookVerificationError) -> int:
    """400 for a request that is not a webhook, 401 for a failed signature,
    500 when the receiver's own secret is unusable."""
    if isinstance(exc, InvalidSecretError):
        return 500
    return 400 if isinstance(exc, MalformedWebhookError) else 401


@dataclass(frozen=True, slots=True)
class WebhookVerifier:
    secret: SecretSource
    profile: str | Profile = "standard"
    tolerance: float = 300

    def __post_init__(self) -> None:
        if not callable(self.secret):
            usable_keys(self.secret)  # InvalidSecretError at set-up, not per request

    def secrets(self) -> str | Sequence[str]:
        return self.secret() if callable(self.secret) else self.secret

    def __call__(self, body: bytes, headers: Mapping[str, str]) -> Any:
        """The parsed event, or ``WebhookVerificationError``."""
        return verify(body, headers, self.secrets(), self.profile, self.tolerance)
