"""NATS JetStream with nats-py: publish to a subject, succeed on the stream's ack.

``nats://[USER:PASS@]HOST:PORT?subject=S`` publishes to subject ``S`` (the
event type when absent) through JetStream: the attempt succeeds only when a
stream that captures the subject acknowledges the message (stream name and
sequence are the attempt's answer). No stream for the subject is a failed
attempt (``no stream captures subject 'S'``), so is an ack that does not come
in time (``stream ack timeout``). The request's headers are NATS headers.

The client's own reconnect loop is off: a lost connection fails the attempt
and the pool connects afresh for the next one, so a broker restart never
leaves a publish buffered in a client that is still trying to reconnect.
"""

from __future__ import annotations

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client

from hookpost.core.destination_url import Destination
from hookpost.delivery.transports import About, BrokerError, PooledTransport

__all__ = ["Transport"]


class Transport(PooledTransport[Client]):
    timeout_text = "stream ack timeout (no acknowledgement within {timeout:g}s)"

    async def _connect(self, dest: Destination, address: str, timeout: float) -> Client:
        host = f"[{address}]" if ":" in address else address
        seen: list[Exception] = []

        async def note(exc: Exception) -> None:
            """nats-py's error callback: the first failures explain a failed connect."""
            if len(seen) < 3:
                seen.append(exc)

        try:
            return await nats.connect(
                servers=[f"nats://{host}:{dest.port}"],
                user=dest.username,
                password=dest.password,
                name="hookpost",
                connect_timeout=timeout,
                allow_reconnect=False,
                # One try (nats-py reads 0 as "forever"), then give up quickly.
                max_reconnect_attempts=1,
                reconnect_time_wait=0.05,
                error_cb=note,
            )
        except nats.errors.NoServersError:
            if seen:
                raise seen[0] from None
            raise

    def _usable(self, conn: Client) -> bool:
        return bool(conn.is_connected)

    async def _close(self, conn: Client) -> None:
        await conn.close()

    async def _publish(
        self,
        conn: Client,
        dest: Destination,
        body: bytes,
        headers: dict[str, str],
        about: About,
        timeout: float,
    ) -> str:
        subject = dest.options.get("subject") or about.event_type
        try:
            ack = await conn.jetstream().publish(
                subject, body, timeout=timeout, headers=dict(headers)
            )
        except nats.js.errors.NoStreamResponseError:
            raise BrokerError(f"no stream captures subject {subject!r}") from None
        except nats.js.errors.APIError as exc:
            raise BrokerError(f"jetstream refused: {exc.description or exc}") from None
        except nats.errors.TimeoutError:
            raise BrokerError(self.timeout_text.format(timeout=timeout)) from None
        return f"stored in stream {ack.stream!r} as sequence {ack.seq}"

    def describe(self, exc: BaseException) -> str | None:
        if isinstance(exc, nats.errors.AuthorizationError):
            return "authentication failed: the server refused the user name or password"
        if isinstance(exc, nats.errors.NoServersError):
            return "broker unreachable: no NATS server answered"
        if isinstance(exc, nats.errors.ConnectionClosedError | nats.errors.UnexpectedEOF):
            return "broker unreachable: the connection was closed"
        return None
