"""An oversize request gets its 413, whatever the client.

A client that sends its whole body before reading the answer (``http.client``,
``urllib``, ``requests``; only curl waits for ``100 Continue``) must read the
413 and its JSON, not a connection reset: the server answers, then reads and
discards the rest of the body before it closes. Tried over real HTTP against
uvicorn with both of its HTTP/1.1 implementations, at several sizes above the
limit, with a Content-Length and chunked without one, on every kind of route
that takes a body: publish, endpoint create and a dashboard form post.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator

import pytest
import uvicorn

from hookpost.api.app import create_app
from hookpost.config import Settings
from hookpost.core.clock import ManualClock
from hookpost.store import Store
from tests.conftest import ADMIN, LOOPBACK, TEST_SECRET_KEY, free_port

LIMIT = 1_048_576  # the default HOOKPOST_MAX_BODY_BYTES

SIZES = {
    "just-above": LIMIT + 1,
    "2x": 2 * LIMIT,
    "6MB": 6_000_000,
    "20MB": 20_000_000,
}

#: route kind -> (path, content type); the project need not exist: the limit
#: is checked before routing, authentication and parsing.
ROUTES = {
    "publish": ("/api/v1/projects/p_none/events", "application/json"),
    "endpoint-create": ("/api/v1/projects/p_none/endpoints", "application/json"),
    "dashboard-form": ("/login", "application/x-www-form-urlencoded"),
}


async def _serve(url: str, http_impl: str) -> AsyncIterator[int]:
    port = free_port()
    cfg = Settings(
        database_url=url,
        admin_token=ADMIN,
        port=port,
        allowed_networks=LOOPBACK,
        secret_key=TEST_SECRET_KEY,
    )
    store = Store.from_url(url, ManualClock())
    app = create_app(cfg, store=store, run_workers=False)
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", http=http_impl
        )
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started
    yield port
    server.should_exit = True
    await task
    await store.close()


@pytest.fixture(params=["h11", "httptools"])
async def server_port(request: pytest.FixtureRequest, sqlite_url: str) -> AsyncIterator[int]:
    async for port in _serve(sqlite_url, request.param):
        yield port


def _body(content_type: str, size: int) -> bytes:
    if content_type == "application/json":
        head, tail = b'{"event_type": "a.b", "payload": {"x": "', b'"}}'
    else:
        head, tail = b"token=", b""
    return head + b"x" * (size - len(head) - len(tail)) + tail


def _chunks(body: bytes, size: int = 65536) -> Iterator[bytes]:
    for i in range(0, len(body), size):
        yield body[i : i + size]


def _post_http_client(
    port: int, path: str, body: bytes, ctype: str, chunked: bool, connection: str
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {
        "Content-Type": ctype,
        "Authorization": f"Bearer {ADMIN}",
        "Accept": "application/json",
        "Connection": connection,
    }
    try:
        # An iterable body without Content-Length goes out chunked.
        conn.request("POST", path, body=_chunks(body) if chunked else body, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def _post_urllib(
    port: int, path: str, body: bytes, ctype: str
) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=body,
        headers={"Content-Type": ctype, "Authorization": f"Bearer {ADMIN}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


def _assert_413(status: int, headers: dict[str, str], raw: bytes) -> None:
    assert status == 413, raw[:300]
    assert headers["content-type"].startswith("application/json")
    answer = json.loads(raw)
    assert answer["error"] == "payload_too_large"
    assert str(LIMIT) in answer["message"]


@pytest.mark.parametrize("route", list(ROUTES))
@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@pytest.mark.parametrize("connection", ["close", "keep-alive"])
async def test_oversize_body_gets_413_not_a_reset(
    server_port: int, route: str, size: str, framing: str, connection: str
) -> None:
    path, ctype = ROUTES[route]
    body = _body(ctype, SIZES[size])
    got = await asyncio.to_thread(
        _post_http_client, server_port, path, body, ctype, framing == "chunked", connection
    )
    _assert_413(*got)


@pytest.mark.parametrize("route", list(ROUTES))
@pytest.mark.parametrize("size", ["2x", "6MB"])
async def test_urllib_sees_the_413(server_port: int, route: str, size: str) -> None:
    path, ctype = ROUTES[route]
    got = await asyncio.to_thread(_post_urllib, server_port, path, _body(ctype, SIZES[size]), ctype)
    _assert_413(*got)


def _raw_exchange(port: int, head: bytes, then: bytes = b"") -> tuple[bytes, float]:
    """Send ``head`` (and ``then``), read until the server closes; (answer, seconds)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        started = time.monotonic()
        sock.sendall(head + then)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer, time.monotonic() - started


def _status_and_json(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


async def test_waiting_for_100_continue_gets_the_413_at_once(server_port: int) -> None:
    """curl's way: headers with Expect, no body until told; the 413 comes instead."""
    head = (
        b"POST /api/v1/projects/p_none/events HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nExpect: 100-continue\r\n"
        b"Content-Length: 6000000\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server_port), timeout=30) as sock:
        sock.sendall(head)
        answer = b""
        while b"}" not in answer:
            chunk = await asyncio.to_thread(sock.recv, 65536)
            assert chunk, answer
            answer += chunk
    assert not answer.startswith(b"HTTP/1.1 100"), answer
    _assert_413(*_status_and_json(answer))


@pytest.mark.parametrize("stall", ["after-headers", "mid-body"])
async def test_lingering_is_bounded(
    server_port: int, stall: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client that stops sending still gets its 413, and the connection closes."""
    monkeypatch.setattr("hookpost.web.errors.LINGER_IDLE_SECONDS", 0.3)
    head = (
        b"POST /api/v1/projects/p_none/events HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nContent-Length: 50000000\r\n\r\n"
    )
    then = b"x" * 100_000 if stall == "mid-body" else b""
    answer, seconds = await asyncio.to_thread(_raw_exchange, server_port, head, then)
    _assert_413(*_status_and_json(answer))
    assert seconds < 5
