"""``Idempotency-Key`` on POST routes: a retried request gets the first answer, not a second change.

Like Stripe's: a POST under ``/api/v1/`` that carries ``Idempotency-Key`` (1
to 255 visible ASCII characters) is run once per key, caller and 24 hours.
The caller is the credential it sends (the ``Authorization`` header, hashed
with the key into the row's id), so one caller's keys never collide with, or
reveal, another's. Then, for the same key:

* same route and body after a 2xx: the stored answer is replayed (status,
  body, ``Content-Type``) with ``Idempotent-Replayed: true``; nothing runs;
* another route or body: ``422 idempotency_key_reused`` naming the header;
* the first request still running: ``409 idempotency_key_in_use`` with
  ``Retry-After: 1`` (the client retries; so does :mod:`hookpost.client`);
* a first request that never finished (its process died) more than
  :data:`IN_FLIGHT_SECONDS` ago: ``409 idempotency_key_outcome_unknown``.

Only 2xx answers are stored: every other answer changed nothing (a 4xx is
refused before any write; hookpost's 503 and 507 mean the transaction was
rolled back), so the key is released and a retry runs again.

Why reserve first, in its own transaction, rather than write the key in the
change's transaction: the answer is rendered after the change commits, so
the key row written with the change could not hold it, and a second request
would have nothing to replay. Reserving first makes the guarantee "at most
once per key": a process that dies after the change commits but before the
answer is stored leaves the key reserved, and every retry is refused (409
``idempotency_key_outcome_unknown``) rather than run again -- never created
twice, at the price of an answer the caller must look up itself (``GET`` the
resource; for events, publish with your own ``event_id``, which the store
deduplicates in the event's own transaction). The other order (change first,
key after) would create twice after the same crash.
"""

from __future__ import annotations

import hashlib
import re

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hookpost.store import KeyRecord, Store
from hookpost.store.outage import classify
from hookpost.web.errors import detail_item, error_response, outage_response, replaying

__all__ = ["HEADER", "IN_FLIGHT_SECONDS", "TTL_SECONDS", "IdempotencyMiddleware"]

HEADER = "Idempotency-Key"
#: How long a key and its answer are kept.
TTL_SECONDS = 24 * 3600
#: A reservation older than this without an answer belongs to a request that died.
IN_FLIGHT_SECONDS = 300.0

_VALID = re.compile(r"[\x21-\x7e]{1,255}")
#: The header's name as an ASGI server hands it over (lower case, bytes).
_HEADER_NAME = HEADER.lower().encode("latin-1")
#: POST routes whose answer is a credential hookpost keeps only as a hash (a personal
#: token): never stored for a replay, so the key is not honoured there (each retry runs).
NOT_KEPT = frozenset({"/api/v1/tokens"})
_STORED_HEADERS = ("content-type",)
#: The longest path the key row keeps as it is (``idempotency_keys.route``).
_ROUTE_CHARS = 512


