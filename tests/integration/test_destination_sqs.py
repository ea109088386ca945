"""Amazon SQS destinations against a moto server this module starts on 127.0.0.1.

moto accepts any credentials unless its IAM emulation is switched on for the
whole process, so there is no bad-credentials case here; AWS's refusals map
to ``authentication failed`` like the other brokers' (``_sqs.describe``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests import brokers
from tests.brokers import Message, hp
from tests.conftest import Hookpost, free_port

pytest.importorskip("aiobotocore", reason="the sqs extra is not installed")
moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed")

from aiobotocore.session import get_session  # noqa: E402

__all__ = ["hp"]

ACCOUNT = "123456789012"
REGION = "us-east-1"
KEYS = {"aws_access_key_id": "AKIDTEST", "aws_secret_access_key": "test-secret-key"}


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


class Queue:
    """An SQS queue in moto, read with aiobotocore (attributes are the headers)."""

    def __init__(self, client: Any, endpoint: str, name: str) -> None:
        self.client = client
        self.endpoint = endpoint
        self.name = name
        self.url = f"{endpoint}/{ACCOUNT}/{name}"
        self.attributes: list[dict[str, str]] = []

    async def create(self) -> None:
        attributes = {"FifoQueue": "true"} if self.name.endswith(".fifo") else {}
        await self.client.create_queue(QueueName=self.name, Attributes=attributes)

    async def receive(self, wait: int) -> list[Message]:
        answer = await self.client.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        )
        got = []
        for m in answer.get("Messages", []):
            headers = {k: v["StringValue"] for k, v in m.get("MessageAttributes", {}).items()}
            got.append(Message(m["Body"].encode(), headers))
            self.attributes.append(m.get("Attributes", {}))
            await self.client.delete_message(QueueUrl=self.url, ReceiptHandle=m["ReceiptHandle"])
        return got

    async def take(self, n: int, timeout: float = 10) -> list[Message]:
        got: list[Message] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while len(got) < n:
            assert asyncio.get_running_loop().time() < deadline, f"{len(got)} of {n} arrived"
            got += await self.receive(wait=1)
        assert len(got) == n, f"{len(got)} messages arrived, {n} expected"
        return got

    async def none_more(self, wait: float = 0.3) -> None:
        await asyncio.sleep(wait)
        assert not await self.receive(wait=0), "a message arrived twice"


@pytest.fixture
async def client(moto: str) -> AsyncIterator[Any]:
    async with get_session().create_client(
        "sqs", region_name=REGION, endpoint_url=moto, **KEYS
    ) as c:
        yield c


def new_queue(client: Any, moto: str, fifo: bool = False) -> Queue:
    return Queue(client, moto, f"hookpost-test-{uuid.uuid4().hex[:8]}" + (".fifo" if fifo else ""))


@pytest.fixture
async def queue(client: Any, moto: str) -> Queue:
    q = new_queue(client, moto)
    await q.create()
    return q


def url_for(queue: Queue, endpoint: str | None = None) -> str:
    creds = f"{KEYS['aws_access_key_id']}:{KEYS['aws_secret_access_key']}@"
    return (
        f"sqs://{creds}sqs.{REGION}.amazonaws.com/{ACCOUNT}/{queue.name}"
        f"?endpoint_url={endpoint or queue.endpoint}"
    )


async def test_sent_message_arrives_once_and_verifies(hp: Hookpost, queue: Queue) -> None:
    out = await brokers.arrives_once_and_verifies(hp, url_for(queue), queue)
    assert "stored by SQS as message" in out["attempt"]["response_body"]


async def test_secret_key_sealed_masked_and_kept_on_update(hp: Hookpost, queue: Queue) -> None:
    await brokers.masked_everywhere(hp, url_for(queue), KEYS["aws_secret_access_key"], queue)


async def test_endpoint_down_fails_clearly_then_delivers(hp: Hookpost, queue: Queue) -> None:
    down = url_for(queue, f"http://127.0.0.1:{brokers.closed_port()}")
    fix = brokers.patch_url(hp, url_for(queue))
    await brokers.fails_then_recovers(hp, down, queue, "broker unreachable", fix)


async def test_missing_queue_fails_clearly_then_delivers(
    hp: Hookpost, client: Any, moto: str
) -> None:
    q = new_queue(client, moto)

    async def create(_pid: str, _ep: str) -> None:
        await q.create()

    await brokers.fails_then_recovers(hp, url_for(q), q, "queue does not exist", create)


async def test_fifo_queue_keeps_order_groups_by_endpoint_dedups_by_event(
    hp: Hookpost, client: Any, moto: str
) -> None:
    q = new_queue(client, moto, fifo=True)
    await q.create()
    await brokers.keeps_fifo_order(hp, url_for(q), q)
    groups = {a["MessageGroupId"] for a in q.attributes}
    assert len(groups) == 1 and groups.pop().startswith("ep_")
    assert [a["MessageDeduplicationId"] for a in q.attributes] == [
        f"evt_fifo_{i}" for i in range(8)
    ]


async def test_resend_sends_again(hp: Hookpost, queue: Queue) -> None:
    await brokers.resends(hp, url_for(queue), queue)
