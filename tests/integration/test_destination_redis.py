"""Redis Streams destinations against the real server on 127.0.0.1:6379."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from tests import brokers
from tests.brokers import Message, hp
from tests.conftest import Hookpost

aioredis = pytest.importorskip("redis.asyncio", reason="the redis extra is not installed")

pytestmark = brokers.needs_broker("Redis", 6379)
__all__ = ["hp"]

BROKER = "redis://127.0.0.1:6379/0"


class Stream:
    """A fresh stream, read from its start with XREAD."""

    def __init__(self, client: aioredis.Redis, name: str) -> None:
        self.client = client
        self.name = name
        self.last = "0"

    async def take(self, n: int, timeout: float = 10) -> list[Message]:
        got: list[Message] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while len(got) < n:
            left = deadline - asyncio.get_running_loop().time()
            assert left > 0, f"only {len(got)} of {n} entries arrived"
            answer = await self.client.xread({self.name: self.last}, count=n, block=100)
            for _stream, entries in answer:
                for entry_id, fields in entries:
                    self.last = entry_id
                    headers = {k.decode(): v.decode() for k, v in fields.items() if k != b"body"}
                    got.append(Message(fields[b"body"], headers))
        assert len(got) == n, f"{len(got)} entries arrived, {n} expected"
        return got

    async def none_more(self, wait: float = 0.3) -> None:
        await asyncio.sleep(wait)
        assert not await self.client.xread({self.name: self.last}), "an entry arrived twice"


@pytest.fixture
async def stream() -> AsyncIterator[Stream]:
    client = aioredis.Redis(host="127.0.0.1", port=6379)
    s = Stream(client, f"hookpost.test.{uuid.uuid4().hex[:8]}")
    yield s
    await client.delete(s.name)
    await client.aclose()


def url_for(stream: Stream, base: str = BROKER, extra: str = "") -> str:
    return f"{base}?stream={stream.name}{extra}"


async def test_published_entry_arrives_once_and_verifies(hp: Hookpost, stream: Stream) -> None:
    await brokers.arrives_once_and_verifies(hp, url_for(stream), stream)


async def test_maxlen_trims_the_stream(hp: Hookpost, stream: Stream) -> None:
    pid, _ = await hp.project()
    await hp.endpoint(pid, url_for(stream, extra="&maxlen=1"))
    for i in range(250):
        await hp.publish(pid, "user.created", payload={"i": i})
    for _ in range(400):
        info = (
            await stream.client.xinfo_stream(stream.name)
            if await stream.client.exists(stream.name)
            else {}
        )
        if info.get("entries-added") == 250:
            break
        await asyncio.sleep(0.05)
    assert info.get("entries-added") == 250, info
    assert await stream.client.xlen(stream.name) < 250  # MAXLEN ~ trims whole nodes


async def test_password_sealed_masked_and_kept_on_update(hp: Hookpost, stream: Stream) -> None:
    url = url_for(stream, "redis://default:s3cr3t-pw@127.0.0.1:6379/0")
    await brokers.masked_everywhere(hp, url, "s3cr3t-pw", stream)


async def test_server_down_fails_clearly_then_delivers(hp: Hookpost, stream: Stream) -> None:
    down = url_for(stream, f"redis://127.0.0.1:{brokers.closed_port()}/0")
    fix = brokers.patch_url(hp, url_for(stream))
    await brokers.fails_then_recovers(hp, down, stream, "broker unreachable", fix)


async def test_bad_credentials_fail_clearly_then_deliver(hp: Hookpost, stream: Stream) -> None:
    bad = url_for(stream, "redis://nobody:wrong@127.0.0.1:6379/0")
    fix = brokers.patch_url(hp, url_for(stream))
    await brokers.fails_then_recovers(hp, bad, stream, "authentication failed", fix)


async def test_missing_stream_with_nomkstream_fails_then_delivers(
    hp: Hookpost, stream: Stream
) -> None:
    async def create_stream(_pid: str, _ep: str) -> None:
        await stream.client.xgroup_create(stream.name, "consumers", id="$", mkstream=True)

    url = url_for(stream, extra="&nomkstream=1")
    await brokers.fails_then_recovers(hp, url, stream, "does not exist", create_stream)


async def test_fifo_order_holds(hp: Hookpost, stream: Stream) -> None:
    await brokers.keeps_fifo_order(hp, url_for(stream), stream)


async def test_resend_adds_again(hp: Hookpost, stream: Stream) -> None:
    await brokers.resends(hp, url_for(stream), stream)


async def test_a_connection_the_server_closed_is_replaced_without_a_failed_attempt(
    hp: Hookpost, stream: Stream
) -> None:
    """A broker restart drops the pooled connection: the next delivery reconnects."""
    pid, _ = await hp.project()
    await hp.endpoint(pid, url_for(stream))
    await hp.publish(pid, "user.created", event_id="evt_before")
    await stream.take(1)
    killed = 0
    for client in await stream.client.client_list():
        if client.get("name") == "hookpost":
            killed += await stream.client.client_kill_filter(_id=client["id"])
    assert killed >= 1  # the worker's pooled connection is gone
    await hp.publish(pid, "user.created", event_id="evt_after")
    await stream.take(1)
    after = [d for d in await hp.deliveries(pid) if d["event_id"] == "evt_after"]
    done = await hp.wait_status(pid, after[0]["id"], "succeeded")
    assert done["attempt_count"] == 1
