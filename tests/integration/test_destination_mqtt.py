"""MQTT destinations against the real Mosquitto on 127.0.0.1:1883.

That Mosquitto lets anyone in (``allow_anonymous true``, no password file),
so there is no bad-credentials case here, and MQTT has no queue that could be
missing: a broker that is down is the failure to recover from.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest

from tests import brokers
from tests.brokers import Message, hp
from tests.conftest import Hookpost

aiomqtt = pytest.importorskip("aiomqtt", reason="the mqtt extra is not installed")

pytestmark = brokers.needs_broker("Mosquitto", 1883)
__all__ = ["hp"]

BROKER = "mqtt://127.0.0.1:1883"


class Topic:
    """A fresh topic, subscribed at QoS 1 with MQTT 5 (user properties are headers)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.got: asyncio.Queue[Message] = asyncio.Queue()

    async def read(self, client: aiomqtt.Client) -> None:
        async for m in client.messages:
            pairs = getattr(m.properties, "UserProperty", None) or []
            await self.got.put(Message(bytes(m.payload), dict(pairs)))

    async def take(self, n: int, timeout: float = 10) -> list[Message]:
        return [await asyncio.wait_for(self.got.get(), timeout) for _ in range(n)]

    async def none_more(self, wait: float = 0.3) -> None:
        await asyncio.sleep(wait)
        assert self.got.empty(), "a message arrived twice"


@pytest.fixture
async def topic() -> AsyncIterator[Topic]:
    t = Topic(f"hookpost/test/{uuid.uuid4().hex[:8]}")
    async with aiomqtt.Client("127.0.0.1", 1883, protocol=aiomqtt.ProtocolVersion.V5) as client:
        await client.subscribe(t.name, qos=1)
        reader = asyncio.create_task(t.read(client))
        yield t
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


def url_for(topic: Topic, base: str = BROKER) -> str:
    return f"{base}/{topic.name}"


async def test_published_message_arrives_once_and_verifies(hp: Hookpost, topic: Topic) -> None:
    out = await brokers.arrives_once_and_verifies(hp, url_for(topic), topic)
    assert "PUBACK" in out["attempt"]["response_body"]


async def test_password_sealed_masked_and_kept_on_update(hp: Hookpost, topic: Topic) -> None:
    url = url_for(topic, "mqtt://hooks:mq-pass-77@127.0.0.1:1883")
    await brokers.masked_everywhere(hp, url, "mq-pass-77", topic)


async def test_broker_down_fails_clearly_then_delivers(hp: Hookpost, topic: Topic) -> None:
    down = url_for(topic, f"mqtt://127.0.0.1:{brokers.closed_port()}")
    fix = brokers.patch_url(hp, url_for(topic))
    await brokers.fails_then_recovers(hp, down, topic, "broker unreachable", fix)


async def test_fifo_order_holds(hp: Hookpost, topic: Topic) -> None:
    await brokers.keeps_fifo_order(hp, url_for(topic), topic)


async def test_resend_publishes_again(hp: Hookpost, topic: Topic) -> None:
    await brokers.resends(hp, url_for(topic), topic)
