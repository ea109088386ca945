"""Operator sessions kept server-side, so that they end when they should.

A signed cookie alone cannot be taken back: signing out only asks the browser
to forget it, and a copy captured earlier would keep working (with the CSRF
token derived from it) until its expiry. So each sign-in is also a row here,
and the cookie is good only while its row is:

- **sign-out** deletes the row;
- the row records a mark (HMAC) of the **admin token** it was signed in with,
  and a process running with another token refuses it -- changing the token
  (``HOOKPOST_ADMIN_TOKEN`` or ``.hookpost/admin_token``, then a restart)
  ends every session, even with an explicit ``HOOKPOST_DASHBOARD_KEY``; the
  next sign-in also deletes the rows of other tokens;
- ``HOOKPOST_SESSION_IDLE_SECONDS`` after the last page opened, and
  ``HOOKPOST_SESSION_MAX_SECONDS`` after sign-in, the row no longer counts;
- a row names the **operator** signed in (none for the admin token): "sign
  out everywhere", disabling the operator or resetting its password deletes
  all of its rows (``Store.end_sessions_of``).

The row is keyed by the SHA-256 of the session id, never the id itself: a
copy of the database signs nobody in. Seeing a page moves ``last_seen_at``
at most every :attr:`SessionPolicy.touch_every` seconds, so browsing costs a
write a minute, not a write a page; the live-update poller
(``?fragment=live``) reads the row but does not count as activity.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, or_, select, update

from hookpost.store._audit import audit
from hookpost.store.models import dashboard_sessions as table

if TYPE_CHECKING:
    from hookpost.store._facade import Store


@dataclass(frozen=True, slots=True)
class LiveSession:
    """A session that still counts, and whose it is (None: the admin token's)."""

    operator_id: str | None


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    idle_seconds: float
    max_seconds: float

    @property
    def touch_every(self) -> float:
        """How stale ``last_seen_at`` may get: idle expiry is exact to within this."""
        return min(60.0, self.idle_seconds / 10)


def _key(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def _live(row: Any, token_mark: str, policy: SessionPolicy, now: float) -> bool:
    return (
        hmac.compare_digest(str(row.token_mark), token_mark)
        and now < float(row.expires_at)
        and now < float(row.created_at) + policy.max_seconds
        and now < float(row.last_seen_at) + policy.idle_seconds
    )


async def open_session(
    store: Store,
    sid: str,
    token_mark: str,
    policy: SessionPolicy,
    operator_id: str | None = None,
) -> float:
    """Record a sign-in (of ``operator_id``, or the admin token); returns when it ends at the
    latest. Sweeps rows that no longer count."""
    now = store.clock.now()
    expires_at = now + policy.max_seconds
    async with store.writer.begin() as conn:
        await conn.execute(
            delete(table).where(
                or_(
                    table.c.expires_at <= now,
                    table.c.last_seen_at <= now - policy.idle_seconds,
                    table.c.token_mark != token_mark,
                )
            )
        )
        await conn.execute(
            insert(table).values(
                id=_key(sid),
                token_mark=token_mark,
                created_at=now,
                last_seen_at=now,
                expires_at=expires_at,
                operator_id=operator_id,
            )
        )
        await audit(conn, now, "session.sign_in", "session", session_name(sid))
    return expires_at


def session_name(sid: str) -> str:
    """How the audit log names a session: 16 hex of the stored key (never the id itself)."""
    return _key(sid)[:16]


async def check_session(
    store: Store, sid: str, token_mark: str, policy: SessionPolicy, *, touch: bool = True
) -> LiveSession | None:
    """The session if it still counts, else None; ``touch`` records this as activity."""
    now = store.clock.now()
    key = _key(sid)
    async with store.reader.connect() as conn:
        row = (await conn.execute(select(table).where(table.c.id == key))).first()
    if row is None:
        return None
    if not _live(row, token_mark, policy, now):
        await end_session(store, sid)
        return None
    if touch and now - float(row.last_seen_at) >= policy.touch_every:
        async with store.writer.begin() as conn:
            await conn.execute(update(table).where(table.c.id == key).values(last_seen_at=now))
    return LiveSession(row.operator_id)


async def end_session(store: Store, sid: str, *, sign_out: bool = False) -> None:
    """The cookie, and any copy of it, stops working; ``sign_out``: the person asked
    (an audit entry), not an expiry."""
    async with store.writer.begin() as conn:
        await conn.execute(delete(table).where(table.c.id == _key(sid)))
        if sign_out:
            await audit(conn, store.clock.now(), "session.sign_out", "session", session_name(sid))


async def end_all_sessions(store: Store) -> int:
    """Sign everybody out (``hookpost sessions end``); returns how many sessions ended."""
    async with store.writer.begin() as conn:
        result = await conn.execute(delete(table))
    return int(result.rowcount or 0)
