"""A receiver on 127.0.0.1 that speaks raw bytes: it sees and answers anything.

aiohttp's test server parses requests and writes only well-formed answers;
what a broken or hostile receiver sends (NUL bodies, bytes that are not
UTF-8 in headers, garbage status lines) and what exactly arrived on the wire
(the request line and header block, byte for byte) need a plain TCP server.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@dataclass
class RawRequest:
    line: bytes  #: the request line, without CRLF
    headers: list[tuple[bytes, bytes]]  #: in the order they arrived, as sent
    body: bytes

    @property
    def target(self) -> bytes:
        return self.line.split(b" ")[1]


@dataclass
class RawReceiver:
    """``on(name, answer)`` answers requests whose path starts ``/name`` with ``answer``.

    The connection stays open after an answer that says where it ends
    (``Content-Length`` or chunked, no ``Connection: close``), like a
    keep-alive server; otherwise it is closed, which ends the answer.
    """

    port: int = 0
    requests: list[RawRequest] = field(default_factory=list)
    answers: dict[bytes, bytes] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def on(self, name: str, answer: bytes) -> str:
        self.answers[name.encode()] = answer
        return self.url(f"/{name}")

    def answer_for(self, target: bytes) -> bytes:
        name = target.lstrip(b"/").split(b"/")[0].split(b"?")[0]
        return self.answers.get(name, OK)

    async def wait_for(self, n: int, timeout: float = 10) -> list[RawRequest]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {n} requests, got {len(self.requests)}")
            await asyncio.sleep(0.02)
        return self.requests

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            for _ in range(1000):  # requests per connection, bounded
                request = await _read_request(reader)
                if request is None:
                    return
                self.requests.append(request)
                answer = self.answer_for(request.target)
                writer.write(answer)
                await writer.drain()
                if not _keeps_alive(answer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


async def _read_request(reader: asyncio.StreamReader) -> RawRequest | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    line, *lines = head[:-4].split(b"\r\n")
    headers = [(n, v.strip()) for n, _, v in (h.partition(b":") for h in lines)]
    length = next((int(v) for n, v in headers if n.lower() == b"content-length"), 0)
    body = await reader.readexactly(length)
    return RawRequest(line, headers, body)


def _keeps_alive(answer: bytes) -> bool:
    head = answer.partition(b"\r\n\r\n")[0].lower()
    framed = b"content-length:" in head or b"transfer-encoding: chunked" in head
    return framed and b"connection: close" not in head and head.startswith(b"http/1.1 ")


@contextlib.asynccontextmanager
async def raw_receiver() -> AsyncIterator[RawReceiver]:
    receiver = RawReceiver()
    server = await asyncio.start_server(receiver.serve, "127.0.0.1", 0)
    receiver.port = server.sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2)
