"""What every framework helper does once it has the raw body and the headers."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hookpost.profiles import MalformedWebhookError, Profile
from hookpost.verify import WebhookVerificationError, verify

#: A secret, several (during a rotation), or a function returning them -- so an
#: app can read its settings at request time rather than at import time.
SecretSource = str | Sequence[str] | Callable[[], str | Sequence[str]]


def status_for(exc: WebhookVerificationError) -> int:
    """400 for a request that is not a webhook, 401 for a failed signature."""
    return 400 if isinstance(exc, MalformedWebhookError) else 401


@dataclass(frozen=True, slots=True)
class WebhookVerifier:
    secret: SecretSource
    profile: str | Profile = "standard"
    tolerance: float = 300

    def secrets(self) -> str | Sequence[str]:
        return self.secret() if callable(self.secret) else self.secret

    def __call__(self, body: bytes, headers: Mapping[str, str]) -> Any:
        """The parsed event, or ``WebhookVerificationError``."""
        return verify(body, headers, self.secrets(), self.profile, self.tolerance)
