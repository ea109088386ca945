"""The shapes of the API's answers and of the endpoint fields, as TypedDicts.

An answer is the server's JSON object as it came, a plain ``dict``: ``ep["id"]``
keeps working and nothing is copied or converted, while type checkers and
editors know each key and its type. Times are ISO 8601 strings in UTC
(``2026-01-15T10:30:00Z``), as the server writes them. ``tests/unit`` checks that
every model here names exactly the properties of its OpenAPI schema, so a
field added to the API fails the build until it is added here.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, NotRequired, TypedDict, TypeVar

__all__ = [
    "ApiKey",
    "ApiKeyCreated",
    "Attempt",
    "AuditActor",
    "AuditEntry",
    "AuditObject",
    "BatchItem",
    "BatchResult",
    "CustomProfile",
    "Delivery",
    "DeliveryDetail",
    "DeliveryStatus",
    "Endpoint",
    "EndpointChanges",
    "EndpointCreated",
    "EndpointFields",
    "Event",
    "EventAccepted",
    "EventType",
    "Health",
    "Job",
    "Page",
    "PortalLink",
    "Project",
    "ProjectCreated",
    "Readiness",
    "Recovery",
    "Released",
    "Token",
    "TokenCreated",
]

T = TypeVar("T")

#: Where a delivery stands.
DeliveryStatus = Literal["pending", "delivering", "succeeded", "failed", "held"]


class Page(TypedDict, Generic[T]):
    """One page of a list: ``next_cursor`` is None on the last one."""

    data: list[T]
    next_cursor: str | None


class Project(TypedDict):
    id: str
    name: str
    created_at: str
    viewers_see_payloads: bool  # operators with the viewer role see payload bodies


class Token(TypedDict):
    """An operator's personal API token (``hpu_...``), as listed: never the token."""

    id: str
    name: str
    prefix: str
    created_at: str
    expires_at: str | None
    last_used_at: str | None  # updated at most once a minute
    revoked_at: str | None


class TokenCreated(Token):
    token: str  # shown only once; acts with its operator's role


class ProjectCreated(Project):
    api_key: str  # the project's first full key, shown only once


class ApiKey(TypedDict):
    id: str
    name: str
    scope: str  # full | read | publish
    prefix: str
    created_at: str
    revoked_at: str | None


class ApiKeyCreated(ApiKey):
    key: str  # shown only once


class Endpoint(TypedDict):
    id: str
    project_id: str
    url: str
    description: str
    event_types: list[str]
    profile: str
    signing: str | None  # hmac | ed25519
    public_key: str | None
    headers: dict[str, str]
    secret_headers: list[str]
    max_attempts: int | None
    timeout_seconds: float | None
    enabled: bool
    ordering: str  # none | fifo
    retry_schedule: list[float] | None
    success_rule: str | None
    rate_limit: float | None
    max_concurrency: int | None
    filter: dict[str, Any] | None
    serializer: str | None  # javascript | php | ruby on re-serializing profiles, else None
    health: dict[str, Any]
    created_at: str
    updated_at: str


class EndpointCreated(Endpoint):
    secret: str  # what receivers verify with; shown on creation and rotation only


class _EndpointSettings(TypedDict, total=False):
    """The fields endpoint creation and update share.

    ``event_types`` (subscriptions such as
    ``user.*``; empty: all), ``headers`` (sent with each delivery),
    ``secret_headers`` (names of those stored encrypted), ``max_attempts``
    (1-50, the first included), ``timeout_seconds`` (1-60), ``ordering``
    (``none`` or ``fifo``: one at a time, in sequence order),
    ``retry_schedule`` (seconds after each failure, the last repeats; at most
    30 steps, each up to 3 days), ``success_rule`` (``2xx`` or ``200``),
    ``rate_limit`` (requests per second across all workers, up to 10000),
    ``max_concurrency`` (requests in flight per worker, 1-1024), ``filter`` (a
    payload filter: ``$eq $neq $in $nin $gt $gte $lt $lte $exists $and $or``),
    ``serializer`` (re-serializing profiles such as ``justwallet`` only: the
    receiver's language, ``javascript`` default, ``php`` or ``ruby``; hookpost
    sends and signs the bytes it writes).
    """

    event_types: list[str]
    description: str
    headers: dict[str, str]
    secret_headers: list[str]
    max_attempts: int | None
    timeout_seconds: float | None
    enabled: bool
    ordering: Literal["none", "fifo"]
    retry_schedule: list[float] | None
    success_rule: Literal["2xx", "200"] | None
    rate_limit: float | None
    max_concurrency: int | None
    filter: dict[str, Any] | None
    serializer: Literal["javascript", "php", "ruby"] | None


