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
  :class:`HeadersSent` is a trace hook that keeps the header block aiohttp
  actually wrote, in order, including for a request whose answer never came.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from types import SimpleNamespace
from urllib.parse import quote

import aiohttp
from yarl import URL

__all__ = ["HeadersSent", "joined", "request_url", "trace_config"]

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
    """Receives the header block of one request as aiohttp wrote it (see :func:`trace_config`)."""

    __slots__ = ("headers",)

    def __init__(self) -> None:
        self.headers: dict[str, str] | None = None


async def _on_headers_sent(
    _session: aiohttp.ClientSession,
    ctx: SimpleNamespace,
    params: aiohttp.TraceRequestHeadersSentParams,
) -> None:
    holder = ctx.trace_request_ctx
    if isinstance(holder, HeadersSent):
        holder.headers = joined(params.headers.items())


def trace_config() -> aiohttp.TraceConfig:
    """A trace config that fills the :class:`HeadersSent` passed as ``trace_request_ctx``."""
    config = aiohttp.TraceConfig()
    config.on_request_headers_sent.append(_on_headers_sent)
    return config
