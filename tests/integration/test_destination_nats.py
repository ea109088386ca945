"""NATS JetStream destinations against the real server on 127.0.0.1:4222.

That server runs without accounts, so there is no bad-credentials case here;
a refused login maps to ``authentication failed`` like the other brokers'.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from tests import brokers
from tests.brokers import Message, hp
from tests.conftest import Hookpost

nats = pytest.importorskip("nats", reason="the nats extra is not installed")

pytestmark = brokers.needs_broker("NATS", 4222)
__all__ = ["hp"]

BROKER = "nats://127.0.0.1:4222"


class Stream:
    """A fresh JetStream stream on its own subject, read by an ordered consumer."""

    def __init__(self, nc: nats.aio.client.Client, name: str) -> None:
        self.nc = nc
        self.js = nc.jetstream()
        self.name = name
        self.subject = f"hookpost.test.{name.lower()}"
        self.sub: object = None

    async def create(self) -> None:
        await self.js.add_stream(name=self.name, subjects=[self.subject])
        self.sub = await self.js.subscribe(self.subject, ordered_consumer=True)

    async def take(self, n: int, timeout: float = 10) -> list[Message]:
        got = []
        for _ in range(n):
            msg = await self.sub.next_msg(timeout=timeout)  # type: ignore[attr-defined]
            got.append(Message(msg.data, dict(msg.headers or {})))
        return got

    async def none_more(self, wait: float = 0.3) -> None:
        with pytest.raises(nats.errors.TimeoutError):
            await self.sub.next_msg(timeout=wait)  # type: ignore[attr-defined]


@pytest.fixture
async def client() -> AsyncIterator[nats.aio.client.Client]:
    nc = await nats.connect(BROKER)
    yield nc
    await nc.close()


@pytest.fixture
async def stream(client: nats.aio.client.Client) -> AsyncIterator[Stream]:
    s = Stream(client, f"HOOKPOST_TEST_{uuid.uuid4().hex[:8].upper()}")
    yield s
    try:
        await s.js.delete_stream(s.name)
    except nats.js.errors.NotFoundError:
        pass


@pytest.fixture
async def created(stream: Stream) -> Stream:
    await stream.create()
    return stream


def url_for(stream: Stream, base: str = BROKER) -> str:
    return f"{base}?subject={stream.subject}"


async def test_published_message_is_acked_arrives_once_and_verifies(
    hp: Hookpost, created: Stream
) -> None:
    out = await brokers.arrives_once_and_verifies(hp, url_for(created), created)
    assert created.name in out["attempt"]["response_body"]  # "stored in stream ... sequence 1"


async def test_server_down_fails_clearly_then_delivers(hp: Hookpost, created: Stream) -> None:
    down = url_for(created, f"nats://127.0.0.1:{brokers.closed_port()}")
    fix = brokers.patch_url(hp, url_for(created))
    await brokers.fails_then_recovers(hp, down, created, "broker unreachable", fix)


async def test_no_stream_for_the_subject_fails_then_delivers(hp: Hookpost, stream: Stream) -> None:
    async def create(_pid: str, _ep: str) -> None:
        await stream.create()

    error = f"no stream captures subject '{stream.subject}'"
    await brokers.fails_then_recovers(hp, url_for(stream), stream, error, create)


async def test_an_ack_that_never_comes_is_a_stream_ack_timeout(
    hp: Hookpost, client: nats.aio.client.Client, stream: Stream
) -> None:
    # A plain subscriber answers nothing: JetStream's publish waits for an ack in vain.
    silent = await client.subscribe(stream.subject)
    await client.flush()

    async def replace_with_stream(_pid: str, _ep: str) -> None:
        await silent.unsubscribe()
        await stream.create()

    url = url_for(stream)
    await brokers.fails_then_recovers(
        _with_timeout(hp), url, stream, "stream ack timeout", replace_with_stream
    )


def _with_timeout(hp: Hookpost) -> Hookpost:
    """``hp`` whose endpoints wait one second (the default is longer)."""
    endpoint = hp.endpoint

    async def short(project_id: str, url: str, **fields: object) -> dict[str, object]:
        return await endpoint(project_id, url, timeout_seconds=1, **fields)

    hp.endpoint = short  # type: ignore[method-assign]
    return hp


async def test_fifo_order_holds(hp: Hookpost, created: Stream) -> None:
    await brokers.keeps_fifo_order(hp, url_for(created), created)


async def test_resend_publishes_again(hp: Hookpost, created: Stream) -> None:
    await brokers.resends(hp, url_for(created), created)


async def test_subject_defaults_to_the_event_type(hp: Hookpost, stream: Stream) -> None:
    stream.subject = "user.created"
    try:
        await stream.create()
    except nats.js.errors.BadRequestError:
        pytest.skip("another stream already captures user.created on this server")
    await brokers.arrives_once_and_verifies(hp, BROKER, stream)
