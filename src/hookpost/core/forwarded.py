"""Whose ``X-Forwarded-For`` to believe: only the peers the operator lists.

uvicorn, left to its defaults, rewrites the client address from
``X-Forwarded-For`` whenever the TCP peer is 127.0.0.1. Then any process on
the same host -- or a proxy that passes the header through untouched -- can
name a fresh address on every request, and the wrong-token lockout
(:mod:`hookpost.web.ratelimit`), which counts per client address, never
locks it out. So hookpost trusts nobody unless ``HOOKPOST_FORWARDED_ALLOW_IPS``
names the reverse proxy (IPs or CIDRs, or ``*`` for a proxy on a network
nobody else can reach), and ``hookpost serve`` hands uvicorn exactly that.
"""

from __future__ import annotations

from ipaddress import ip_network
from typing import Any


def parse_forwarded_allow(text: str) -> list[str]:
    """``"10.0.0.5, 10.1.0.0/16"`` -> entries; ValueError naming one that is not an address."""
    out: list[str] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        if item != "*":
            try:
                ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
        out.append(item)
    return out


def uvicorn_proxy_options(text: str) -> dict[str, Any]:
    """The ``uvicorn.Config`` arguments for the setting: proxy headers off unless peers are listed.

    Always explicit, so neither uvicorn's default (127.0.0.1) nor its
    ``FORWARDED_ALLOW_IPS`` environment variable decides instead.
    """
    trusted = parse_forwarded_allow(text)
    if not trusted:
        return {"proxy_headers": False, "forwarded_allow_ips": ""}
    return {"proxy_headers": True, "forwarded_allow_ips": trusted}
