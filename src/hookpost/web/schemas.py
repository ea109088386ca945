"""Request and response bodies of the REST API (pydantic v2).

Request models forbid unknown fields, so a typo is a 422 naming the field
rather than a silently ignored setting.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from ipaddress import IPv6Address
from typing import Annotated, Any, Generic, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from yarl import URL

from hookpost.core import crypto, destination_url, filters, limits, secret_headers
from hookpost.core.netguard import numeric_host
from hookpost.profiles import PROFILE_NAMES

EVENT_TYPE_RE = r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$"
SUBSCRIPTION_RE = r"^(\*|[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*(\.\*)?)$"
EVENT_ID_RE = r"^[A-Za-z0-9_\-.:]+$"
PROFILE_NAME_RE = r"^[a-z0-9][a-z0-9_\-]{0,63}$"
#: What each pattern allows, in words: the 422 says this, not the regular expression.
PATTERN_WORDS = {
    EVENT_TYPE_RE: "must be words of letters, digits, '_' or '-' joined by single dots, "
    "like user.created (no spaces or other characters, no dot at either end)",
    SUBSCRIPTION_RE: "must be an event type like user.created, a prefix ending in .* "
    "like user.* (its types and their subtypes), or * for every type",
    EVENT_ID_RE: "may contain only letters, digits and the characters _ - . :",
    PROFILE_NAME_RE: "must be 1 to 64 lowercase letters, digits, '_' or '-', "
    "starting with a letter or digit",
}
HEADER_NAME_RE = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# Headers the signature scheme or HTTP itself owns.
RESERVED_HEADERS = {
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    # 100-continue makes the HTTP client hold the body until the receiver answers
    # an interim response, which many receivers never send: every attempt would
    # stall until its timeout. Whether to ask for one is the sender's business.
    "expect",
    "proxy-authorization",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    # the seed providers' signature headers
    "stripe-signature",
    "gj-signature",
    "x-request-signature",
    "signature",
    "byl-signature",
}

DeliveryStatus = Literal["pending", "delivering", "succeeded", "failed", "held"]
#: How an endpoint signs: an HMAC secret, or an ed25519 key pair (standard profile only).
Signing = Literal["hmac", "ed25519"]
SIGNING_DESCRIPTION = (
    "hmac: a shared secret (whsec_... for the standard profile). ed25519: a key pair, "
    "standard profile only; hookpost keeps the private whsk_ key and receivers verify "
    "with public_key. Default: ed25519 if the secret given is a whsk_ key, else hmac."
)


#: What a time in a request may be (UTC): later arithmetic and ``iso()`` stay in datetime's range.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)


def in_range(moment: datetime) -> datetime:
    """``moment`` in UTC (without an offset: taken as UTC); ValueError outside the years 1-9999."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("must be between the years 1 and 9999") from None
    if not EARLIEST <= moment <= LATEST:
        raise ValueError("must be between the years 1 and 9999")
    return moment


#: A time in a request: ISO 8601 (or epoch seconds), kept within :func:`in_range`.
Moment = Annotated[datetime, AfterValidator(in_range)]


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, v: Any) -> Any:
        # PostgreSQL text cannot hold NUL, and no name, URL or id needs one.
        if isinstance(v, str) and "\x00" in v:
            raise ValueError("must not contain NUL characters")
        return v

    @field_validator("*", mode="after")
    @classmethod
    def _finite(cls, v: Any, info: ValidationInfo) -> Any:
        # Python reads NaN, Infinity and 1e400 in a JSON body; PostgreSQL's json
        # type refuses them (a 500 when stored) and no filter, schema or
        # definition means anything by them. Payloads have their own check.
        if isinstance(v, (dict, list)) and info.field_name != "payload":
            try:
                json.dumps(v, allow_nan=False)
            except ValueError:
                raise ValueError("numbers must be finite (no NaN, Infinity or 1e400)") from None
            except RecursionError:
                raise ValueError("is nested too deeply") from None
        return v


