"""A DNS resolver that answers from a table, so no test ever sends a real DNS query.

``FakeResolver({"a.test": ["93.184.216.34"]})`` answers the same each time;
``.answer("rebind.test", ["93.184.216.34"], ["127.0.0.1"])`` answers the first
list on the first lookup and the last list from then on (DNS rebinding).
Names not in the table fail like NXDOMAIN.
"""

from __future__ import annotations

import socket
from ipaddress import ip_address

from aiohttp.abc import AbstractResolver, ResolveResult


class FakeResolver(AbstractResolver):
    def __init__(self, table: dict[str, list[str]] | None = None) -> None:
        self._answers: dict[str, list[list[str]]] = {k: [v] for k, v in (table or {}).items()}
        self.lookups: list[str] = []

    def answer(self, host: str, *answers: list[str]) -> FakeResolver:
        self._answers[host] = list(answers)
        return self

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        n = sum(1 for h in self.lookups if h == host)
        self.lookups.append(host)
        plan = self._answers.get(host)
        if not plan:
            raise OSError(socket.EAI_NONAME, f"fake DNS: {host} not found")
        return [
            ResolveResult(
                hostname=host,
                host=ip,
                port=port,
                family=socket.AF_INET6 if ip_address(ip).version == 6 else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for ip in plan[min(n, len(plan) - 1)]
        ]

    async def close(self) -> None:
        pass
