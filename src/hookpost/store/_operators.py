"""Operators (people who sign in) and their personal API tokens.

An operator is an email, a role (``hookpost.domain.roles``), an optional list
of projects it is limited to, and an Argon2id password hash -- computed by
the caller (:mod:`hookpost.core.passwords`, in a thread), so a store method
never holds a transaction open for the 50 ms a hash takes, and never sees a
password. A new operator, or one whose password was reset, has no password
until its one-time set-password link is used: the link's token is stored as
its SHA-256 with an expiry, and cleared by its first use.

Personal tokens (``hpu_...``) act with their owner's role. Like project API
keys they are high-entropy, so their SHA-256 is enough; the token is returned
once, its first 12 characters are kept as a visible prefix. A token works
while it is not revoked, not expired, and its owner is not disabled: the
look-up joins the owner on every (cache-missed) use, so disabling an
operator stops its tokens at once in this process and within the cache's
second elsewhere. ``last_used_at`` moves at most once a minute per token.

The rules that keep a team from locking itself out live here, inside the
transaction that would break them: the last enabled owner can be neither
disabled nor demoted (:class:`Conflict`).

Every mutating method writes its audit entry in the same transaction
(:func:`hookpost.store._audit.audit`, as the task's current actor): the
entry commits with the change or not at all. No entry holds a password, a
hash or a token -- only that one was set, reset or issued.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import typing
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hookpost.core.ids import new_id, new_token
from hookpost.domain import Conflict, Invalid, NotFound, roles
from hookpost.store._audit import audit
from hookpost.store._core import Core
from hookpost.store.models import dashboard_sessions, operator_tokens, operators

__all__ = [
    "SETUP_LINK_SECONDS",
    "TOKEN_PREFIX",
    "OperatorsMixin",
    "normalize_email",
]

#: How long a set-password link works: a week.
SETUP_LINK_SECONDS = 7 * 86400
#: Personal tokens start with this.
TOKEN_PREFIX = "hpu_"
#: ``last_used_at`` is written at most this often per token (seconds).
LAST_USED_EVERY = 60.0

_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}")


def normalize_email(email: str) -> str:
    """The stored form of an email (trimmed, lower-cased); Invalid("email") if it is none."""
    value = email.strip().lower()
    if not _EMAIL.fullmatch(value) or len(value) > 320:
        raise Invalid("email", "must be an email address like ops@example.com")
    return value


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _public(row: Any) -> dict[str, Any]:
    """An operator row as callers see it: never the password hash nor the setup hash."""
    data = dict(row._mapping)
    data["has_password"] = data.pop("password_hash", None) is not None
    data.pop("setup_hash", None)
    return data


def _check_role(role: str) -> None:
    if role not in roles.ROLES:
        raise Invalid("role", f"must be one of {', '.join(roles.ROLES)}")


class OperatorsMixin(Core):
    """Operators: invite, list, change, disable, reset; personal tokens: issue, look up, revoke."""

    async def _audit(
        self,
        conn: AsyncConnection,
        action: str,
        object_id: str,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        """This change's audit entry, in ``conn``'s transaction (the object type is the
        action's first word: ``operator`` or ``token``). Never a secret in either side."""
        object_type = action.split(".", 1)[0]
        await audit(
            conn, self.clock.now(), action, object_type, object_id, before=before, after=after
        )

    async def _setup_token(self, conn: AsyncConnection, operator_id: str) -> str:
        token = new_token("hps", 32)
        await conn.execute(
            update(operators)
            .where(operators.c.id == operator_id)
            .values(
                setup_hash=_digest(token),
                setup_expires_at=self.clock.now() + SETUP_LINK_SECONDS,
                updated_at=self.clock.now(),
            )
        )
        return token

    async def create_operator(
        self, email: str, role: str, projects: list[str] | None = None
    ) -> tuple[dict[str, Any], str]:
        """A new operator with no password, and its one-time set-password token.

        Invalid("email"/"role"/"projects"), Conflict if the email is taken.
        """
        email = normalize_email(email)
        _check_role(role)
        now = self.clock.now()
        operator_id = new_id("op")
        limited = sorted(set(projects)) if projects else None
        async with self.writer.begin() as conn:
            taken = await conn.execute(select(operators.c.id).where(operators.c.email == email))
            if taken.first() is not None:
                raise Conflict(f"an operator with email {email} already exists", field="email")
            await self._require_projects(conn, limited)
            await conn.execute(
                insert(operators).values(
                    id=operator_id,
                    email=email,
                    password_hash=None,
                    role=role,
                    projects=limited,
                    created_at=now,
                    updated_at=now,
                    disabled_at=None,
                )
            )
            token = await self._setup_token(conn, operator_id)
            await self._audit(
                conn,
                "operator.create",
                operator_id,
                after={"email": email, "role": role, "projects": limited},
            )
        return await self.get_operator(operator_id), token

    async def _require_projects(self, conn: AsyncConnection, ids: list[str] | None) -> None:
        """Invalid("projects") naming the first id that is no project."""
        for project_id in ids or ():
            try:
                await self._require_project(conn, project_id)
            except NotFound:
                raise Invalid("projects", f"no project {project_id}") from None

    async def count_operators(self) -> int:
        async with self.reader.connect() as conn:
            return int(
                (await conn.execute(select(func.count()).select_from(operators))).scalar() or 0
            )

    async def list_operators(self) -> list[dict[str, Any]]:
        """Every operator, oldest first (a team is tens of people, not pages of them)."""
        async with self.reader.connect() as conn:
            rows = (await conn.execute(select(operators).order_by(operators.c.id))).all()
        return [_public(r) for r in rows]

    async def get_operator(self, operator_id: str) -> dict[str, Any]:
        async with self.reader.connect() as conn:
            row = (
                await conn.execute(select(operators).where(operators.c.id == operator_id))
            ).first()
        if row is None:
            raise NotFound("operator")
        return _public(row)

    async def operator_by_email(self, email: str) -> dict[str, Any]:
        """The operator with this email (any case); NotFound if none."""
        try:
            email = normalize_email(email)
        except Invalid:
            raise NotFound("operator") from None
        async with self.reader.connect() as conn:
            row = (await conn.execute(select(operators).where(operators.c.email == email))).first()
        if row is None:
            raise NotFound("operator")
        return _public(row)

    async def password_hash_for(self, email: str) -> tuple[dict[str, Any] | None, str | None]:
        """For sign-in: the enabled operator with this email and its hash, or (None, None)."""
        try:
            email = normalize_email(email)
        except Invalid:
            return None, None
        async with self.reader.connect() as conn:
            row = (await conn.execute(select(operators).where(operators.c.email == email))).first()
        if row is None or row.disabled_at is not None:
            return None, None
        return _public(row), row.password_hash

    async def use_setup_token(self, token: str, password_hash: str) -> dict[str, Any]:
        """Set the password of the operator whose live link ``token`` is; the link is spent.

        NotFound("set-password link") for an unknown, used or expired link, or
        a disabled operator's.
        """
        now = self.clock.now()
        async with self.writer.begin() as conn:
            row = (
                await conn.execute(
                    select(operators.c.id).where(
                        operators.c.setup_hash == _digest(token),
                        operators.c.setup_expires_at > now,
                        operators.c.disabled_at.is_(None),
                    )
                )
            ).first()
            if row is None:
                raise NotFound("set-password link")
            await conn.execute(
                update(operators)
                .where(operators.c.id == row.id)
                .values(
                    password_hash=password_hash,
                    setup_hash=None,
                    setup_expires_at=None,
                    updated_at=now,
                )
            )
            await self._audit(conn, "operator.password_set", row.id)
        return await self.get_operator(row.id)

    async def setup_link_operator(self, token: str) -> dict[str, Any]:
        """Whose live set-password link ``token`` is (the page shows the email); NotFound."""
        async with self.reader.connect() as conn:
            row = (
                await conn.execute(
                    select(operators).where(
                        operators.c.setup_hash == _digest(token),
                        operators.c.setup_expires_at > self.clock.now(),
                        operators.c.disabled_at.is_(None),
                    )
                )
            ).first()
        if row is None:
            raise NotFound("set-password link")
        return _public(row)

    async def rehash_password(self, operator_id: str, password_hash: str) -> None:
        """Store a stronger hash of the same password (after a sign-in with an old one)."""
        async with self.writer.begin() as conn:
            await conn.execute(
                update(operators)
                .where(operators.c.id == operator_id)
                .values(password_hash=password_hash)
            )

    async def _owners_left(self, conn: AsyncConnection, besides: str) -> int:
        stmt = select(func.count()).where(
            operators.c.role == "owner",
            operators.c.disabled_at.is_(None),
            operators.c.id != besides,
        )
        return int((await conn.execute(stmt)).scalar() or 0)

    async def _locked(self, conn: AsyncConnection, operator_id: str) -> Any:
        row = (await conn.execute(select(operators).where(operators.c.id == operator_id))).first()
        if row is None:
            raise NotFound("operator")
        return row

    async def update_operator(
        self,
        operator_id: str,
        *,
        role: str | None = None,
        projects: list[str] | typing.Literal[False] | None = False,
    ) -> dict[str, Any]:
        """Change the role and/or the project list (``projects=None``: every project;
        False: unchanged). Conflict when it would leave no enabled owner."""
        if role is not None:
            _check_role(role)
        values: dict[str, Any] = {"updated_at": self.clock.now()}
        async with self.writer.begin() as conn:
            row = await self._locked(conn, operator_id)
            before = {"role": row.role, "projects": row.projects}
            if role is not None and role != row.role:
                if row.role == "owner" and await self._owners_left(conn, operator_id) == 0:
                    raise Conflict("this is the last owner; make another owner first", field="role")
                values["role"] = role
            if projects is not False:
                limited = sorted(set(projects)) if projects else None
                await self._require_projects(conn, limited)
                values["projects"] = limited
            await conn.execute(
                update(operators).where(operators.c.id == operator_id).values(values)
            )
            after = {k: values.get(k, v) for k, v in before.items()}
            await self._audit(conn, "operator.update", operator_id, before, after)
        self._keys.clear()
        return await self.get_operator(operator_id)

    async def set_operator_disabled(self, operator_id: str, disabled: bool) -> dict[str, Any]:
        """Disable (its sessions end, its tokens stop) or enable again. Conflict for the
        last enabled owner."""
        now = self.clock.now()
        async with self.writer.begin() as conn:
            row = await self._locked(conn, operator_id)
            if disabled and row.role == "owner" and row.disabled_at is None:
                if await self._owners_left(conn, operator_id) == 0:
                    raise Conflict("this is the last owner; make another owner first")
            await conn.execute(
                update(operators)
                .where(operators.c.id == operator_id)
                .values(disabled_at=now if disabled else None, updated_at=now)
            )
            if disabled:
                await self._end_sessions_of(conn, operator_id)
            action = "operator.disable" if disabled else "operator.update"
            was = {"disabled": row.disabled_at is not None}
            await self._audit(conn, action, operator_id, was, {"disabled": disabled})
        self._keys.clear()
        return await self.get_operator(operator_id)

    async def reset_operator_password(self, operator_id: str) -> str:
        """Forget the password, end the operator's sessions; a new set-password token."""
        async with self.writer.begin() as conn:
            await self._locked(conn, operator_id)
            await conn.execute(
                update(operators).where(operators.c.id == operator_id).values(password_hash=None)
            )
            await self._end_sessions_of(conn, operator_id)
            token = await self._setup_token(conn, operator_id)
            await self._audit(conn, "operator.password_reset", operator_id)
        return token

    async def _end_sessions_of(self, conn: AsyncConnection, operator_id: str | None) -> int:
        column = dashboard_sessions.c.operator_id
        where = column.is_(None) if operator_id is None else column == operator_id
        result = await conn.execute(delete(dashboard_sessions).where(where))
        return int(result.rowcount or 0)

    async def end_sessions_of(self, operator_id: str | None) -> int:
        """Sign an operator out everywhere (None: every admin-token session); how many ended."""
        async with self.writer.begin() as conn:
            ended = await self._end_sessions_of(conn, operator_id)
            await self._audit(
                conn, "operator.sessions_revoke", operator_id or "", after={"sessions": ended}
            )
            return ended

    # -- personal tokens -----------------------------------------------------

    async def create_operator_token(
        self, operator_id: str, name: str, expires_at: float | None = None
    ) -> tuple[dict[str, Any], str]:
        """A new ``hpu_`` token for the operator: its row and the token, shown once."""
        token = new_token(TOKEN_PREFIX.rstrip("_"), 32)
        row: dict[str, Any] = {
            "id": new_id("tok"),
            "operator_id": operator_id,
            "name": name,
            "prefix": token[:12],
            "token_hash": _digest(token),
            "created_at": self.clock.now(),
            "expires_at": expires_at,
            "last_used_at": None,
            "revoked_at": None,
        }
        async with self.writer.begin() as conn:
            await self._locked(conn, operator_id)
            await conn.execute(insert(operator_tokens).values(**row))
            shown = ("name", "prefix", "operator_id", "expires_at")
            await self._audit(conn, "token.create", row["id"], after={k: row[k] for k in shown})
        row.pop("token_hash")
        return row, token

    async def list_operator_tokens(self, operator_id: str) -> list[dict[str, Any]]:
        """The operator's tokens, newest first (revoked ones included, marked)."""
        cols = [c for c in operator_tokens.c if c.name != "token_hash"]
        async with self.reader.connect() as conn:
            rows = (
                await conn.execute(
                    select(*cols)
                    .where(operator_tokens.c.operator_id == operator_id)
                    .order_by(operator_tokens.c.id.desc())
                )
            ).all()
        return [dict(r._mapping) for r in rows]

    async def revoke_operator_token(self, operator_id: str, token_id: str) -> dict[str, Any]:
        """Revoke one of the operator's tokens (idempotent); NotFound for another's."""
        self._keys.clear()
        now = self.clock.now()
        async with self.writer.begin() as conn:
            mine = (operator_tokens.c.id == token_id) & (
                operator_tokens.c.operator_id == operator_id
            )
            found = (await conn.execute(select(operator_tokens.c.id).where(mine))).first()
            if found is None:
                raise NotFound("token")
            done = await conn.execute(
                update(operator_tokens)
                .where(mine, operator_tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            if done.rowcount:  # revoking a revoked token changes nothing: no entry
                await self._audit(
                    conn, "token.revoke", token_id, {"revoked_at": None}, {"revoked_at": now}
                )
        self._keys.clear()
        return next(t for t in await self.list_operator_tokens(operator_id) if t["id"] == token_id)

    async def token_principal(self, token: str) -> dict[str, Any] | None:
        """``{token_id, prefix, operator_id, email, role, projects}`` of a live token, or None.

        Live: not revoked, not past its expiry, its owner not disabled.
        """
        digest = _digest(token)
        now = self.clock.now()
        hit, cached = self._keys.get(digest)
        if not hit:
            cached = await self._load_token(digest)
            self._keys.put(digest, cached)
        found = typing.cast(dict[str, Any] | None, cached)
        if found is None or (found["expires_at"] is not None and found["expires_at"] <= now):
            return None
        if found["last_used_at"] is None or now - found["last_used_at"] >= LAST_USED_EVERY:
            found["last_used_at"] = now
            async with self.writer.begin() as conn:
                await conn.execute(
                    update(operator_tokens)
                    .where(operator_tokens.c.id == found["token_id"])
                    .values(last_used_at=now)
                )
        return found

    async def _load_token(self, digest: str) -> dict[str, Any] | None:
        t, o = operator_tokens.c, operators.c
        stmt = (
            select(
                t.id,
                t.prefix,
                t.token_hash,
                t.expires_at,
                t.last_used_at,
                o.id.label("oid"),
                o.email,
                o.role,
                o.projects,
            )
            .join_from(operator_tokens, operators, t.operator_id == o.id)
            .where(t.token_hash == digest, t.revoked_at.is_(None), o.disabled_at.is_(None))
        )
        async with self.reader.connect() as conn:
            row = (await conn.execute(stmt)).first()
        if row is None or not secrets.compare_digest(str(row.token_hash), digest):
            return None
        return {
            "token_id": row.id,
            "prefix": row.prefix,
            "expires_at": row.expires_at,
            "last_used_at": row.last_used_at,
            "operator_id": row.oid,
            "email": row.email,
            "role": row.role,
            "projects": row.projects,
        }