def check_json_payload(payload: Any) -> Any:
    """The payload must be real JSON (no NaN/Infinity, no unpaired surrogates),
    within the nesting and size limits every later layer can handle."""
    limits.check_shape(payload)
    try:
        json.dumps(payload, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except ValueError as exc:
        raise ValueError(f"is not valid JSON ({exc})") from None
    except UnicodeEncodeError:
        raise ValueError(
            "contains text that is not valid Unicode (an unpaired surrogate)"
        ) from None
    return payload


def _check_url(url: str) -> str:
    url = url.strip()
    if len(url) > 2048:
        raise ValueError("must be at most 2048 characters")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise ValueError("must not contain spaces or control characters")
    if "\\" in url:  # browsers read it as "/", urllib and yarl do not: no one reading
        raise ValueError("must not contain a backslash")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"is not a valid URL ({exc})") from None
    if destination_url.is_broker(url):
        try:
            destination_url.parse(url)  # credentials are fine here: sealed and masked
        except destination_url.DestinationProblem as exc:
            raise ValueError(str(exc)) from None
        problem = _host_problem(url, bracketed="[" in parts.netloc)
        if problem is not None:
            raise ValueError(problem)
        return url
    if parts.scheme not in ("http", "https"):
        raise ValueError(destination_url.SCHEMES_TEXT)
    if not parts.hostname:
        raise ValueError("must include a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not contain credentials")
    if port == 0:
        raise ValueError("has an invalid port")
    problem = _host_problem(url, bracketed="[" in parts.netloc)
    if problem is not None:
        raise ValueError(problem)
    return url


_HOST_LABEL = re.compile(r"[A-Za-z0-9_-]{1,63}")


def _host_problem(url: str, *, bracketed: bool) -> str | None:
    """Why the sender could not use the host as yarl (and so aiohttp) reads it, or None.

    urllib and yarl disagree on spellings urllib lets through (``a\\b``,
    ``[::1]x``, empty or invalid IDNA labels, zero-width characters): what is
    registered must be what is delivered to, so yarl's reading must be a plain
    DNS name or IP address too.
    """
    try:
        target = URL(url)
        host = target.raw_host or ""
        _ = target.port
    except (ValueError, UnicodeError, TypeError) as exc:
        return f"is not a valid URL ({exc})"
    if not host:
        return "must include a host"
    if bracketed:
        try:
            IPv6Address(host)
        except ValueError:
            return "has an invalid IPv6 address"
        return "must not name a network interface (%)" if "%" in host else None
    name = host[:-1] if host.endswith(".") else host
    if len(name) > 253:
        return "has a host name longer than 253 characters"
    labels = name.split(".")
    if not all(_HOST_LABEL.fullmatch(label) for label in labels):
        return "has an invalid host name (letters, digits, '-' and '_' between dots)"
    if not all(_a_label_ok(label) for label in labels):
        return "has an invalid internationalized (IDNA) host name"
    if labels[-1].isdigit() and numeric_host(host) is None:
        return "is not a valid IPv4 address"
    return None


def _a_label_ok(label: str) -> bool:
    """An ``xn--`` label must decode to printable non-ASCII text (else it is no A-label)."""
    if not label.lower().startswith("xn--"):
        return True
    try:
        text = label[4:].encode("ascii").decode("punycode")
    except UnicodeError:
        return False
    return bool(text) and text.isprintable() and not text.isascii()


def _check_filter(flt: dict[str, Any] | None) -> dict[str, Any] | None:
    if flt is None:
        return None
    limits.check_shape(flt)
    try:
        filters.validate(flt, path="filter")
    except filters.FilterError as exc:
        raise ValueError(f"{exc.path[len('filter.') :] or 'filter'}: {exc.message}") from None
    return flt


def _check_headers(headers: dict[str, str] | None) -> dict[str, str] | None:
    if headers is None:
        return None
    if len(headers) > 20:
        raise ValueError("at most 20 custom headers")
    seen: dict[str, str] = {}
    for name, value in headers.items():
        if not HEADER_NAME_RE.match(name):
            raise ValueError(f"{name!r} is not a valid header name")
        # Header names ignore case: the HTTP client sends one of the two and
        # drops the other without a word, so the configuration would lie.
        if (first := seen.setdefault(name.lower(), name)) != name:
            raise ValueError(f"{name!r} repeats {first!r} (header names ignore case)")
        if name.lower() in RESERVED_HEADERS:
            raise ValueError(f"{name!r} is set by hookpost and cannot be overridden")
        if "\r" in value or "\n" in value or "\0" in value:
            raise ValueError(f"the value of {name!r} contains a line break")
        if value.startswith(crypto.PREFIX):
            # The stored form of a sealed value: a clear one may not look like it.
            raise ValueError(f"the value of {name!r} may not start with {crypto.PREFIX!r}")
        if len(name) + len(value) > 1024:
            raise ValueError(f"{name!r} is too long")
    return headers


def _check_secret_names(names: list[str] | None) -> list[str] | None:
    for name in names or []:
        if not HEADER_NAME_RE.match(name):
            raise ValueError(f"{name!r} is not a valid header name")
    return names


Subscription = Annotated[str, Field(pattern=SUBSCRIPTION_RE, max_length=255)]
SECRET_HEADERS_DOC = (
    "Custom headers to treat as secret besides those secret by name (Authorization, "
    "Cookie, X-Api-Key, *-Token, *-Secret, *-Key, *-Password, ...): stored encrypted, "
    f"shown as {secret_headers.MASK!r}. Sending {secret_headers.MASK!r} as a header's "
    "value keeps its stored value."
)


