"""Configuration from ``HOOKPOST_*`` environment variables (CLI flags override)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from typing import Any


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
    admin_token: str | None = None
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
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def async_database_url(self) -> str:
        return normalize_database_url(self.database_url)

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
