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
"""

from __future__ import annotations

import re
from collections.abc import Iterable
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


class RecordingRequest(aiohttp.ClientRequest):
    """A request that hands the headers it writes to its caller's :class:`HeadersSent`.

    ``send`` completes the header block (a default ``Content-Type``, the
    ``Connection`` header) and writes it before it returns or fails: what
    ``self.headers`` holds then is what went on the wire. A request that never
    got a connection never calls ``send``, and records nothing.
    """

    async def send(self, conn: Any) -> aiohttp.ClientResponse:
        try:
            return await super().send(conn)
        finally:
            holder = _WATCHING.get()
            if holder is not None:
                holder.headers = joined(self.headers.items())