class IdempotencyMiddleware:
    """ASGI middleware applying the rules above; inside the body limit, so the
    body it reads and hashes is already bounded."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not scope["path"].startswith("/api/v1/")
            or scope["path"] in NOT_KEPT
        ):
            await self.app(scope, receive, send)
            return
        if not any(name == _HEADER_NAME for name, _ in scope.get("headers", [])):
            await self.app(scope, receive, send)  # no key (most requests): nothing to keep
            return
        headers = {k.decode("latin-1"): v for k, v in scope.get("headers", [])}
        raw_key = headers.get(HEADER.lower())
        credential = headers.get("authorization")
        if raw_key is None or not credential:  # no key, or a 401 to come: nothing to keep
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1")
        if not _VALID.fullmatch(key):
            why = "must be 1 to 255 visible ASCII characters"
            detail = [detail_item(HEADER, why)]
            await error_response(422, f"{HEADER}: {why}", detail)(scope, receive, send)
            return
        body, receive = await _buffer(receive)
        key_id = hashlib.sha256(credential + b"\n" + raw_key).hexdigest()
        route = _route(scope["path"])
        body_hash = hashlib.sha256(body).hexdigest()
        store: Store = scope["app"].state.store
        try:
            held = await store.reserve_idempotency_key(key_id, route, body_hash, TTL_SECONDS)
        except Exception as exc:
            outage = classify(exc)
            if outage is None:
                raise
            await outage_response(outage)(scope, receive, send)
            return
        if held is not None:
            await _answer_held(store, held, route, body_hash)(scope, receive, send)
            return
        await self._run(store, key_id, scope, receive, send)

    async def _run(
        self, store: Store, key_id: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Run the request; settle the key *before* the answer is finished, so a
        caller who has the answer never finds its key still reserved."""
        status = 0
        kept: dict[str, str] = {}
        chunks: list[bytes] = []
        settled = False

        async def capture(message: Message) -> None:
            nonlocal status, settled
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    if name.decode("latin-1").lower() in _STORED_HEADERS:
                        kept[name.decode("latin-1").lower()] = value.decode("latin-1")
                if not 200 <= status < 300:
                    settled = True
                    await _release(store, key_id)
            elif message["type"] == "http.response.body" and not settled:
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    settled = True
                    body = b"".join(chunks).decode("utf-8", "replace")
                    answer = {"headers": kept, "body": body}
                    await store.complete_idempotency_key(key_id, status, answer)
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            if not settled:  # the app raised, or never finished its answer
                await _release(store, key_id)


async def _release(store: Store, key_id: str) -> None:
    try:
        await store.release_idempotency_key(key_id)
    except Exception:
        # Left reserved: refused as "outcome unknown" until it expires, which
        # errs on the side of never running the request twice.
        pass


async def _buffer(receive: Receive) -> tuple[bytes, Receive]:
    """The whole request body, and a ``receive`` that hands it to the app again."""
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    return body, replaying(body, receive)


def _route(path: str) -> str:
    """What the key row keeps of the request's path: the path, or its SHA-256 when it is
    longer than the column (512 characters) holds -- a long path is still a request."""
    if len(path) <= _ROUTE_CHARS:
        return path
    return "sha256:" + hashlib.sha256(path.encode("utf-8", "surrogateescape")).hexdigest()


def _answer_held(store: Store, held: KeyRecord, route: str, body_hash: str) -> Response:
    """The answer for a key already in use (see the module's rules)."""
    if held.route != route or held.body_hash != body_hash:
        why = "was already used with a different request (route or body); use a new key"
        detail = [detail_item(HEADER, why, "idempotency_key_reused")]
        return error_response(422, f"{HEADER}: {why}", detail, code="idempotency_key_reused")
    if held.status is not None and held.response is not None:
        stored = held.response
        return Response(
            stored["body"].encode("utf-8"),
            status_code=held.status,
            headers={**stored["headers"], "Idempotent-Replayed": "true"},
        )
    if held.status is not None:  # done, but its sealed answer no configured key opens
        why = (
            "the first request with this key took effect, but its stored answer cannot "
            "be read (the secret key changed): look the result up, then use a new key"
        )
        return _outcome_unknown(why)
    if store.clock.now() - held.created_at > IN_FLIGHT_SECONDS:
        why = (
            "the first request with this key was interrupted before its answer was "
            "stored; it may or may not have taken effect: check, then use a new key"
        )
        return _outcome_unknown(why)
    why = "a request with this key is still running; retry after Retry-After seconds"
    resp = error_response(
        409,
        f"{HEADER}: {why}",
        [detail_item(HEADER, why, "idempotency_key_in_use")],
        code="idempotency_key_in_use",
    )
    resp.headers["Retry-After"] = "1"
    return resp


def _outcome_unknown(why: str) -> Response:
    detail = [detail_item(HEADER, why, "idempotency_key_outcome_unknown")]
    return error_response(409, f"{HEADER}: {why}", detail, code="idempotency_key_outcome_unknown")
