"""The SSRF check at registration: a clear refusal of ``url`` before an endpoint is stored.

This is the friendly half; the sender checks every connection again (see
:mod:`hookpost.delivery.egress`), which is what actually stops a hostname
that changes its answer later. Decisions:

- An IP literal in any spelling is judged at once. Legacy numeric spellings
  (``http://2130706433/``, ``http://0x7f.1/``) are refused even when they
  denote a public address: aiohttp will not connect to them, and a URL that
  different parsers read differently has no business in a webhook config.
- A hostname is resolved once, with a short timeout, and refused if any of
  its addresses is blocked. The message does not say which address: that
  would turn the API into a probe of the operator's internal DNS.
- A broker URL (:mod:`hookpost.core.destination_url`) is checked the same way,
  on the host hookpost will connect to.
- If the name does not resolve (yet) or DNS times out, the URL is accepted:
  customers register endpoints before their DNS is live, and the
  delivery-time check still guards every connection.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass

from aiohttp.abc import AbstractResolver
from yarl import URL

from hookpost.core import destination_url
from hookpost.core.netguard import BlockedDestination, NetGuard, is_canonical_ipv4, numeric_host
from hookpost.delivery.egress import GuardedResolver
from hookpost.domain import Invalid

#: The setting that opts internal ranges back in, named in every refusal.
ALLOW = "HOOKPOST_ALLOWED_NETWORKS"


@dataclass
class DestinationPolicy:
    guard: NetGuard
    resolver: GuardedResolver
    https_only: bool = False
    dns_timeout: float = 2.0

    @classmethod
    def create(
        cls,
        guard: NetGuard,
        resolver: AbstractResolver | None = None,
        *,
        https_only: bool = False,
        dns_timeout: float = 2.0,
    ) -> DestinationPolicy:
        return cls(guard, GuardedResolver(guard, resolver), https_only, dns_timeout)

    async def problem(self, url: str) -> str | None:
        """Why ``url`` may not be registered, or None.

        A broker URL is judged by the host hookpost connects to: the broker's,
        or for SQS the ``endpoint_url`` emulator's when one is given.
        """
        if destination_url.is_broker(url):
            if self.https_only and not destination_url.is_secure(url):
                return (
                    "must use TLS (amqps, rediss, mqtts, sqs over https) under HOOKPOST_HTTPS_ONLY"
                )
            try:
                host, port = destination_url.connect_host(destination_url.parse(url))
            except destination_url.DestinationProblem as exc:
                return str(exc)
        else:
            target = URL(url)
            if self.https_only and target.scheme != "https":
                return "must be an https:// URL (this service runs with HOOKPOST_HTTPS_ONLY)"
            host, port = target.raw_host or "", target.port or 0
        return await self._host_problem(host, port)

    async def _host_problem(self, host: str, port: int) -> str | None:
        literal = numeric_host(host)
        if literal is not None:
            why = self.guard.reason(literal)
            if why is not None:
                return (
                    f"{host} is a {why} address, which hookpost does not deliver to "
                    f"unless the operator allows its network in {ALLOW}"
                )
            if ":" not in host and not is_canonical_ipv4(host.rstrip(".")):
                return f"write the IPv4 address as a dotted quad ({literal})"
            return None
        try:
            await asyncio.wait_for(
                self.resolver.resolve(host, port, socket.AF_UNSPEC),
                self.dns_timeout,
            )
        except BlockedDestination:
            return (
                f"{host} resolves to a private, loopback or other internal address, which "
                f"hookpost does not deliver to unless the operator allows its network "
                f"in {ALLOW}"
            )
        except (OSError, TimeoutError):
            return None  # not resolvable now: the delivery-time check still applies
        return None

    async def check(self, url: str) -> None:
        """Raise :class:`~hookpost.domain.Invalid` naming ``url`` if it may not be registered."""
        problem = await self.problem(url)
        if problem is not None:
            raise Invalid("url", problem)
