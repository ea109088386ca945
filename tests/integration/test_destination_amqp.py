"""RabbitMQ destinations against the real broker on 127.0.0.1:5672 (guest/guest)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator

import pytest

from tests import brokers
from tests.brokers import Message, hp
from tests.conftest import Hookpost

aio_pika = pytest.importorskip("aio_pika", reason="the rabbitmq extra is not installed")

pytestmark = brokers.needs_broker("RabbitMQ", 5672)
__all__ = ["hp"]

BROKER = "amqp://guest:guest@127.0.0.1:5672/"


class Queue:
    """A fresh queue on the default exchange, read with aio-pika."""

    def __init__(self, connection: aio_pika.abc.AbstractConnection, name: str) -> None:
        self.connection = connection
        self.name = name
        self.got: asyncio.Queue[Message] = asyncio.Queue()

    async def start(self) -> None:
        channel = await self.connection.channel()
        self.queue = await channel.declare_queue(self.name, auto_delete=True)
        await self.queue.consume(self._on_message, no_ack=True)

    async def _on_message(self, m: aio_pika.abc.AbstractIncomingMessage) -> None:
        assert m.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        headers = {k: v.decode() if isinstance(v, bytes) else str(v) for k, v in m.headers.items()}
        await self.got.put(Message(m.body, headers))

    async def take(self, n: int, timeout: float = 10) -> list[Message]:
        return [await asyncio.wait_for(self.got.get(), timeout) for _ in range(n)]

    async def none_more(self, wait: float = 0.3) -> None:
        await asyncio.sleep(wait)
        assert self.got.empty(), "a message arrived twice"


@pytest.fixture
async def amqp() -> AsyncIterator[aio_pika.abc.AbstractConnection]:
    connection = await aio_pika.connect(BROKER)
    yield connection
    await connection.close()


@pytest.fixture
async def queue(amqp: aio_pika.abc.AbstractConnection) -> Queue:
    q = Queue(amqp, f"hookpost.test.{uuid.uuid4().hex[:8]}")
    await q.start()
    return q


def url_for(queue: Queue, base: str = BROKER) -> str:
    return f"{base}?routing_key={queue.name}"


async def test_published_message_arrives_once_persistent_and_verifies(
    hp: Hookpost, queue: Queue
) -> None:
    await brokers.arrives_once_and_verifies(hp, url_for(queue), queue)


async def test_routing_key_defaults_to_the_event_type(
    hp: Hookpost, amqp: aio_pika.abc.AbstractConnection
) -> None:
    q = Queue(amqp, "user.created")
    await q.start()
    await brokers.arrives_once_and_verifies(hp, BROKER, q)


async def test_password_sealed_masked_and_kept_on_update(hp: Hookpost, queue: Queue) -> None:
    await brokers.masked_everywhere(hp, url_for(queue), ":guest@", queue)


async def test_broker_down_fails_clearly_then_delivers(hp: Hookpost, queue: Queue) -> None:
    down = url_for(queue, f"amqp://guest:guest@127.0.0.1:{brokers.closed_port()}/")
    fix = brokers.patch_url(hp, url_for(queue))
    await brokers.fails_then_recovers(hp, down, queue, "broker unreachable", fix)


async def test_bad_credentials_fail_clearly_then_deliver(hp: Hookpost, queue: Queue) -> None:
    bad = url_for(queue, "amqp://guest:wrong@127.0.0.1:5672/")
    fix = brokers.patch_url(hp, url_for(queue))
    await brokers.fails_then_recovers(hp, bad, queue, "authentication failed", fix)


async def test_missing_queue_fails_with_no_route_then_delivers(
    hp: Hookpost, amqp: aio_pika.abc.AbstractConnection
) -> None:
    q = Queue(amqp, f"hookpost.test.late.{uuid.uuid4().hex[:8]}")

    async def create_queue(_pid: str, _ep: str) -> None:
        await q.start()

    await brokers.fails_then_recovers(hp, url_for(q), q, "NO_ROUTE", create_queue)


async def test_missing_exchange_fails_with_not_found_then_delivers(
    hp: Hookpost, amqp: aio_pika.abc.AbstractConnection, queue: Queue
) -> None:
    name = f"hookpost.test.x.{uuid.uuid4().hex[:8]}"
    url = f"{BROKER}?exchange={name}&routing_key=k"

    async def declare_exchange(_pid: str, _ep: str) -> None:
        channel = await amqp.channel()
        exchange = await channel.declare_exchange(name, auto_delete=True)
        await queue.queue.bind(exchange, "k")

    await brokers.fails_then_recovers(
        hp, url, queue, f"NOT_FOUND - no exchange '{name}'", declare_exchange
    )


async def test_fifo_order_holds(hp: Hookpost, queue: Queue) -> None:
    await brokers.keeps_fifo_order(hp, url_for(queue), queue)


async def test_resend_publishes_again(hp: Hookpost, queue: Queue) -> None:
    await brokers.resends(hp, url_for(queue), queue)


def _close_hookpost_connections() -> int:
    """Close the worker's pooled connections from the broker's side, as a restart does."""
    listed = subprocess.run(
        ["rabbitmqctl", "-q", "list_connections", "pid", "client_properties"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    ours = '{"connection_name","hookpost"}'
    pids = [line.split("\t")[0] for line in listed.splitlines() if ours in line]
    for pid in pids:
        subprocess.run(
            ["rabbitmqctl", "-q", "close_connection", pid, "test: broker restart"],
            capture_output=True, timeout=60, check=True,
        )  # fmt: skip
    return len(pids)


@pytest.mark.serial  # closes every hookpost connection on the broker
@pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="rabbitmqctl is not installed")
async def test_a_connection_the_broker_closed_is_replaced(hp: Hookpost, queue: Queue) -> None:
    """After the broker drops the pooled connection, the next event still goes out."""
    pid, _ = await hp.project()
    await hp.endpoint(pid, url_for(queue))
    await hp.publish(pid, "user.created", event_id="evt_before")
    await queue.take(1)
    assert await asyncio.to_thread(_close_hookpost_connections) >= 1
    await asyncio.sleep(0.5)  # the client reads the broker's Connection.Close
    await hp.publish(pid, "user.created", event_id="evt_after")
    (msg,) = await queue.take(1)
    assert msg.headers["webhook-id"] == "evt_after"
    after = [d for d in await hp.deliveries(pid) if d["event_id"] == "evt_after"]
    done = await hp.wait_status(pid, after[0]["id"], "succeeded")
    assert done["attempt_count"] == 1  # reconnected within the attempt, not on the schedule
