"""Table definitions (SQLAlchemy Core). The Alembic migrations create the same.

Times are stored as epoch seconds (double precision): the same type and the
same comparisons on SQLite and PostgreSQL, and cheap to index.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from hookpost.domain import DeliveryStatus

metadata = MetaData()

#: Deliveries not final yet, as SQL (the partial indexes' condition; SQL text needs the values).
OPEN_STATUSES = f"status IN ('{DeliveryStatus.PENDING.value}', '{DeliveryStatus.DELIVERING.value}')"
#: Held deliveries (endpoint disabled), as SQL: ``ix_deliveries_endpoint_held``'s condition.
HELD_STATUS = f"status = '{DeliveryStatus.HELD.value}'"

# SQLite only makes INTEGER PRIMARY KEY an auto-incrementing rowid alias.
BigInt = BigInteger().with_variant(Integer(), "sqlite")
Epoch = Float(precision=53)

projects = Table(
    "projects",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", Epoch, nullable=False),
    # Viewers (issue 18) see payload bodies only when the project allows it.
    Column("viewers_see_payloads", Boolean, nullable=False, server_default=text("false")),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("project_id", String(40), ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),  # SHA-256; never the key
    Column("created_at", Epoch, nullable=False),
    Column("revoked_at", Epoch),
    Column("name", String(200), nullable=False, server_default=""),
    # full | read | publish (what the key may do; see hookpost.web.scopes)
    Column("scope", String(16), nullable=False, server_default="full"),
    Index("ix_api_keys_project", "project_id", "id"),
)

endpoints = Table(
    "endpoints",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("project_id", String(40), ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("url", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("event_types", JSON, nullable=False),  # [] = every event type
    Column("profile", String(40), nullable=False),
    Column("secret", Text, nullable=False),
    # Secrets retired by rotation that still sign until ``expires_at``: [{secret, expires_at}]
    Column("old_secrets", JSON, nullable=False),
    Column("filter", JSON),
    Column("headers", JSON, nullable=False),
    Column("max_attempts", Integer),
    Column("timeout_seconds", Float),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", Epoch, nullable=False),
    Column("updated_at", Epoch, nullable=False),
    # Per-endpoint delivery policy (NULL: the profile's or the service default).
    Column("retry_schedule", JSON),  # seconds to wait after each failed attempt
    Column("success_rule", String(8)),  # "2xx" | "200"
    Column("rate_limit", Float),  # requests per second, across all workers
    Column("max_concurrency", Integer),  # requests in flight per worker
    Column("ordering", String(8), nullable=False, server_default="none"),  # none | fifo
    # How the receiver re-serializes the body (core/serializers), for the profiles
    # that sign it that way (justwallet); NULL: javascript.
    Column("serializer", String(16)),
    # Health: the circuit breaker and automatic disabling.
    Column("consecutive_failures", Integer, nullable=False, server_default="0"),
    Column("failing_since", Epoch),
    Column("circuit_open_until", Epoch),
    Column("disabled_reason", Text),
    Column("disabled_at", Epoch),
    Index("ix_endpoints_project", "project_id", "id"),
)

events = Table(
    "events",
    metadata,
    # Monotonic sequence: the internal key and the catch-up cursor.
    Column("seq", BigInt, primary_key=True, autoincrement=True),
    Column("project_id", String(40), ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("id", String(255), nullable=False),
    Column("event_type", String(255), nullable=False),
    Column("payload", Text, nullable=False),  # JSON text as received (re-serialized compactly)
    Column("trace_context", String(64)),  # W3C traceparent of the publish span
    Column("created_at", Epoch, nullable=False),
    UniqueConstraint("project_id", "id", name="uq_events_project_id"),
    Index("ix_events_project_seq", "project_id", "seq"),
    Index("ix_events_created", "created_at"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("project_id", String(40), nullable=False),
    Column("event_seq", BigInt, ForeignKey("events.seq", ondelete="CASCADE"), nullable=False),
    Column("event_id", String(255), nullable=False),
    Column("event_type", String(255), nullable=False),
    Column(
        "endpoint_id", String(40), ForeignKey("endpoints.id", ondelete="CASCADE"), nullable=False
    ),
    # pending | delivering | succeeded | failed | held (endpoint disabled)
    Column("status", String(16), nullable=False),
    Column("attempt_count", Integer, nullable=False, server_default="0"),
    # Set by resend/recover: the delivery may make attempts up to this number
    # (one more than it had), overriding the endpoint's max_attempts.
    Column("attempt_limit", Integer),
    # For pending: when the next attempt is due. For delivering: when the lease
    # expires and another worker may take it over. NULL once final.
    Column("next_attempt_at", Epoch),
    # Fencing token of the current lease: a worker only records its result if
    # the lease is still its own.
    Column("lease", String(32)),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Column("created_at", Epoch, nullable=False),
    Column("updated_at", Epoch, nullable=False),
    Index(
        "ix_deliveries_due",
        "next_attempt_at",
        sqlite_where=text(OPEN_STATUSES),
        postgresql_where=text(OPEN_STATUSES),
    ),
    Index("ix_deliveries_project_id", "project_id", "id"),
    Index("ix_deliveries_project_status", "project_id", "status", "id"),
    Index("ix_deliveries_endpoint", "endpoint_id", "id"),
    # An endpoint's held deliveries, to release them. Only the held rows: each
    # index a delivery is in costs its insert ~1 us on SQLite (issue 15), and one
    # holding the status is rewritten by every claim and record; held rows are
    # made only for a disabled endpoint.
    Index(
        "ix_deliveries_endpoint_held",
        "endpoint_id",
        sqlite_where=text(HELD_STATUS),
        postgresql_where=text(HELD_STATUS),
    ),
    Index("ix_deliveries_event", "event_seq"),
    # The head of an endpoint's queue, for ordered (fifo) delivery.
    Index(
        "ix_deliveries_endpoint_open",
        "endpoint_id",
        "event_seq",
        sqlite_where=text(OPEN_STATUSES),
        postgresql_where=text(OPEN_STATUSES),
    ),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", BigInt, primary_key=True, autoincrement=True),
    Column(
        "delivery_id", String(40), ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False
    ),
    Column("number", Integer, nullable=False),
    Column("started_at", Epoch, nullable=False),
    Column("url", Text, nullable=False),
    Column("request_headers", JSON, nullable=False),
    Column("request_body", Text, nullable=False),
    Column("status_code", Integer),
    Column("response_headers", JSON),
    Column("response_body", Text),
    Column("duration_ms", Float, nullable=False),
    Column("error", Text),
    Index("ix_attempts_delivery", "delivery_id", "number"),
    Index("ix_attempts_started", "started_at"),
)


profiles = Table(
    "profiles",
    metadata,
    # An operator-defined wire format (hookpost.profiles.custom), per project.
    Column("id", String(40), primary_key=True),
    Column("project_id", String(40), ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("definition", JSON, nullable=False),
    Column("created_at", Epoch, nullable=False),
    UniqueConstraint("project_id", "name", name="uq_profiles_project_name"),
)

event_types = Table(
    "event_types",
    metadata,
    # The project's catalog; a schema, when present, is enforced on publish.
    Column(
        "project_id", String(40), ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("name", String(255), primary_key=True),
    Column("description", Text, nullable=False, server_default=""),
    Column("schema", JSON),
    Column("created_at", Epoch, nullable=False),
)

rate_buckets = Table(
    "rate_buckets",
    metadata,
    # Token bucket per rate-limited endpoint, shared by every worker.
    Column(
        "endpoint_id", String(40), ForeignKey("endpoints.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("tokens", Float, nullable=False),
    Column("updated_at", Epoch, nullable=False),
)

jobs = Table(
    "jobs",
    metadata,
    # Background bulk actions (recover = resend failed deliveries in a window),
    # run by any worker in batches; progress is visible through the API.
    Column("id", String(40), primary_key=True),
    Column("project_id", String(40), ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("params", JSON, nullable=False),
    Column("status", String(16), nullable=False),  # queued | running | succeeded | failed
    Column("total", Integer, nullable=False),
    Column("done", Integer, nullable=False, server_default="0"),
    Column("cursor", String(40)),  # last delivery id processed
    Column("lease_until", Epoch),
    Column("error", Text),
    Column("created_at", Epoch, nullable=False),
    Column("updated_at", Epoch, nullable=False),
    Index("ix_jobs_project", "project_id", "id"),
    Index("ix_jobs_status", "status", "created_at"),
)

dashboard_sessions = Table(
    "dashboard_sessions",
    metadata,
    # Operator sign-ins (hookpost.store.sessions). Keyed by the SHA-256 of the
    # session id the cookie carries, so a copy of the table signs nobody in.
    Column("id", String(64), primary_key=True),
    # HMAC of the admin token it was signed in with: a new token ends it.
    Column("token_mark", String(64), nullable=False),
    Column("created_at", Epoch, nullable=False),
    Column("last_seen_at", Epoch, nullable=False),
    Column("expires_at", Epoch, nullable=False),  # created_at + the absolute lifetime
    # The operator signed in (None: the admin token). "Sign out everywhere",
    # disabling or resetting the operator deletes its rows.
    Column("operator_id", String(40)),
    Index("ix_dashboard_sessions_expires", "expires_at"),
    Index("ix_dashboard_sessions_operator", "operator_id"),
)

operators = Table(
    "operators",
    metadata,
    # People who sign in to the dashboard (hookpost.store._operators).
    Column("id", String(40), primary_key=True),
    Column("email", String(320), nullable=False, unique=True),  # lower-cased
    Column("password_hash", String(200)),  # Argon2id; None until the set-password link is used
    Column("role", String(16), nullable=False),  # owner | admin | operator | viewer
    Column("projects", JSON),  # project ids it is limited to; None: every project
    # SHA-256 of the one-time set-password token and when it stops working.
    Column("setup_hash", String(64), unique=True),
    Column("setup_expires_at", Epoch),
    Column("created_at", Epoch, nullable=False),
    Column("updated_at", Epoch, nullable=False),
    Column("disabled_at", Epoch),
)

operator_tokens = Table(
    "operator_tokens",
    metadata,
    # Personal API tokens (hpu_...): act with their owner's role. SHA-256 only.
    Column("id", String(40), primary_key=True),
    Column(
        "operator_id",
        String(40),
        ForeignKey("operators.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(200), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", Epoch, nullable=False),
    Column("expires_at", Epoch),
    Column("last_used_at", Epoch),
    Column("revoked_at", Epoch),
    Index("ix_operator_tokens_operator", "operator_id", "id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    # Who changed what (hookpost.domain's AUDIT_ACTIONS), written in the same
    # transaction as the change; never updated, deleted only by retention.
    # Time-ordered ids: the cursor, and the order entries are read in.
    Column("id", String(40), primary_key=True),
    Column("at", Epoch, nullable=False),
    # admin | operator | token | api_key | portal | shell | system
    Column("actor_kind", String(16), nullable=False),
    Column("actor_id", String(64), nullable=False, server_default=""),
    Column("actor_label", String(320), nullable=False, server_default=""),  # never a secret
    Column("address", String(64)),  # the client's IP address, for changes made over HTTP
    Column("action", String(64), nullable=False),
    Column("object_type", String(32), nullable=False),
    Column("object_id", String(255), nullable=False),
    # No foreign key: an entry outlives the project it names.
    Column("project_id", String(40)),
    Column("before", JSON),  # the changed fields, secrets masked; NULL for a create
    Column("after", JSON),  # the changed fields, secrets masked; NULL for a delete
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_project", "project_id", "id"),
    Index("ix_audit_log_object", "object_type", "object_id", "id"),
    Index("ix_audit_log_actor", "actor_kind", "actor_id", "id"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    # Idempotency-Key headers of POST requests (hookpost.web.idempotency). Keyed
    # by SHA-256 of (the caller's credential, the key): one caller can never see
    # or block another's, and a copy of the table reveals neither.
    Column("id", String(64), primary_key=True),
    Column("route", String(512), nullable=False),  # the request's path
    Column("body_hash", String(64), nullable=False),  # SHA-256 of the request body
    Column("status", Integer),  # NULL while the first request runs
    Column("response", JSON),  # {"headers": {...}, "body": text} of a 2xx answer
    Column("created_at", Epoch, nullable=False),
    Column("expires_at", Epoch, nullable=False),
    Index("ix_idempotency_keys_expires", "expires_at"),
)
