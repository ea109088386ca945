"""RabbitMQ (AMQP 0-9-1) with aio-pika: persistent messages, publisher confirms, mandatory.

``amqp://USER:PASS@HOST:PORT/VHOST?exchange=X&routing_key=K`` publishes to
exchange ``X`` (the default exchange when absent) with routing key ``K`` (the
event type when absent). The attempt succeeds only on the broker's confirm
(``Basic.Ack``): the message is persistent (delivery mode 2), and
``mandatory`` makes a message no queue is bound for come back as a failure
(``NO_ROUTE``) instead of vanishing -- with the default exchange that is a
missing queue. An exchange that does not exist closes the channel with
``NOT_FOUND - no exchange 'x' in vhost '/'``, which is the attempt's error;
the connection stays and the next attempt opens a new channel.

The request's headers travel as AMQP headers (``webhook-signature``,
``webhook-id``, ...), ``Content-Type`` also as the ``content_type``
property, the event id as ``message_id``.
"""

from __future__ import annotations

from dataclasses import dataclass

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractConnection

from hookpost.core.destination_url import Destination
from hookpost.delivery.transports import About, BrokerError, PooledTransport

__all__ = ["Transport"]


@dataclass
class _Link:
    connection: AbstractConnection
    channel: AbstractChannel | None = None


class Transport(PooledTransport[_Link]):
    async def _connect(self, dest: Destination, address: str, timeout: float) -> _Link:
        connection = await aio_pika.connect(
            host=address,
            port=dest.port,
            login=dest.username or "guest",
            password=dest.password or "guest",
            virtualhost=dest.path,
            ssl=dest.tls,
            timeout=timeout,
            client_properties={"connection_name": "hookpost"},
        )
        return _Link(connection)

    def _usable(self, conn: _Link) -> bool:
        return not conn.connection.is_closed

    async def _close(self, conn: _Link) -> None:
        await conn.connection.close()

    async def _publish(
        self,
        conn: _Link,
        dest: Destination,
        body: bytes,
        headers: dict[str, str],
        about: About,
        timeout: float,
    ) -> str:
        if conn.channel is None or conn.channel.is_closed:
            conn.channel = await conn.connection.channel(
                publisher_confirms=True, on_return_raises=True
            )
        channel = conn.channel
        name = dest.options.get("exchange", "")
        routing_key = dest.options.get("routing_key") or about.event_type
        message = aio_pika.Message(
            body,
            headers=dict(headers),
            content_type=_content_type(headers),
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=about.event_id or None,
        )
        try:
            exchange = (
                channel.default_exchange
                if not name
                else await channel.get_exchange(name, ensure=False)
            )
            await exchange.publish(message, routing_key, mandatory=True, timeout=timeout)
        except aiormq.exceptions.PublishError as exc:
            raise BrokerError(
                f"{exc.args[0]} - no queue is bound for routing key {routing_key!r}"
                + (f" on exchange {name!r}" if name else " (the default exchange: no such queue)")
            ) from None
        except aiormq.exceptions.ChannelClosed as exc:
            conn.channel = None  # the broker closed it; the connection is fine
            raise BrokerError(_reply_text(exc)) from None
        where = f"exchange {name!r}" if name else "the default exchange"
        return f"confirmed by the broker ({where}, routing key {routing_key!r})"

    def describe(self, exc: BaseException) -> str | None:
        if isinstance(exc, aiormq.exceptions.ProbableAuthenticationError):
            return "authentication failed: the broker refused the user name or password"
        if isinstance(exc, aiormq.exceptions.ConnectionNotAllowed):
            return f"authentication failed: {_reply_text(exc)}"
        if isinstance(exc, aiormq.exceptions.AMQPConnectionError):
            return f"broker unreachable: {_reply_text(exc)}"
        if isinstance(exc, aiormq.exceptions.DeliveryError):
            return "the broker refused the message (nack)"
        return None


def _content_type(headers: dict[str, str]) -> str | None:
    for name, value in headers.items():
        if name.lower() == "content-type":
            return value
    return None


def _reply_text(exc: BaseException) -> str:
    """``NOT_FOUND - no exchange 'x' in vhost '/'`` out of aiormq's exception args."""
    for arg in exc.args:
        if isinstance(arg, str) and arg:
            return arg
    return f"{type(exc).__name__}: {exc}"
