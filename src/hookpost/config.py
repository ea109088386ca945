"""One configuration model: defaults < a TOML file < ``HOOKPOST_*`` environment < CLI flags.

The TOML file is ``$HOOKPOST_CONFIG`` or ``./hookpost.toml`` when present; its
keys are the field names below (``port = 8080``). An unknown key is an error
that names the nearest valid one, so a typo never silently does nothing.
Constructing :class:`Settings` directly (tests, embedding) reads nothing but
its arguments; :meth:`Settings.load` reads the file and the environment.
"""

from __future__ import annotations

import contextvars
import difflib
import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from hookpost.core.dburl import is_sqlite_url, normalize_database_url
from hookpost.core.forwarded import parse_forwarded_allow
from hookpost.core.netguard import parse_networks
from hookpost.domain import HealthPolicy


class ConfigError(ValueError):
    """The configuration cannot be used; the message says where and why."""


#: Which sources a Settings() call reads: only its arguments, unless load() is running.
_LOADING: contextvars.ContextVar[Path | bool | None] = contextvars.ContextVar(
    "hookpost_config_loading", default=False
)

#: The longest a dashboard session may be set to last (a year).
MAX_SESSION_SECONDS = 366 * 86400

SECRET_FIELDS = (
    "admin_token",
    "proxy_url",
    "secret_key",
    "secret_key_old",
    "dashboard_key",
    "metrics_token",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HOOKPOST_", frozen=True, extra="forbid", env_ignore_empty=True
    )

    database_url: str = "sqlite:///./hookpost.db"
    admin_token: str | None = Field(default=None, repr=False)  # never in a log line
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
    #: Requests in flight to an endpoint before it has proven itself: each
    #: success widens the window by one up to the cap, each failure halves it.
    endpoint_initial_concurrency: int = 2
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
    #: Claims after a wake-up are at least this far apart (and an attempt-log
    #: write waits this long), so one covers everything that arrives together.
    coalesce_seconds: float = 0.005
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
    #: Audit log entries older than this are purged (0 keeps them all): longer than
    #: the data they describe, for the auditor who asks a year later.
    audit_retention_days: float = 365.0
    #: How often each worker process runs the retention purge.
    purge_interval_seconds: float = 3600.0
    data_dir: str = "."
    log_level: str = "info"
    #: ``json`` or ``text`` log lines; ``auto``: JSON unless stderr is a terminal.
    log_format: Literal["auto", "json", "text"] = "auto"
    workers: bool = True
    #: CIDRs that destinations may be in although private/loopback/... (``make run``
    #: and the tests allow ``127.0.0.0/8,::1/128``; the service default is none).
    allowed_networks: str = ""
    #: Refuse plain-http endpoint URLs, at registration and at delivery.
    https_only: bool = False
    #: Send every delivery through this HTTP proxy (static egress IPs).
    proxy_url: str | None = Field(default=None, repr=False)  # may carry credentials
    #: How long registration waits for DNS when checking a URL's host.
    dns_timeout_seconds: float = 2.0
    #: AES-256 key (base64url) that encrypts endpoint secrets at rest; when unset,
    #: one is generated into ``<data_dir>/.hookpost/secret_key``.
    secret_key: str | None = Field(default=None, repr=False)
    #: Former keys (comma-separated), still accepted for decryption after a rotation.
    secret_key_old: str | None = Field(default=None, repr=False)
    #: Signs dashboard sessions and customer-portal links; when unset, derived from
    #: the admin token (see hookpost.dashboard.keys).
    dashboard_key: str | None = Field(default=None, repr=False)
    #: The "plan limit": endpoints one project may have (0 = unlimited).
    max_endpoints_per_project: int = 100
    #: Requests per second per API key (token bucket, burst of one second; 0 = off).
    api_rate_limit: float = 0.0
    #: A dashboard session ends after this many seconds without a page opened...
    session_idle_seconds: float = Field(default=2 * 3600, gt=0, le=MAX_SESSION_SECONDS)
    #: ...and this many seconds after sign-in, however busy.
    session_max_seconds: float = Field(default=12 * 3600, gt=0, le=MAX_SESSION_SECONDS)
    #: Peers (IPs or CIDRs, comma-separated; ``*`` = any) whose ``X-Forwarded-For``
    #: and ``X-Forwarded-Proto`` are believed: the reverse proxy. Default none.
    forwarded_allow_ips: str = ""
    #: The address people reach hookpost at (``https://hooks.example.com``, a path
    #: prefix allowed): the base of every link hookpost hands out -- portal links,
    #: the start-up lines. Unset: links use the address each request came to.
    public_url: str | None = None
    #: The email of the first owner, created (with a one-time set-password link
    #: printed at start-up) when ``hookpost serve`` finds no operator.
    owner_email: str = "owner@localhost"
    #: When set, ``/metrics`` answers only ``Authorization: Bearer <this>`` (401
    #: otherwise); unset, it answers anyone who reaches the port, like /readyz.
    metrics_token: str | None = Field(default=None, repr=False)

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL with a host")
        if parts.query or parts.fragment:
            raise ValueError(f"{value!r}: a base URL has no query or fragment")
        return value.strip().rstrip("/")

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _forwarded(cls, value: str) -> str:
        parse_forwarded_allow(value)
        return value

    @model_validator(mode="after")
    def _check(self) -> Settings:
        parse_networks(self.allowed_networks)
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        loading = _LOADING.get()
        if loading is False:
            return (init_settings,)
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if isinstance(loading, Path):
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=loading))
        return tuple(sources)

    @classmethod
    def load(cls, config_file: str | None = None, **overrides: Any) -> Settings:
        """Defaults < TOML file < environment < ``overrides`` (CLI flags; None = unset)."""
        path_text = config_file or os.environ.get("HOOKPOST_CONFIG")
        path: Path | None = Path(path_text) if path_text else Path("hookpost.toml")
        assert path is not None
        if not path.exists():
            if path_text:
                raise ConfigError(f"config file {path} does not exist")
            path = None
        token = _LOADING.set(path)
        try:
            return cls(**{k: v for k, v in overrides.items() if v is not None})
        except ValidationError as exc:
            raise ConfigError(_explain(exc, path)) from None
        finally:
            _LOADING.reset(token)

    # kept for callers of the first API
    from_env = load

    @property
    def async_database_url(self) -> str:
        return normalize_database_url(self.database_url)

    @property
    def health_policy(self) -> HealthPolicy:
        return HealthPolicy(
            endpoint_concurrency=self.endpoint_concurrency,
            breaker_threshold=self.breaker_threshold,
            breaker_cooldown_seconds=self.breaker_cooldown_seconds,
            disable_after_seconds=self.disable_after_seconds,
            operations_project=self.operations_project,
        )

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite_url(self.database_url)

    def with_(self, **changes: Any) -> Settings:
        return self.model_copy(update=changes)

    def masked(self) -> dict[str, Any]:
        """The effective configuration with secrets replaced by ``***``."""
        out = self.model_dump()
        for name in SECRET_FIELDS:
            if out.get(name):
                out[name] = "***"
        url = str(out["database_url"])
        if "@" in url and "://" in url:
            scheme, rest = url.split("://", 1)
            creds, host = rest.rsplit("@", 1)
            if ":" in creds:
                out["database_url"] = f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
        return out


def _explain(exc: ValidationError, path: Path | None) -> str:
    known = list(Settings.model_fields)
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err.get("loc", ()))
        if err.get("type") == "extra_forbidden":
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            lines.append(f"{path or 'config'}: unknown setting {key!r}{hint}")
        else:
            lines.append(f"{key} (HOOKPOST_{key.upper()}): {err.get('msg')}")
    return "; ".join(lines)
