"""MQTT 5 with aiomqtt: publish at QoS 1, succeed on the broker's PUBACK.

``mqtt://[USER:PASS@]HOST:PORT/TOPIC/PATH`` publishes to ``TOPIC/PATH`` (the
event type when the path is empty) at QoS 1; the attempt succeeds when the
broker acknowledges the message (PUBACK). The request's headers travel as
MQTT 5 user properties, ``Content-Type`` also as the content-type property,
so a consumer rebuilds the headers from the user properties and calls
:func:`hookpost.verify`.

What PUBACK means is MQTT's: the broker took the message. A topic nobody
subscribes to (without a persistent session) drops it there -- MQTT has no
queue that could be missing, unlike AMQP or SQS.
"""

from __future__ import annotations

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hookpost.core.destination_url import Destination
from hookpost.delivery.transports import About, PooledTransport

__all__ = ["Transport"]

#: CONNACK reason codes that mean the credentials were refused (MQTT 5 and 3.1.1).
_AUTH_CODES = ("bad user name or password", "not authorized", "not authorised")


class Transport(PooledTransport[aiomqtt.Client]):
    async def _connect(self, dest: Destination, address: str, timeout: float) -> aiomqtt.Client:
        client = aiomqtt.Client(
            hostname=address,
            port=dest.port,
            username=dest.username,
            password=dest.password,
            protocol=aiomqtt.ProtocolVersion.V5,
            tls_params=aiomqtt.TLSParameters() if dest.tls else None,
            timeout=timeout,
        )
        await client.__aenter__()
        return client

    async def _close(self, conn: aiomqtt.Client) -> None:
        await conn.__aexit__(None, None, None)

    async def _publish(
        self,
        conn: aiomqtt.Client,
        dest: Destination,
        body: bytes,
        headers: dict[str, str],
        about: About,
        timeout: float,
    ) -> str:
        topic = dest.path or about.event_type
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        properties.UserProperty = list(headers.items())
        for name, value in headers.items():
            if name.lower() == "content-type":
                properties.ContentType = value
        await conn.publish(topic, body, qos=1, properties=properties, timeout=timeout)
        return f"acknowledged by the broker (PUBACK, topic {topic!r})"

    def describe(self, exc: BaseException) -> str | None:
        if isinstance(exc, aiomqtt.MqttError):
            text = str(exc)
            if any(code in text.lower() for code in _AUTH_CODES):
                return f"authentication failed: {text}"
            return f"broker unreachable: {text}" if "connect" in text.lower() else text
        return None
