"""The request exactly as it goes out, and the record of it.

Docs and dashboard promise an attempt shows "the request exactly as sent".
Two things stood between that promise and aiohttp's defaults:

- **The URL.** ``yarl.URL(url)`` normalizes: ``%2F`` becomes ``/``, ``%3F``
  ``?`` and ``%3A`` ``:`` in the query, ``/a/../b`` becomes ``/b`` and a
  trailing ``?`` disappears. A receiver that routes or signs on the raw path
  then sees a request nobody registered. The registered URL was validated at
  registration, so its request target (path and query) is sent byte for byte:
  :func:`request_url` hands aiohttp a URL whose encoded path *is* that target,
  which aiohttp writes to the request line unchanged. Only what cannot go on
  a request line changes: non-ASCII characters are percent-encoded as UTF-8,
  an IDN host is punycoded, the fragment is dropped (no client sends it). The
  host still goes through the connector, so the SSRF guard and pinned DNS
  (:mod:`hookpost.delivery.egress`) see every connection as before.
- **The headers.** aiohttp adds ``Host``, ``Accept``, ``Accept-Encoding``,
  ``User-Agent`` and ``Content-Length`` to what hookpost asks for.
  :class:`HeadersSent` keeps the header block aiohttp actually wrote, in
  order, including for a request whose answer never came: the session's
  requests are :class:`RecordingRequest` s, which hand their final headers to
  the :class:`HeadersSent` the caller is :meth:`~HeadersSent.watching` with.
  (A ``TraceConfig`` did this before; any trace makes aiohttp await a signal
  at each of a request's steps, which cost about a quarter of the sender's
  time per request.)

One more thing happens in :class:`RecordingRequest`: **the request body is
written at once**. aiohttp writes a body in a task of its own; on Python 3.12
and later it starts that task eagerly (a bytes body is written, headers and
body in one ``write``, before ``send`` returns, and no task is scheduled), but
on 3.11 it is an ordinary task: one more task created, scheduled and stepped
per request, about 5% of the worker's event-loop thread at fan-out 10. On 3.11
:func:`_eager_body_writer` does for that one task what 3.12 does: it runs the
body writer until its first real wait -- for a bytes body, to the end -- and
only a writer that must wait (a paused transport, ``Expect: 100-continue``)
goes on in a task, from where it stopped.
"""

from __future__ import annotations

import asyncio
import collections.abc
import re
import sys
from collections.abc import Coroutine, Iterable
from contextvars import ContextVar, Token
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

__all__ = ["HeadersSent", "RecordingRequest", "joined", "request_url"]

_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _percent_encode(match: re.Match[str]) -> str:
    return quote(match.group(), safe="")


def request_url(url: str) -> tuple[URL, str]:
    """The URL to hand aiohttp, and the URL to record: the registered one as sent.

    ``http://h:1/a%2Fb/../c?x=%3F`` goes out as ``POST /a%2Fb/../c?x=%3F``,
    and is recorded as it was registered.
    """
    start = url.find("://")
    start = start + 3 if start >= 0 else 0
    cut = min((i for i in (url.find(c, start) for c in "/?#") if i >= 0), default=len(url))
    origin, target = url[:cut], url[cut:].partition("#")[0]
    target = _NON_ASCII.sub(_percent_encode, target)
    if not target.startswith("/"):
        target = "/" + target  # ``http://h?x=1`` asks for ``/?x=1``
    base = URL(origin)
    wire = URL.build(scheme=base.scheme, authority=base.raw_authority, path=target, encoded=True)
    return wire, origin + target


