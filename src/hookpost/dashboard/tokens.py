"""The signed values the dashboard hands out: operator sessions, CSRF tokens, portal links.

All are HMAC-signed with the dashboard key (:mod:`hookpost.dashboard.keys`),
each purpose under its own salt, so a value minted for one purpose is never
accepted for another. Expiry is checked against the service clock (not the
signing library's), so the tests move time instead of waiting.

The session cookie never holds the admin token: it holds a random session id,
an expiry and a short fingerprint of the admin token, so that changing the
token (with an explicit ``HOOKPOST_DASHBOARD_KEY``, whose sessions would
otherwise outlive it) still signs everybody out. The signature only proves
hookpost issued the cookie; whether the session is still on -- not signed
out, not idle too long -- is the server-side row's to say
(:mod:`hookpost.store.sessions`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any, Literal

from itsdangerous import BadSignature, URLSafeSerializer

PortalScope = Literal["view", "manage"]
_SCOPE_CODES: dict[str, PortalScope] = {"v": "view", "m": "manage"}


class LinkExpired(Exception):
    """A genuine portal link whose time is up."""


class LinkInvalid(Exception):
    """A portal link that hookpost did not sign as it stands (tampered or truncated)."""


@dataclass(frozen=True, slots=True)
class Session:
    sid: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class PortalGrant:
    project_id: str
    scope: PortalScope
    expires_at: float


class Signer:
    def __init__(self, key: bytes) -> None:
        self._key = key
        self._sessions = URLSafeSerializer(key, salt="hookpost.dashboard.session")
        self._links = URLSafeSerializer(key, salt="hookpost.dashboard.portal")

    def _mac(self, purpose: str, value: str) -> str:
        msg = f"{purpose}\0{value}".encode()
        return hmac.new(self._key, msg, hashlib.sha256).hexdigest()

    # -- operator sessions --------------------------------------------------

    def token_mark(self, admin_token: str) -> str:
        """What a session row records of the admin token (an HMAC, never the token)."""
        return self._mac("admin", admin_token)

    def open_session(self, admin_token: str, now: float, ttl: float) -> tuple[str, Session]:
        """A new session and the cookie value that carries it."""
        session = Session(secrets.token_urlsafe(16), float(int(now + ttl)))
        payload = {
            "sid": session.sid,
            "exp": int(session.expires_at),
            "tf": self.token_mark(admin_token)[:16],
        }
        return str(self._sessions.dumps(payload)), session

    def new_session(self, admin_token: str, now: float, ttl: float) -> str:
        return self.open_session(admin_token, now, ttl)[0]

    def read_session(self, value: str, admin_token: str, now: float) -> Session | None:
        """The session in a cookie value, or None if forged, expired or for another token."""
        try:
            data: Any = self._sessions.loads(value)
        except BadSignature:
            return None
        if not isinstance(data, dict):
            return None
        sid, exp, tf = data.get("sid"), data.get("exp"), data.get("tf")
        if not isinstance(sid, str) or not isinstance(exp, int) or not isinstance(tf, str):
            return None
        if exp <= now or not hmac.compare_digest(tf, self.token_mark(admin_token)[:16]):
            return None
        return Session(sid, float(exp))

    # -- CSRF -----------------------------------------------------------------

    def csrf_token(self, binding: str) -> str:
        """The form token for a session id (or a portal link): unguessable without the key."""
        return self._mac("csrf", binding)[:32]

    def csrf_ok(self, binding: str, given: str) -> bool:
        return hmac.compare_digest(self.csrf_token(binding), given)

    # -- customer portal links -------------------------------------------------

    def portal_token(self, project_id: str, scope: PortalScope, expires_at: float) -> str:
        code = "m" if scope == "manage" else "v"
        return str(self._links.dumps({"p": project_id, "s": code, "e": int(expires_at)}))

    def read_portal(self, token: str, now: float) -> PortalGrant:
        """The grant a link carries; LinkInvalid if it was altered, LinkExpired if too old."""
        try:
            data: Any = self._links.loads(token)
        except BadSignature:
            raise LinkInvalid from None
        if not isinstance(data, dict):
            raise LinkInvalid
        project_id, code, exp = data.get("p"), data.get("s"), data.get("e")
        if not isinstance(project_id, str) or code not in _SCOPE_CODES or not isinstance(exp, int):
            raise LinkInvalid
        if exp <= now:
            raise LinkExpired
        return PortalGrant(project_id, _SCOPE_CODES[code], float(exp))
