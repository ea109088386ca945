"""The sender's fast paths answer as the slow ones, over tables of inputs.

- **The body written at once** (:func:`hookpost.delivery.wire._eager_body_writer`,
  Python 3.11): a coroutine run to its first wait, then resumed in a task, ends as
  the same coroutine run by a task from the start -- its result, its exception, its
  cancellation; and a request sent that way puts the same bytes on the wire and
  records the same answer as aiohttp's own body-writer task, for bodies from empty
  to larger than the transport's buffer (whose writer must wait, the task path).
- **The answer read at once** (:meth:`Sender._read_excerpt`): a response whose end
  has arrived is read without reads; the excerpt is what the read-by-read loop
  (:meth:`Sender._read_chunks`) returns from the same bytes, at every size around
  the excerpt's.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import aiohttp
import pytest

from hookpost.core.netguard import NetGuard
from hookpost.delivery import wire
from hookpost.delivery.sender import Sender, SendResult
from tests.rawhttp import RawReceiver, raw_receiver

# -- a coroutine run to its first wait, then in a task ------------------------------


async def _returns() -> str:
    return "done"


async def _raises() -> str:
    raise ValueError("at once")


async def _yields_then_returns() -> str:
    for _ in range(3):
        await asyncio.sleep(0)  # a bare yield
    return "after yields"


async def _waits_then_returns() -> str:
    fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_later(0.01, fut.set_result, "woken")
    got = await fut
    await asyncio.sleep(0.001)
    return got + " and slept"


async def _waits_then_raises() -> str:
    await asyncio.sleep(0.001)
    raise KeyError("later")


async def _catches_the_cancel() -> str:
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        return "caught"
    return "slept"


async def _is_cancelled() -> str:
    await asyncio.sleep(10)
    return "slept"


#: (coroutine function, cancel it after this many seconds, or None)
CORO_TABLE: list[tuple[Callable[[], Coroutine[Any, Any, str]], float | None]] = [
    (_returns, None),
    (_raises, None),
    (_yields_then_returns, None),
    (_waits_then_returns, None),
    (_waits_then_raises, None),
    (_catches_the_cancel, 0.01),
    (_is_cancelled, 0.01),
    # cancelled before the task's first step (0.0): the eager coroutine has already
    # reached its first wait, so it ends as a task cancelled there does -- the cancel
    # reaches the coroutine itself, not a wrapper around it
    (_catches_the_cancel, 0.0),
    (_is_cancelled, 0.0),
    (_waits_then_returns, 0.0),
]


async def _ending(fut: asyncio.Future[str], cancel_after: float | None) -> tuple[str, Any]:
    if cancel_after is not None:
        await asyncio.sleep(cancel_after)
        fut.cancel()
    try:
        return ("result", await fut)
    except asyncio.CancelledError:
        return ("cancelled", None)
    except Exception as exc:
        return ("raised", (type(exc), exc.args))


@pytest.mark.parametrize(("make", "cancel_after"), CORO_TABLE)
async def test_a_coroutine_started_at_once_ends_as_in_a_task(
    monkeypatch: pytest.MonkeyPatch,
    make: Callable[[], Coroutine[Any, Any, str]],
    cancel_after: float | None,
) -> None:
    loop = asyncio.get_running_loop()
    # The reference task: for 0.0, cancelled once it has reached its first wait
    # (asyncio.sleep(0) lets it take its first step), where the eager one starts.
    want = await _ending(asyncio.Task(make()), cancel_after)
    monkeypatch.setattr(wire, "_BODY_WRITER", make.__code__)
    eager = wire._eager_body_writer(loop, make())
    if cancel_after == 0.0:
        eager.cancel()  # before the task's first step
        cancel_after = None
    if make in (_returns, _raises):
        assert eager.done()  # ran to its end before any turn of the loop
    else:
        assert isinstance(eager, asyncio.Task)
    assert await _ending(eager, cancel_after) == want


@pytest.mark.parametrize(
    "make", [_returns, _yields_then_returns, _waits_then_returns, _waits_then_raises]
)
async def test_a_resumed_coroutine_awaited_ends_as_the_coroutine(
    make: Callable[[], Coroutine[Any, Any, str]],
) -> None:
    """Awaited rather than run by a task, the rest of a started coroutine still ends
    as the whole coroutine does (``await`` drives it through ``send`` and ``throw``)."""
    want = await _ending(asyncio.ensure_future(make()), None)
    coro = make()
    try:
        first = coro.send(None)
    except StopIteration as stop:
        assert ("result", stop.value) == want
        return

    async def rest() -> str:
        return str(await wire._Resumed(coro, first))

    assert await _ending(asyncio.ensure_future(rest()), None) == want


async def test_any_other_coroutine_gets_an_ordinary_task() -> None:
    task = wire._eager_body_writer(asyncio.get_running_loop(), _returns())
    assert isinstance(task, asyncio.Task) and not task.done()
    assert await task == "done"


# -- a request sent with the body written at once ------------------------------------


@pytest.fixture
async def raw() -> AsyncIterator[RawReceiver]:
    async with raw_receiver() as receiver:
        yield receiver


#: Request bodies: none, tiny, a typical event, past the transport's 64 KiB
#: high-water mark, past what loopback's socket buffers take at once (the body
#: writer waits for the socket).
BODIES = [b"", b"x", b'{"type":"order.paid","data":{"id":1}}' * 30, b"a" * 300_000, b"b" * 2**25]


async def _send_all(raw: RawReceiver) -> list[tuple[Any, ...]]:
    sent: list[tuple[Any, ...]] = []
    async with Sender(guard=NetGuard.from_text("127.0.0.0/8")) as sender:
        for i, body in enumerate(BODIES):
            headers = {"Content-Type": "application/json", "webhook-id": f"msg_{i}"}
            before = len(raw.requests)
            result = await sender.post(raw.url(f"/ok/{i}"), body, headers, 10.0)
            [got] = (await raw.wait_for(before + 1))[before:]
            sent.append((got.line, got.headers, got.body, _recorded(result)))
    return sent


def _recorded(result: SendResult) -> tuple[Any, ...]:
    return (
        result.status_code,
        result.response_headers,
        result.response_body,
        result.error,
        result.url,
        result.request_headers,
    )


async def test_a_body_written_at_once_goes_out_as_aiohttps_task_writes_it(
    raw: RawReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[bool] = []
    eager = wire._eager_body_writer

    def watched(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> Any:
        fut = eager(loop, coro, **kwargs)
        started.append(fut.done())
        return fut

    monkeypatch.setattr(wire, "_eager_body_writer", watched)
    at_once = await _send_all(raw)
    monkeypatch.setattr(wire, "_EAGER_BY_AIOHTTP", True)  # aiohttp's own task
    by_task = await _send_all(raw)
    assert at_once == by_task
    assert [len(body) for _line, _headers, body, _result in at_once] == [len(b) for b in BODIES]
    if sys.version_info < (3, 12):
        # A short body is written before send returns; one bigger than the
        # transport's buffer waits for the socket, in a task.
        assert started[1] is True and started[-1] is False


# -- the answer read at once ---------------------------------------------------------


class _Protocol:
    """What a StreamReader asks of its protocol while it is fed and read."""

    connected = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self, **_how: Any) -> None:
        pass


def _stream(chunks: list[bytes], eof: bool) -> aiohttp.StreamReader:
    stream = aiohttp.StreamReader(_Protocol(), 2**16, loop=asyncio.get_running_loop())  # type: ignore[arg-type]
    for chunk in chunks:
        stream.feed_data(chunk)
    if eof:
        stream.feed_eof()
    return stream


class _Response:
    def __init__(self, content: aiohttp.StreamReader) -> None:
        self.content = content


EXCERPT = 64
#: Answers as the chunks they arrive in: none, empty, around the excerpt's size,
#: in one chunk or many.
ANSWERS: list[list[bytes]] = [
    [],
    [b""],
    [b"ok"],
    [b"a" * (EXCERPT - 1)],
    [b"a" * EXCERPT],
    [b"a" * (EXCERPT + 1)],
    [b"a" * 10] * 7,
    [b"x" * 30, b"y" * 30, b"z" * 30],
    [b"\x00\xff" * 100],
]


@pytest.mark.parametrize("chunks", ANSWERS)
async def test_an_answer_read_at_once_is_the_excerpt_read_by_read(chunks: list[bytes]) -> None:
    sender = Sender(excerpt_bytes=EXCERPT)
    whole = _stream(chunks, eof=True)
    fast = await sender._read_excerpt(_Response(whole))  # type: ignore[arg-type]
    slow = await sender._read_chunks(_stream(chunks, eof=True))
    assert fast == slow == b"".join(chunks)[:EXCERPT]
    # ... and what is left says the same about the answer's end (``complete``).
    reread = _stream(chunks, eof=True)
    await sender._read_chunks(reread)
    assert whole.at_eof() == reread.at_eof()


async def test_an_answer_still_arriving_is_read_read_by_read() -> None:
    sender = Sender(excerpt_bytes=EXCERPT)
    stream = _stream([b"part one, "], eof=False)
    loop = asyncio.get_running_loop()
    loop.call_later(0.01, stream.feed_data, b"part two")
    loop.call_later(0.02, stream.feed_eof)
    got = await sender._read_excerpt(_Response(stream))  # type: ignore[arg-type]
    assert got == b"part one, part two"
