"""Idempotency keys: the stored answers of POST requests that carried an ``Idempotency-Key``.

A key is *reserved* (a row with no status) in its own committed transaction
before the request runs, *completed* with the answer after a 2xx, and
*released* (deleted) after any other answer, which changed nothing. Two
requests racing for one key meet at the primary key: one inserts, the other
reads the row. Rows live 24 hours (``expires_at``); an expired row is
replaced by the next reservation, and :meth:`purge_idempotency_keys` deletes
them in bounded batches. The policy (what to answer for each state) is in
:mod:`hookpost.web.idempotency`.

A stored answer may carry a secret shown only once -- a new project's or
API key's key, an endpoint's signing secret, a portal link -- so it is kept
sealed under the store's secret key (:mod:`hookpost.core.crypto`, bound to
the row's id) like the endpoint secrets are: the database never holds in
clear what it otherwise keeps only as a hash or as ciphertext. An answer the
configured keys cannot open (the key was replaced without keeping the old
one) reads as completed without an answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from hookpost.core.crypto import SecretKeyError
from hookpost.store._core import Core
from hookpost.store.models import idempotency_keys

__all__ = ["IdempotencyMixin", "KeyRecord"]


@dataclass(frozen=True)
class KeyRecord:
    """A key already in use: its request's route and body hash, and its answer
    (``status`` None while the first request runs or if it never finished;
    ``response`` None with a ``status`` when the stored answer cannot be read)."""

    route: str
    body_hash: str
    status: int | None
    response: dict[str, Any] | None
    created_at: float


class IdempotencyMixin(Core):
    """Reserve, complete, release and purge idempotency keys."""

    async def reserve_idempotency_key(
        self, key_id: str, route: str, body_hash: str, ttl: float
    ) -> KeyRecord | None:
        """Reserve ``key_id`` for this request: None when reserved now, else the
        record already holding it (an expired one is replaced, not returned).

        Requests racing for one key that keep releasing it (each answered
        non-2xx) may leave this one finding no row three times over: it is then
        answered as if the key were held by a request still running (a record
        of this request with no status), which is what was just the case.
        """
        now = self.clock.now()
        row = {
            "id": key_id,
            "route": route,
            "body_hash": body_hash,
            "status": None,
            "response": None,
            "created_at": now,
            "expires_at": now + ttl,
        }
        for _ in range(3):  # an expired row deleted, or a racing insert, then again
            try:
                async with self.writer.begin() as conn:
                    await conn.execute(insert(idempotency_keys).values(**row))
                return None
            except IntegrityError:
                pass
            async with self.writer.begin() as conn:
                found = (
                    await conn.execute(
                        select(idempotency_keys).where(idempotency_keys.c.id == key_id)
                    )
                ).first()
                if found is not None and found.expires_at <= now:
                    await conn.execute(
                        delete(idempotency_keys).where(
                            idempotency_keys.c.id == key_id,
                            idempotency_keys.c.expires_at <= now,
                        )
                    )
                    continue
            if found is not None:
                return KeyRecord(
                    found.route,
                    found.body_hash,
                    found.status,
                    self._open_answer(key_id, found.response),
                    found.created_at,
                )
        return KeyRecord(route, body_hash, None, None, now)

    def _seal_answer(self, key_id: str, response: dict[str, Any]) -> dict[str, Any]:
        if self.box is None:  # a store without a secret key keeps no secret either
            return response
        return {"sealed": self.box.encrypt(json.dumps(response), _context(key_id))}

    def _open_answer(self, key_id: str, stored: dict[str, Any] | None) -> dict[str, Any] | None:
        if stored is None or "sealed" not in stored:
            return stored
        if self.box is None:
            return None
        try:
            text = self.box.decrypt(stored["sealed"], _context(key_id))
            opened: dict[str, Any] = json.loads(text)
        except SecretKeyError:
            return None
        return opened

    async def complete_idempotency_key(
        self, key_id: str, status: int, response: dict[str, Any]
    ) -> None:
        """Store the 2xx answer replayed to every later request with this key
        (``{"headers": {...}, "body": text}``, sealed: see the module)."""
        sealed = self._seal_answer(key_id, response)
        async with self.writer.begin() as conn:
            await conn.execute(
                update(idempotency_keys)
                .where(idempotency_keys.c.id == key_id)
                .values(status=status, response=sealed)
            )

    async def release_idempotency_key(self, key_id: str) -> None:
        """Forget a reservation whose request changed nothing (a non-2xx answer)."""
        async with self.writer.begin() as conn:
            await conn.execute(
                delete(idempotency_keys).where(
                    idempotency_keys.c.id == key_id, idempotency_keys.c.status.is_(None)
                )
            )

    async def purge_idempotency_keys(self, *, batch: int = 1000, max_batches: int = 1000) -> int:
        """Delete expired keys in bounded batches; how many were deleted."""
        now = self.clock.now()
        removed = 0
        for _ in range(max_batches):
            async with self.writer.begin() as conn:
                ids = (
                    select(idempotency_keys.c.id)
                    .where(idempotency_keys.c.expires_at <= now)
                    .limit(batch)
                )
                res = await conn.execute(
                    delete(idempotency_keys).where(idempotency_keys.c.id.in_(ids))
                )
            removed += res.rowcount
            if res.rowcount < batch:
                break
        return removed


def _context(key_id: str) -> str:
    """What a stored answer is bound to (AES-GCM associated data): its row."""
    return f"idempotency:{key_id}"