MAX_ATTEMPTS_DOC = (
    "Attempts in all, the first one included (default: the profile's, else 8: at once, "
    "then retries 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h after each failure)."
)


class ProjectIn(_In):
    name: str = Field(min_length=1, max_length=200)


class ProjectOut(BaseModel):
    id: str
    name: str
    created_at: str


class ProjectCreated(ProjectOut):
    api_key: str = Field(description="Shown only once.")


class ApiKeyIn(_In):
    scope: Literal["full", "read", "publish"] = Field(
        default="full",
        description="full: everything in the project; read: GET only; "
        "publish: only POST .../events and POST .../events/batch.",
    )
    name: str = Field(default="", max_length=200, description="A label, e.g. 'billing backend'.")


class ApiKeyOut(BaseModel):
    id: str
    name: str
    scope: str
    prefix: str = Field(description="The key's first characters, to recognise it by.")
    created_at: str
    revoked_at: str | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="Shown only once; hookpost keeps only its hash.")


class _EndpointPolicy(_In):
    """Delivery policy fields shared by endpoint create and update."""

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
        return _check_filter(v)


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
    enabled: bool = True
    ordering: Literal["none", "fifo"] = "none"

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _check_url(v)

    @field_validator("headers")
    @classmethod
    def _headers(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        return _check_headers(v)

    @field_validator("secret_headers")
    @classmethod
    def _secret_headers(cls, v: list[str] | None) -> list[str] | None:
        return _check_secret_names(v)

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
    enabled: bool | None = None
    ordering: Literal["none", "fifo"] | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return None if v is None else _check_url(v)

    @field_validator("headers")
    @classmethod
    def _headers(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        return _check_headers(v)

    @field_validator("secret_headers")
    @classmethod
    def _secret_headers(cls, v: list[str] | None) -> list[str] | None:
        return _check_secret_names(v)


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
    retry_schedule: list[float] | None
    success_rule: str | None
    rate_limit: float | None
    max_concurrency: int | None
    filter: dict[str, Any] | None
    health: dict[str, Any] = Field(
        description="circuit (closed|open|half-open), consecutive_failures, failing_since, "
        "disabled_reason, disabled_at"
    )
    created_at: str
    updated_at: str


class EndpointCreated(EndpointOut):
    secret: str = Field(
        description="What receivers verify with, shown only on creation and rotation: "
        "the HMAC secret, or for ed25519 the public whpk_ key (same as public_key)."
    )


class RotateIn(_In):
    signing: Signing | None = Field(
        default=None,
        description="Default: the endpoint's current signing (ed25519: a new key pair).",
    )
    secret: str | None = Field(default=None, min_length=8, max_length=256)
    grace_period_seconds: int = Field(default=86400, ge=0, le=7 * 86400)


class RecoverIn(_In):
    since: Moment
    until: Moment | None = None


class ProjectRecoverIn(RecoverIn):
    endpoint_id: str | None = Field(default=None, max_length=40)


class JobOut(BaseModel):
    id: str
    kind: str
    status: Literal["queued", "running", "succeeded", "failed"]
    total: int
    done: int
    params: dict[str, Any]
    error: str | None
    created_at: str
    updated_at: str


class RecoverOut(JobOut):
    recovered: int = Field(description="How many failed deliveries the job resends (= total).")


class TestIn(_In):
    event_type: str = Field(default="hookpost.test", pattern=EVENT_TYPE_RE, max_length=255)
    payload: dict[str, Any] | None = None

    @field_validator("payload")
    @classmethod
    def _payload(cls, v: Any) -> Any:
        return check_json_payload(v)


class EventIn(_In):
    event_type: str = Field(pattern=EVENT_TYPE_RE, max_length=255)
    payload: dict[str, Any] = Field(
        description="The event's data, a JSON object; each endpoint's profile wraps it."
    )
    event_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        pattern=EVENT_ID_RE,
        description="Your idempotency key, then the event's id: the same event_id with the "
        "same type and payload is stored once; with a different one it is a 409.",
    )

    @field_validator("payload")
    @classmethod
    def _payload(cls, v: Any) -> Any:
        return check_json_payload(v)


class EventOut(BaseModel):
    id: str
    event_type: str
    payload: dict[str, Any]
    sequence: int
    created_at: str
    timestamp: int


class EventAccepted(EventOut):
    deliveries: int


class EventRepeated(BaseModel):
    """A repeated ``event_id``: the first event (its id, sequence and delivery count).

    A key that may read events (``full``, ``read``, the admin token) gets the
    first event whole; a ``publish`` key gets back only the ``event_type`` and
    ``payload`` it sent, without ``created_at`` and ``timestamp``.
    """

    id: str
    event_type: str
    payload: dict[str, Any]
    sequence: int
    created_at: str | None = Field(default=None, description="Only for keys that read events.")
    timestamp: int | None = Field(default=None, description="Only for keys that read events.")
    deliveries: int


#: The most events one ``POST .../events/batch`` takes.
MAX_BATCH = 500


class EventBatchIn(_In):
    """Up to 500 events, each checked on its own as a single publish checks it."""

    events: list[Any] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description="Each item is an event as a single publish takes it (EventIn): "
        "event_type, payload and optionally event_id. An item that is not valid is "
        "refused alone, in its own result.",
        json_schema_extra={"items": {"$ref": "#/components/schemas/EventIn"}},
    )