class EndpointChanges(_EndpointSettings, total=False):
    """What :meth:`update_endpoint` may change (a key left out stays as it is):
    the URL (http(s) or a broker URL) and the settings of :class:`EndpointFields`."""

    url: str


class EndpointFields(_EndpointSettings, total=False):
    """What :meth:`create_endpoint` takes besides the URL: the shared settings,
    plus ``profile`` (a built-in or custom profile's name; default
    ``standard``), ``signing`` (``hmac`` or ``ed25519``) and ``secret``
    (absent: the server generates one)."""

    profile: str
    signing: Literal["hmac", "ed25519"]
    secret: str


class Job(TypedDict):
    id: str
    kind: str
    status: Literal["queued", "running", "succeeded", "failed"]
    total: int
    done: int
    params: dict[str, Any]
    error: str | None
    created_at: str
    updated_at: str


class Recovery(Job):
    recovered: int  # failed deliveries the job resends (= total)


class Event(TypedDict):
    id: str
    event_type: str
    payload: dict[str, Any] | None  # None for a viewer the project hides payloads from
    sequence: int
    created_at: str
    timestamp: int  # Unix seconds


class EventAccepted(TypedDict):
    """A published event. A repeated ``event_id`` answers the first event, and
    to a publish-only key without ``created_at`` and ``timestamp``."""

    id: str
    event_type: str
    payload: dict[str, Any]
    sequence: int
    created_at: NotRequired[str]
    timestamp: NotRequired[int]
    deliveries: int  # deliveries created (a repeated event_id: the first event's)


class BatchItem(TypedDict, total=False):
    """One event of a batch, in the order sent; ``status`` is what a single
    publish would have answered (202 created, 200 repeated event_id, 409
    event_id used by another event, 422 invalid: ``error``/``message``/``detail``)."""

    index: int
    status: Literal[200, 202, 409, 422]
    id: str | None
    event_type: str | None
    sequence: int | None
    deliveries: int | None
    error: str | None
    message: str | None
    detail: list[dict[str, Any]] | None


class BatchResult(TypedDict):
    data: list[BatchItem]
    created: int
    repeated: int
    refused: int


class Delivery(TypedDict):
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


class Attempt(TypedDict):
    number: int
    started_at: str
    url: str
    status_code: int | None
    duration_ms: float
    error: str | None
    request_headers: dict[str, str]
    request_body: str | None  # None for a viewer the project hides payloads from
    response_headers: dict[str, str] | None
    response_body: str | None


class DeliveryDetail(Delivery):
    attempts: list[Attempt]


class CustomProfile(TypedDict):
    name: str
    definition: dict[str, Any]
    created_at: str


class EventType(TypedDict):
    name: str
    description: str
    schema: dict[str, Any] | None
    created_at: str


class Released(TypedDict):
    released: int  # held deliveries queued again


class PortalLink(TypedDict):
    url: str
    expires_at: str
    scope: Literal["view", "manage"]


class AuditActor(TypedDict):
    kind: Literal["admin", "operator", "token", "api_key", "portal", "shell", "system", "anonymous"]
    id: str  # the operator's or key's id; empty for the admin token
    label: str  # an email, a token or key prefix, "admin token": never a secret
    address: str | None  # the client's IP address, for changes over HTTP


class AuditObject(TypedDict):
    type: str  # project, endpoint, api_key, delivery, event_type, ...
    id: str


class AuditEntry(TypedDict):
    """Who changed what: ``before``/``after`` hold the changed fields (secrets
    redacted; ``before`` None for a create, ``after`` None for a delete)."""

    id: str
    at: str
    actor: AuditActor
    action: str
    object: AuditObject
    project_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class Health(TypedDict):
    status: str  # "ok"


class Readiness(TypedDict):
    status: Literal["ready", "not ready"]
    checks: dict[str, str]  # database, schema, workers: "ok" or what fails
