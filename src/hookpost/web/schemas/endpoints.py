"""Endpoints: where events go, how they are signed and the delivery policy."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator

from hookpost.core import secret_headers
from hookpost.core.serializers import Serializer
from hookpost.profiles import PROFILE_NAMES, RESERIALIZING_PROFILES
from hookpost.web.schemas.checks import (
    check_filter,
    check_headers,
    check_secret_names,
    check_url,
)
from hookpost.web.schemas.common import PROFILE_NAME_RE, SUBSCRIPTION_RE, In, Timestamp

#: How an endpoint signs: an HMAC secret, or an ed25519 key pair (standard profile only).
Signing = Literal["hmac", "ed25519"]
SIGNING_DESCRIPTION = (
    "hmac: a shared secret (whsec_... for the standard profile). ed25519: a key pair, "
    "standard profile only; hookpost keeps the private whsk_ key and receivers verify "
    "with public_key. Default: ed25519 if the secret given is a whsk_ key, else hmac."
)


Subscription = Annotated[str, Field(pattern=SUBSCRIPTION_RE, max_length=255)]
SECRET_HEADERS_DOC = (
    "Custom headers to treat as secret besides those secret by name (Authorization, "
    "Cookie, X-Api-Key, *-Token, *-Secret, *-Key, *-Password, ...): stored encrypted, "
    f"shown as {secret_headers.MASK!r}. Sending {secret_headers.MASK!r} as a header's "
    "value keeps its stored value."
)


SERIALIZER_DOC = (
    "Profiles whose receivers hash the body as their language writes it back after "
    f"parsing ({', '.join(RESERIALIZING_PROFILES)}): that language's serializer, and "
    "hookpost sends and signs exactly the bytes it writes. javascript (the default): "
    "JSON.stringify; php: json_encode of the array json_decode gives (\\/, \\uXXXX, "
    "{} as []); ruby: JSON.generate (1.0, 1.0e-05). Any other profile: null only."
)


MAX_ATTEMPTS_DOC = (
    "Attempts in all, the first one included (default: the profile's, else 8: at once, "
    "then retries 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h after each failure)."
)


class _EndpointPolicy(In):
    """The fields endpoint create and update share, with the same rules (absent or null:
    the default on create, unchanged on update): custom headers and the delivery policy."""

    headers: dict[str, str] | None = None
    secret_headers: list[str] | None = Field(
        default=None, max_length=20, description=SECRET_HEADERS_DOC
    )
    max_attempts: int | None = Field(
        default=None,
        ge=1,
        le=50,
        description=MAX_ATTEMPTS_DOC,
    )
    timeout_seconds: float | None = Field(default=None, ge=1, le=60)

    retry_schedule: list[Annotated[float, Field(gt=0, le=3 * 86400)]] | None = Field(
        default=None,
        max_length=30,
        description="Seconds to wait after each failed attempt (the last repeats).",
    )
    success_rule: Literal["2xx", "200"] | None = Field(
        default=None, description="What counts as success; default: the profile's rule."
    )
    rate_limit: float | None = Field(
        default=None, gt=0, le=10_000, description="Requests per second, across all workers."
    )
    max_concurrency: int | None = Field(
        default=None, ge=1, le=1024, description="Requests in flight per worker."
    )
    filter: dict[str, Any] | None = Field(
        default=None,
        description="Payload filter ($eq $neq $in $nin $gt $gte $lt $lte $exists $and $or).",
    )

    @field_validator("filter")
    @classmethod
    def _filter(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        return check_filter(v)

    @field_validator("headers")
    @classmethod
    def _headers(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        return check_headers(v)

    @field_validator("secret_headers")
    @classmethod
    def _secret_headers(cls, v: list[str] | None) -> list[str] | None:
        return check_secret_names(v)


class EndpointIn(_EndpointPolicy):
    url: str = Field(
        description="Where events go: an http(s) webhook URL, or a broker URL (amqp(s), "
        "redis(s), nats, mqtt(s), sqs; see docs/destinations.md). A broker URL's password "
        "is encrypted at rest and shown as ***; sent back as shown, it keeps the stored one."
    )
    event_types: list[Subscription] | None = Field(
        default=None, max_length=100, description="Absent or empty: every event type."
    )
    profile: str = "standard"
    signing: Signing | None = Field(default=None, description=SIGNING_DESCRIPTION)
    secret: str | None = Field(
        default=None,
        min_length=8,
        max_length=256,
        description="Absent: hookpost generates one (a key pair for ed25519 signing).",
    )
    description: str = Field(default="", max_length=1000)
    enabled: bool = True
    ordering: Literal["none", "fifo"] = "none"
    serializer: Serializer | None = Field(default=None, description=SERIALIZER_DOC)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return check_url(v)

    @field_validator("profile")
    @classmethod
    def _profile(cls, v: str) -> str:
        if v not in PROFILE_NAMES and not re.match(PROFILE_NAME_RE, v):
            raise ValueError(f"unknown profile; built in: {', '.join(PROFILE_NAMES)}")
        return v


class EndpointPatch(_EndpointPolicy):
    url: str | None = None
    event_types: list[Subscription] | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    enabled: bool | None = None
    ordering: Literal["none", "fifo"] | None = None
    serializer: Serializer | None = Field(
        default=None, description=SERIALIZER_DOC + " null: back to the default."
    )

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return None if v is None else check_url(v)


class EndpointHealth(BaseModel):
    """How deliveries to the endpoint have been going (its circuit breaker)."""

    circuit: Literal["closed", "open", "half-open"] = Field(
        description="open: attempts wait until circuit_open_until; half-open: the next "
        "attempt decides; closed: attempts go as scheduled."
    )
    circuit_open_until: Timestamp | None
    consecutive_failures: int
    failing_since: Timestamp | None = Field(
        description="When the current run of failures began; null while succeeding."
    )
    disabled_reason: str | None = Field(
        description="Why hookpost disabled the endpoint (it failed too long); null if it did not."
    )
    disabled_at: Timestamp | None


class EndpointOut(BaseModel):
    id: str
    project_id: str
    url: str
    description: str
    event_types: list[str]
    profile: str
    signing: Signing | None = Field(
        description="hmac or ed25519; null only if the secret cannot be decrypted."
    )
    public_key: str | None = Field(
        description="ed25519 endpoints: the whpk_ public key receivers verify with "
        "(the private key never leaves hookpost). null for hmac."
    )
    headers: dict[str, str] = Field(
        description=f"Secret headers' values are shown as {secret_headers.MASK!r}."
    )
    secret_headers: list[str] = Field(
        description="The names in headers whose values are secret (by name or marked)."
    )
    max_attempts: int | None
    timeout_seconds: float | None
    enabled: bool
    ordering: str
    serializer: Serializer | None = Field(
        description="The receiver's serializer the body is written and signed for "
        f"({', '.join(RESERIALIZING_PROFILES)}); null for the other profiles."
    )
    retry_schedule: list[float] | None
    success_rule: str | None
    rate_limit: float | None
    max_concurrency: int | None
    filter: dict[str, Any] | None
    health: EndpointHealth
    created_at: Timestamp
    updated_at: Timestamp


class EndpointCreated(EndpointOut):
    secret: str = Field(
        description="What receivers verify with, shown only on creation and rotation: "
        "the HMAC secret, or for ed25519 the public whpk_ key (same as public_key)."
    )


class RotateIn(In):
    signing: Signing | None = Field(
        default=None,
        description="Default: the endpoint's current signing (ed25519: a new key pair).",
    )
    secret: str | None = Field(default=None, min_length=8, max_length=256)
    grace_period_seconds: int = Field(default=86400, ge=0, le=7 * 86400)