class EventBatchItem(BaseModel):
    """What became of one event of a batch, at the same index as the event sent.

    ``status`` is what a single publish of it would have answered: 202 created,
    200 a repeated ``event_id`` (nothing created), 409 an ``event_id`` already
    used by a different event, 422 an invalid event. 200 and 202 carry the
    event's ``id``, ``sequence`` and ``deliveries``; 409 and 422 carry
    ``error``, ``message`` and ``detail`` as an error answer does. No item
    carries a payload: the sender has it.
    """

    index: int
    status: Literal[200, 202, 409, 422]
    id: str | None = None
    event_type: str | None = None
    sequence: int | None = None
    deliveries: int | None = None
    error: str | None = None
    message: str | None = None
    detail: list[dict[str, Any]] | None = None


class EventBatchOut(BaseModel):
    """One result per event sent, at its index (fields a result has not are left out)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "data": [
                        {"index": 0, "status": 202, "id": "msg_2b7QdA1cZy8RtE",
                         "event_type": "invoice.paid", "sequence": 1042, "deliveries": 2},
                        {"index": 1, "status": 200, "id": "inv_1041",
                         "event_type": "invoice.paid", "sequence": 1041, "deliveries": 2},
                        {"index": 2, "status": 422, "error": "validation_error",
                         "message": "event_type: Field required",
                         "detail": [{"field": "event_type", "message": "Field required",
                                     "type": "missing"}]},
                    ],
                    "created": 1,
                    "repeated": 1,
                    "refused": 1,
                }
            ]
        }
    )  # fmt: skip

    data: list[EventBatchItem]
    created: int = Field(description="Items with status 202.")
    repeated: int = Field(description="Items with status 200: nothing created.")
    refused: int = Field(description="Items with status 409 or 422.")


class DeliveryOut(BaseModel):
    id: str
    event_id: str
    endpoint_id: str
    event_type: str
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: str | None
    last_status_code: int | None
    last_error: str | None
    created_at: str
    updated_at: str


class AttemptOut(BaseModel):
    number: int
    started_at: str
    url: str
    status_code: int | None
    duration_ms: float
    error: str | None
    request_headers: dict[str, str]
    request_body: str
    response_headers: dict[str, str] | None
    response_body: str | None


class DeliveryDetail(DeliveryOut):
    attempts: list[AttemptOut]


T = TypeVar("T")


class ListOut(BaseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None


class ErrorOut(BaseModel):
    error: str
    message: str
    detail: list[dict[str, Any]] = []


class CustomProfileIn(_In):
    name: str = Field(pattern=PROFILE_NAME_RE, description="Unique in the project.")
    definition: dict[str, Any] = Field(
        description="header, signed_content, encoding, timestamp_unit, envelope, ..."
    )

    @field_validator("name")
    @classmethod
    def _not_builtin(cls, v: str) -> str:
        if v in PROFILE_NAMES:
            raise ValueError("is the name of a built-in profile")
        return v


class CustomProfileOut(BaseModel):
    name: str
    definition: dict[str, Any]
    created_at: str


class EventTypeIn(_In):
    name: str = Field(pattern=EVENT_TYPE_RE, max_length=255)
    description: str = Field(default="", max_length=1000)
    schema_: dict[str, Any] | None = Field(
        default=None, alias="schema", description="A JSON Schema the payload must satisfy."
    )

    @field_validator("schema_")
    @classmethod
    def _schema(cls, v: Any) -> Any:
        return check_json_payload(v)


class EventTypeOut(BaseModel):
    name: str
    description: str
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    created_at: str

    model_config = ConfigDict(populate_by_name=True)


class SeedIn(_In):
    provider: Literal["galaxyjoy", "gluwa", "justwallet", "byl"]


class ReleasedOut(BaseModel):
    released: int
