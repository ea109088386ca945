"""Which IP addresses hookpost may connect to: the SSRF policy, and nothing else.

A webhook service makes HTTP requests to URLs its customers type in, so every
address it connects to is checked here first -- at registration (the API) and
again for the exact address of every connection (the sender). Everything
that is not plainly a public unicast address is refused: loopback, RFC 1918,
CGNAT, link-local (so also 169.254.169.254, the cloud metadata service),
multicast, broadcast, reserved, documentation and benchmarking ranges, IPv6
ULA, link-local and site-local. IPv6 forms that carry an IPv4 address
(IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d``, NAT64
``64:ff9b::/96`` and 6to4 ``2002::/16``) are judged by the IPv4 address they
lead to. The operator opts ranges back in with ``HOOKPOST_ALLOWED_NETWORKS``.

The table below is explicit rather than only ``ipaddress``'s ``is_global``
because that flag's tables changed between Python patch releases; the stdlib
flags are still consulted afterwards as a catch-all.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

_V4_BLOCKED: list[tuple[IPv4Network, str]] = [
    (IPv4Network(n), why)
    for n, why in [
        ("0.0.0.0/8", "unspecified"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared (CGNAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "reserved"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "reserved"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "reserved"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("255.255.255.255/32", "broadcast"),
        ("240.0.0.0/4", "reserved"),
    ]
]

_V6_BLOCKED: list[tuple[IPv6Network, str]] = [
    (IPv6Network(n), why)
    for n, why in [
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("64:ff9b:1::/48", "private"),  # local-use NAT64 (RFC 8215)
        ("100::/64", "reserved"),  # discard-only
        ("2001::/23", "reserved"),  # IETF protocol assignments, Teredo
        ("2001:db8::/32", "documentation"),
        ("3fff::/20", "documentation"),
        ("fc00::/7", "private"),  # unique local (ULA)
        ("fe80::/10", "link-local"),
        ("fec0::/10", "reserved"),  # site-local (deprecated)
        ("ff00::/8", "multicast"),
    ]
]

_NAT64 = IPv6Network("64:ff9b::/96")
_V4_COMPATIBLE = IPv6Network("::/96")

# The numeric spellings inet_aton() accepts: 1 to 4 parts, each decimal, octal
# (leading 0) or hex (0x): 2130706433, 0x7f.1, 017700000001, 127.1 ...
_LEGACY_V4 = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}$", re.IGNORECASE)


class BlockedDestination(OSError):
    """A connection to an address the policy refuses. An ``OSError`` so that aiohttp
    carries it up as a connection failure; never sent anywhere, only described."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"blocked destination: {host} is {reason}")
        self.host = host
        self.reason = reason


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """``"127.0.0.0/8, ::1"`` -> networks; ValueError naming the entry that is not one."""
    out: list[IPNetwork] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        try:
            out.append(ip_network(item, strict=False))
        except ValueError:
            raise ValueError(
                f"HOOKPOST_ALLOWED_NETWORKS: {item!r} is not an IP network (CIDR)"
            ) from None
    return tuple(out)


def embedded_ipv4(ip: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address leads to, for the forms that carry one."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or (ip in _V4_COMPATIBLE and int(ip) > 1):
        return IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _v4_reason(ip: IPv4Address) -> str | None:
    for net, why in _V4_BLOCKED:
        if ip in net:
            return why
    if ip.is_multicast:
        return "multicast"
    if not ip.is_global:
        return "reserved"
    return None


def blocked_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` is refused by default (``"loopback"``, ``"private"``...), or None."""
    if isinstance(ip, IPv4Address):
        return _v4_reason(ip)
    inner = embedded_ipv4(ip)
    if inner is not None:
        why = _v4_reason(inner)
        return None if why is None else f"{why} (as IPv6 {ip.compressed})"
    for net, why in _V6_BLOCKED:
        if ip in net:
            return why
    if ip.is_multicast:
        return "multicast"
    if ip.is_reserved or ip.is_private or not ip.is_global:
        return "reserved"
    return None


def numeric_host(host: str) -> IPAddress | None:
    """The address a URL host denotes when it is an IP literal in any spelling.

    Besides ``1.2.3.4`` and ``[::1]`` this reads the legacy IPv4 forms that
    ``inet_aton`` (and so ``getaddrinfo``) accepts -- ``2130706433``,
    ``0x7f.1``, ``017700000001`` -- which would otherwise reach 127.0.0.1
    under a name that no range check recognises. None for a hostname.
    """
    h = host.strip().strip("[]").rstrip(".")
    if not h:
        return None
    try:
        return ip_address(h)
    except ValueError:
        pass
    if _LEGACY_V4.match(h):
        try:
            return IPv4Address(socket.inet_aton(h))
        except OSError:
            return None
    return None


def is_canonical_ipv4(host: str) -> bool:
    """``a.b.c.d`` with decimal octets and no leading zeros (what aiohttp will connect to)."""
    try:
        return isinstance(ip_address(host), IPv4Address)
    except ValueError:
        return False


class NetGuard:
    """The policy: refuse :func:`blocked_reason` addresses unless an allowed network holds them."""

    def __init__(self, allowed: Iterable[IPNetwork] = ()) -> None:
        self.allowed: tuple[IPNetwork, ...] = tuple(allowed)

    @classmethod
    def from_text(cls, allowed_networks: str) -> NetGuard:
        return cls(parse_networks(allowed_networks))

    def _opted_in(self, ip: IPAddress) -> bool:
        candidates: list[IPAddress] = [ip]
        if isinstance(ip, IPv6Address):
            # ::ffff:127.0.0.1 is 127.0.0.1 on the wire: an allowed 127.0.0.0/8 covers it.
            if ip.ipv4_mapped is not None:
                candidates.append(ip.ipv4_mapped)
            elif ip in _V4_COMPATIBLE and int(ip) > 1:
                candidates.append(IPv4Address(int(ip) & 0xFFFFFFFF))
        return any(c in net for c in candidates for net in self.allowed)

    def reason(self, ip: IPAddress) -> str | None:
        """None if hookpost may connect to ``ip``; else why not."""
        if self._opted_in(ip):
            return None
        return blocked_reason(ip)

    def check(self, ip: IPAddress | str, host: str | None = None) -> None:
        """Raise :class:`BlockedDestination` unless ``ip`` may be connected to."""
        addr = ip if isinstance(ip, IPv4Address | IPv6Address) else ip_address(ip)
        why = self.reason(addr)
        if why is not None:
            raise BlockedDestination(host or str(addr), f"a {why} address")
