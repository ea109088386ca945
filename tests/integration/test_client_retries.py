"""The client's retries through a flaky proxy of its own calls, against a live hookpost.

The proxy is a small HTTP proxy on 127.0.0.1 (the client reaches it with its
``proxy=`` option) that follows a plan per request: ``pass`` forwards to
hookpost, ``503`` answers 503 with ``Retry-After`` without forwarding, and
``lose`` forwards the request -- so hookpost makes the change -- then cuts the
connection before the answer, as a dropped response would. The client must
retry with the same ``Idempotency-Key`` and end with the first answer and
exactly one resource created.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest

from hookpost.client import AsyncClient, Client, ConnectionFailed, ServerError
from tests.conftest import Hookpost


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url


@dataclass
class Seen:
    method: str
    target: str
    headers: dict[str, str]
    answer: str


@dataclass
class FlakyProxy:
    plan: list[str]
    seen: list[Seen] = field(default_factory=list)
    url: str = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                step = self.plan.pop(0) if self.plan else "pass"
                self.seen.append(Seen(method, target, headers, step))
                if step == "503":
                    text = b'{"error": "unavailable", "message": "flaky proxy"}'
                    writer.write(
                        b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                        b"Retry-After: 0\r\nContent-Length: %d\r\n\r\n%s" % (len(text), text)
                    )
                    await writer.drain()
                    continue
                forward = {
                    k: v for k, v in headers.items() if k not in ("host", "proxy-connection")
                }
                async with httpx.AsyncClient() as http:
                    r = await http.request(method, target, content=body, headers=forward)
                if step == "lose":
                    writer.close()
                    return
                out = [f"HTTP/1.1 {r.status_code} {r.reason_phrase}"]
                out += [
                    f"{k}: {v}"
                    for k, v in r.headers.items()
                    if k.lower() not in ("content-length", "transfer-encoding", "connection")
                ]
                out.append(f"Content-Length: {len(r.content)}")
                writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + r.content)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[FlakyProxy]:
    flaky = FlakyProxy(plan=[])
    server = await asyncio.start_server(flaky.handle, "127.0.0.1", 0)
    flaky.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    async with server:
        yield flaky
        server.close()


async def test_lost_answers_and_503s_never_create_twice(
    hookpost_noworkers: Hookpost, proxy: FlakyProxy
) -> None:
    hp = hookpost_noworkers
    pid, key = await hp.project()
    proxy.plan = ["lose", "503", "pass"]
    async with AsyncClient(
        hp.base_url, token=key, proxy=proxy.url, backoff=0.01, max_retries=3
    ) as client:
        ep = await client.create_endpoint(pid, "http://127.0.0.1:9/hook", rate_limit=1.5)
        assert ep["rate_limit"] == 1.5 and ep["secret"].startswith("whsec_")
        listed = (await client.list_endpoints(pid))["data"]
    assert [e["id"] for e in listed] == [ep["id"]]  # created once, though sent three times
    posts = [s for s in proxy.seen if s.method == "POST"]
    assert [s.answer for s in posts] == ["lose", "503", "pass"]
    assert len({s.headers["idempotency-key"] for s in posts}) == 1
    assert posts[0].target.startswith(hp.base_url)  # absolute form: it went through the proxy

    proxy.plan = ["lose", "pass"]
    async with AsyncClient(hp.base_url, token=key, proxy=proxy.url, backoff=0.01) as client:
        ev = await client.publish(pid, "user.created", {"n": 1})  # no event_id of ours
        events = (await client.list_events(pid))["data"]
    assert [e["id"] for e in events] == [ev["id"]]


async def test_retries_stop_at_max_retries(hookpost_noworkers: Hookpost, proxy: FlakyProxy) -> None:
    hp = hookpost_noworkers
    pid, key = await hp.project()
    proxy.plan = ["503"] * 3

    def blocking() -> None:
        with Client(hp.base_url, token=key, proxy=proxy.url, backoff=0, max_retries=2) as client:
            with pytest.raises(ServerError) as err:
                client.create_endpoint(pid, "http://127.0.0.1:9/hook")
            assert err.value.status == 503 and err.value.retry_after == 0
        proxy.plan = ["lose"] * 2
        with Client(hp.base_url, token=key, proxy=proxy.url, backoff=0, max_retries=1) as client:
            with pytest.raises(ConnectionFailed):
                client.create_endpoint(pid, "http://127.0.0.1:9/other")

    await asyncio.to_thread(blocking)
    assert len([s for s in proxy.seen if s.method == "POST"]) == 5
    r = await hp.http.get(f"/api/v1/projects/{pid}/endpoints")
    # The 503s never reached hookpost; both lost tries of the second call carried
    # one key, so they created one endpoint between them.
    assert [e["url"] for e in r.json()["data"]] == ["http://127.0.0.1:9/other"]


async def test_a_callers_own_key_survives_a_restart(hookpost_noworkers: Hookpost) -> None:
    """Two clients (two processes, say) sending one request with one key: one change."""
    hp = hookpost_noworkers
    pid, key = await hp.project()
    answers = []
    for _ in range(2):
        async with AsyncClient(hp.base_url, token=key) as client:
            answers.append(
                await client.publish(pid, "order.paid", {"order": 42}, idempotency_key="order-42")
            )
    assert answers[0] == answers[1]
    events = (await hp.http.get(f"/api/v1/projects/{pid}/events")).json()["data"]
    assert [e["id"] for e in events] == [answers[0]["id"]]
