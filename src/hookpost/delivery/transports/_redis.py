"""Redis Streams with redis-py: one ``XADD`` per delivery, the entry id as the answer.

``redis://[[USER]:PASS@]HOST:PORT/DB?stream=S&maxlen=N&nomkstream=1`` appends
to stream ``S`` (``hookpost`` when absent) an entry whose field ``body`` is
the profile's body, byte for byte, and whose other fields are the request's
headers (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``,
``content-type``, custom headers), so a consumer rebuilds the headers from the
entry and calls :func:`hookpost.verify`. ``maxlen`` trims the stream
approximately (``MAXLEN ~ N``, the cheap form). Redis creates a stream on the
first ``XADD``; ``nomkstream=1`` makes a missing stream a failed attempt
(``stream 'S' does not exist``) instead, for consumers whose group must exist
first.

The attempt succeeds when Redis answers with the entry id: the entry is then
in the server's memory (and on disk as its persistence settings say).
"""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import AuthenticationError, ResponseError

from hookpost.core.destination_url import Destination
from hookpost.delivery.transports import About, BrokerError, PooledTransport

__all__ = ["Transport"]

DEFAULT_STREAM = "hookpost"
_TRUE = ("1", "true", "yes")


class Transport(PooledTransport[aioredis.Redis]):
    async def _connect(self, dest: Destination, address: str, timeout: float) -> aioredis.Redis:
        client = aioredis.Redis(
            host=address,
            port=dest.port,
            db=int(dest.path or 0),
            username=dest.username,
            password=dest.password,
            ssl=dest.tls,
            socket_connect_timeout=timeout,
            # Retries are the delivery schedule's business, not the client's.
            retry=Retry(NoBackoff(), 0),
            client_name="hookpost",
        )
        try:
            await client.ping()  # connect and authenticate now, not at the first XADD
        except BaseException:
            await client.aclose()
            raise
        return client

    async def _close(self, conn: aioredis.Redis) -> None:
        await conn.aclose()

    async def _publish(
        self,
        conn: aioredis.Redis,
        dest: Destination,
        body: bytes,
        headers: dict[str, str],
        about: About,
        timeout: float,
    ) -> str:
        stream = dest.options.get("stream") or DEFAULT_STREAM
        maxlen = dest.options.get("maxlen")
        fields: dict[str | bytes, str | bytes] = {"body": body}
        fields.update((name.lower(), value) for name, value in headers.items() if name != "body")
        entry = await conn.xadd(
            stream,
            fields,  # type: ignore[arg-type]
            maxlen=int(maxlen) if maxlen else None,
            approximate=True,
            nomkstream=dest.options.get("nomkstream", "").lower() in _TRUE,
        )
        if entry is None:
            raise BrokerError(f"stream {stream!r} does not exist (nomkstream)")
        entry_id = entry.decode() if isinstance(entry, bytes) else str(entry)
        return f"added to stream {stream!r} as entry {entry_id}"

    def describe(self, exc: BaseException) -> str | None:
        if isinstance(exc, AuthenticationError):
            return f"authentication failed: {exc}"
        if isinstance(exc, ResponseError):
            text = str(exc)
            if "WRONGPASS" in text or "NOAUTH" in text or "AUTH" in text.split()[:1]:
                return f"authentication failed: {text}"
            return f"redis refused: {text}"
        return None
