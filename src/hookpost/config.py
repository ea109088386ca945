"""Configuration from ``HOOKPOST_*`` environment variables (CLI flags override)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from hookpost.core.netguard import parse_networks

if TYPE_CHECKING:
    from hookpost.store import HealthPolicy


def normalize_database_url(url: str) -> str:
    """Accept the URLs users type and pick the async driver for them."""
    if url.startswith("sqlite:"):
        return "sqlite+aiosqlite:" + url[len("sqlite:") :]
    for plain in ("postgresql:", "postgres:", "postgresql+psycopg:", "postgresql+psycopg2:"):
        if url.startswith(plain):
            return "postgresql+asyncpg:" + url[len(plain) :]
    return url


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///./hookpost.db"
    admin_token: str | None = field(default=None, repr=False)  # never in a log line
    host: str = "127.0.0.1"
    port: int = 8000
    #: Largest request body the API accepts (413 above it).
    max_body_bytes: int = 1_048_576
    #: How many HTTP requests one worker process keeps in flight.
    delivery_concurrency: int = 256
    #: How many due deliveries one claim takes.
    claim_batch: int = 256
    #: A claimed delivery not finished within this many seconds is claimed again.
    lease_seconds: float = 90.0
    #: Requests in flight per endpoint per worker (an endpoint's max_concurrency overrides).
    endpoint_concurrency: int = 32
    #: Consecutive failures that open an endpoint's circuit breaker.
    breaker_threshold: int = 10
    #: Seconds an open circuit holds deliveries before letting one probe through.
    breaker_cooldown_seconds: float = 30.0
    #: An endpoint failing continuously for this long is disabled automatically.
    disable_after_seconds: float = 5 * 86400
    #: Project id that receives operational events (endpoint.disabled, delivery.exhausted, ...).
    operations_project: str | None = None
    #: /readyz fails when the embedded dispatcher has not turned for this long.
    stall_seconds: float = 30.0
    #: Fallback polling interval when nothing wakes the dispatcher.
    poll_interval: float = 1.0
    default_timeout_seconds: float = 15.0
    #: On SIGTERM, in-flight requests get this long to finish before being handed back.
    shutdown_grace_seconds: float = 20.0
    #: Bytes of each response body kept in the attempt log.
    response_excerpt_bytes: int = 4096
    #: ``FULL`` makes each commit survive power loss, not only a process crash.
    sqlite_synchronous: str = "FULL"
    #: Attempts and finished events older than this are purged (0 keeps everything).
    retention_days: float = 30.0
    #: How often each worker process runs the retention purge.
    purge_interval_seconds: float = 3600.0
    data_dir: str = "."
    log_level: str = "info"
    workers: bool = True
    #: CIDRs that destinations may be in although private/loopback/... (``make run``
    #: and the tests allow ``127.0.0.0/8,::1/128``; the service default is none).
    allowed_networks: str = ""
    #: Refuse plain-http endpoint URLs, at registration and at delivery.
    https_only: bool = False
    #: Send every delivery through this HTTP proxy (static egress IPs).
    proxy_url: str | None = field(default=None, repr=False)  # may carry credentials
    #: How long registration waits for DNS when checking a URL's host.
    dns_timeout_seconds: float = 2.0
    #: AES-256 key (base64url) that encrypts endpoint secrets at rest; when unset,
    #: one is generated into ``<data_dir>/.hookpost/secret_key``.
    secret_key: str | None = field(default=None, repr=False)
    #: Former keys (comma-separated), still accepted for decryption after a rotation.
    secret_key_old: str | None = field(default=None, repr=False)
    #: Signs dashboard sessions and customer-portal links; when unset, derived from
    #: the admin token (see hookpost.dashboard.keys).
    dashboard_key: str | None = field(default=None, repr=False)
    #: The "plan limit": endpoints one project may have (0 = unlimited).
    max_endpoints_per_project: int = 100
    #: Requests per second per API key (token bucket, burst of one second; 0 = off).
    api_rate_limit: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        # Fail at start-up, naming the variable, not at the first delivery.
        parse_networks(self.allowed_networks)

    @property
    def async_database_url(self) -> str:
        return normalize_database_url(self.database_url)

    @property
    def health_policy(self) -> HealthPolicy:
        from hookpost.store import HealthPolicy

        return HealthPolicy(
            endpoint_concurrency=self.endpoint_concurrency,
            breaker_threshold=self.breaker_threshold,
            breaker_cooldown_seconds=self.breaker_cooldown_seconds,
            disable_after_seconds=self.disable_after_seconds,
            operations_project=self.operations_project,
        )

    @property
    def is_sqlite(self) -> bool:
        return self.async_database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "extra":
                continue
            raw = env.get("HOOKPOST_" + f.name.upper())
            if raw is None or raw == "":
                continue
            values[f.name] = _coerce(f.type, raw, f.name)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def _coerce(type_: Any, raw: str, name: str) -> Any:
    t = str(type_)
    try:
        if t.startswith("int"):
            return int(raw)
        if t.startswith("float"):
            return float(raw)
        if t.startswith("bool"):
            return raw.strip().lower() in ("1", "true", "yes", "on")
    except ValueError:
        raise ValueError(f"HOOKPOST_{name.upper()}: cannot parse {raw!r} as {t}") from None
    return raw