def joined(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers as a dict in wire order; a repeated name's values join with ``, `` (RFC 9110)."""
    out: dict[str, str] = {}
    for name, value in items:
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


class HeadersSent:
    """The header block of one request as aiohttp wrote it (see :class:`RecordingRequest`)."""

    __slots__ = ("_token", "headers")

    def __init__(self) -> None:
        self.headers: dict[str, str] | None = None
        self._token: Token[HeadersSent | None] | None = None

    def watching(self) -> HeadersSent:
        """While inside (``with``), a request this task sends writes its headers here.

        A context manager of its own rather than a generator's: one is entered per
        attempt."""
        return self

    def __enter__(self) -> HeadersSent:
        if self._token is not None:  # one token slot: a second entry would lose the first
            raise RuntimeError("a HeadersSent is watched by one `with` at a time")
        self._token = _WATCHING.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _WATCHING.reset(self._token)
            self._token = None


#: The :class:`HeadersSent` of the request the current task is sending. aiohttp
#: sends a request inside the caller's task, so the request finds its caller's.
_WATCHING: ContextVar[HeadersSent | None] = ContextVar("hookpost_headers_sent", default=None)


class _Resumed(collections.abc.Coroutine[Any, Any, Any]):
    """The rest of a coroutine that already ran to its first wait, run by a task.

    A coroutine object of its own, handed to the task as it is: its first
    ``send`` answers ``first`` (what the coroutine yielded: the future it waits
    on, or None for a bare yield), and every later ``send``, ``throw`` and
    ``close`` goes on into the coroutine, as if the task had run it from the
    start. So a task cancelled before its first step throws the cancel into the
    coroutine itself, where its cleanup runs (aiohttp's body writer closes the
    connection), as it would in a task of its own -- not into a wrapper that
    never started, leaving the writer to be closed by the garbage collector.
    """

    __slots__ = ("_coro", "_first")

    def __init__(self, coro: Coroutine[Any, Any, Any], first: Any) -> None:
        self._coro = coro
        #: ``(first,)`` until the first step has answered it, then None.
        self._first: tuple[Any] | None = (first,)

    def send(self, value: Any) -> Any:
        if self._first is not None:
            (first,), self._first = self._first, None
            return first
        return self._coro.send(value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        self._first = None
        if val is None and tb is None:
            return self._coro.throw(typ)
        return self._coro.throw(typ, val, tb)  # pragma: no cover - asyncio throws one value

    def close(self) -> None:
        self._first = None
        self._coro.close()

    def __next__(self) -> Any:
        return self.send(None)

    def __iter__(self) -> _Resumed:
        return self

    def __await__(self) -> Any:
        """Itself: ``await`` drives it by ``send``, ``throw`` and ``close``, as a task does."""
        return self


#: The code of aiohttp's body writer, the one coroutine :func:`_eager_body_writer` starts
#: (None if an aiohttp release renames it: then every request takes aiohttp's own path).
_BODY_WRITER = getattr(getattr(aiohttp.ClientRequest, "write_bytes", None), "__code__", None)
#: aiohttp starts the body writer eagerly itself from Python 3.12 on.
_EAGER_BY_AIOHTTP = sys.version_info >= (3, 12) or _BODY_WRITER is None


def _eager_body_writer(
    loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any
) -> asyncio.Future[Any]:
    """A task factory: aiohttp's body writer runs now, up to its first wait.

    Done by then (a bytes body, written): a finished future, which aiohttp drops
    (it keeps a writer task only while it is not done). Waiting: a task that goes
    on from there. Any other coroutine gets the ordinary task.
    """
    if getattr(coro, "cr_code", None) is not _BODY_WRITER:
        return asyncio.Task(coro, loop=loop, **kwargs)
    try:
        first = coro.send(None)
    except StopIteration as stop:
        done: asyncio.Future[Any] = loop.create_future()
        done.set_result(stop.value)
        return done
    except BaseException as exc:  # as the task would have ended (aiohttp never reads it)
        failed: asyncio.Future[Any] = loop.create_future()
        if isinstance(exc, asyncio.CancelledError):
            failed.cancel()
        else:
            failed.set_exception(exc)
        return failed
    return asyncio.Task(_Resumed(coro, first), loop=loop, **kwargs)


class RecordingRequest(aiohttp.ClientRequest):
    """A request that hands the headers it writes to its caller's :class:`HeadersSent`,
    and writes its body at once (see the module docstring).

    ``send`` completes the header block (a default ``Content-Type``, the
    ``Connection`` header) and writes it before it returns or fails: what
    ``self.headers`` holds then is what went on the wire. A request that never
    got a connection never calls ``send``, and records nothing.
    """

    async def send(self, conn: Any) -> aiohttp.ClientResponse:
        try:
            loop = self.loop
            if _EAGER_BY_AIOHTTP or loop.get_task_factory() is not None:
                return await super().send(conn)
            # Only around ``send``: it creates the body writer, and any other task
            # created while it runs (none, unless it waits) is an ordinary one.
            loop.set_task_factory(_eager_body_writer)
            try:
                return await super().send(conn)
            finally:
                loop.set_task_factory(None)
        finally:
            holder = _WATCHING.get()
            if holder is not None:
                holder.headers = joined(self.headers.items())
