"""Enforce the SSRF policy (:mod:`hookpost.core.netguard`) inside aiohttp's connector.

Checking a URL's host and then letting the HTTP client resolve it again is
open to DNS rebinding: the second answer can be 127.0.0.1. So the check lives
where the connection is made:

- :class:`GuardedResolver` is the connector's resolver. Every address a name
  resolves to is checked, and if any is refused the whole name is refused
  (a name that answers public first and private second is not trusted with
  either). The connector connects only to addresses this resolver returned,
  and the URL's hostname stays the Host header and the TLS SNI name.
- :func:`guarded_socket_factory` checks the exact address of every socket the
  connector opens -- the last word, which also covers IP-literal URLs that
  aiohttp never passes to a resolver.

With an outbound proxy the proxy makes the connection, so hookpost can only
check the destination's DNS answers before sending (:meth:`GuardedResolver.precheck`);
the proxy itself should refuse private ranges too.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from hookpost.core.netguard import BlockedDestination, NetGuard, numeric_host

AddrInfo = tuple[int, int, int, str, tuple[Any, ...]]


class GuardedResolver(AbstractResolver):
    """Resolve with ``inner`` (aiohttp's default resolver), refuse blocked answers."""

    def __init__(self, guard: NetGuard, inner: AbstractResolver | None = None) -> None:
        self.guard = guard
        self._inner = inner
        self._own_inner = inner is None

    def _resolver(self) -> AbstractResolver:
        if self._inner is None:
            self._inner = DefaultResolver()
        return self._inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        literal = numeric_host(host)
        if literal is not None:
            # Numeric spellings (``0x7f.1``) go through getaddrinfo unchanged.
            self.guard.check(literal, host)
        results = await self._resolver().resolve(host, port, family)
        for r in results:
            self.guard.check(r["host"], host)
        return results

    async def precheck(self, host: str, port: int) -> None:
        """Raise :class:`BlockedDestination` if ``host`` is or resolves to a refused address."""
        literal = numeric_host(host)
        if literal is not None:
            self.guard.check(literal, host)
            return
        await self.resolve(host, port, socket.AF_UNSPEC)

    async def close(self) -> None:
        if self._inner is not None and self._own_inner:
            await self._inner.close()
            self._inner = None


def guarded_socket_factory(guard: NetGuard) -> Callable[[AddrInfo], socket.socket]:
    """An aiohttp ``socket_factory`` that refuses to open a socket to a blocked address."""

    def factory(addr_info: AddrInfo) -> socket.socket:
        family, type_, proto, _canon, sockaddr = addr_info
        guard.check(str(sockaddr[0]))
        return socket.socket(family=family, type=type_, proto=proto)

    return factory


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception behind it: causes, contexts, wrapped OS errors, args."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        e = todo.pop()
        if not isinstance(e, BaseException) or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo += [getattr(e, "os_error", None), e.__cause__, e.__context__, *e.args]


def find_blocked(exc: BaseException) -> BlockedDestination | None:
    """The :class:`BlockedDestination` behind an aiohttp error, if that is what it was."""
    return next((e for e in causes(exc) if isinstance(e, BlockedDestination)), None)
