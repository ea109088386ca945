"""One HTTP POST, with a timeout, no redirects, and a capped response excerpt.

A single :class:`aiohttp.ClientSession` is shared by every request of a worker:
keep-alive connections per endpoint are what make thousands of deliveries per
second possible on one core (httpx is an order of magnitude slower here).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass

import aiohttp

USER_AGENT = "hookpost/0.1 (+https://github.com/hookpost)"


@dataclass(slots=True)
class SendResult:
    status_code: int | None
    response_headers: dict[str, str] | None
    response_body: str | None
    duration_ms: float
    error: str | None


def describe_error(exc: BaseException, timeout: float) -> str:
    """A short, secret-free description of why a request failed."""
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return f"timeout after {timeout:g}s"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | ssl.SSLError):
        return f"tls error: {exc}"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "dns error: could not resolve host"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"connection refused: {exc.os_error.strerror or exc.os_error}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server disconnected without a response"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return f"response body broken: {exc}"
    if isinstance(exc, aiohttp.ClientOSError):
        return f"connection error: {exc.strerror or exc}"
    if isinstance(exc, aiohttp.InvalidURL):
        return "invalid url"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"invalid response: {exc.message}"
    return f"{type(exc).__name__}: {exc}"


class Sender:
    def __init__(self, *, concurrency: int = 256, excerpt_bytes: int = 4096) -> None:
        self._concurrency = concurrency
        self._excerpt = excerpt_bytes
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Sender:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._concurrency, limit_per_host=0, ttl_dns_cache=60
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": USER_AGENT},
                cookie_jar=aiohttp.DummyCookieJar(),
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(
        self,
        url: str,
        body: bytes,
        headers: dict[str, str],
        timeout: float,
    ) -> SendResult:
        assert self._session is not None, "Sender.start() first"
        t0 = time.perf_counter()
        try:
            async with self._session.post(
                url,
                data=body,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as resp:
                excerpt = await self._read_excerpt(resp)
                return SendResult(
                    status_code=resp.status,
                    response_headers=dict(resp.headers),
                    response_body=excerpt.decode("utf-8", "replace"),
                    duration_ms=(time.perf_counter() - t0) * 1000,
                    error=None,
                )
        except Exception as exc:
            return SendResult(
                status_code=None,
                response_headers=None,
                response_body=None,
                duration_ms=(time.perf_counter() - t0) * 1000,
                error=describe_error(exc, timeout),
            )

    async def _read_excerpt(self, resp: aiohttp.ClientResponse) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while size < self._excerpt:
            chunk = await resp.content.read(self._excerpt - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
