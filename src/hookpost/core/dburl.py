"""Database URLs as users type them, turned into the ones SQLAlchemy's async drivers take.

``sqlite:///./hookpost.db`` and ``postgresql://...`` (or ``postgres://``, or a
psycopg spelling copied from another tool) are what operators write; the store
needs ``sqlite+aiosqlite:`` and ``postgresql+asyncpg:``. Settings and the store
both read URLs, so the translation lives here, below both of them.
"""

from __future__ import annotations

_POSTGRES_SPELLINGS = ("postgresql:", "postgres:", "postgresql+psycopg:", "postgresql+psycopg2:")


def normalize_database_url(url: str) -> str:
    """Accept the URLs users type and pick the async driver for them."""
    if url.startswith("sqlite:"):
        return "sqlite+aiosqlite:" + url[len("sqlite:") :]
    for plain in _POSTGRES_SPELLINGS:
        if url.startswith(plain):
            return "postgresql+asyncpg:" + url[len(plain) :]
    return url


def is_sqlite_url(url: str) -> bool:
    """Does ``url`` (in any accepted spelling) name a SQLite database?"""
    return normalize_database_url(url).startswith("sqlite")
