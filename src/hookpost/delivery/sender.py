"""One HTTP POST, with a timeout, no redirects, and a capped response excerpt.

What it returns is ready to be stored: the URL and headers as they went on
the wire (:mod:`hookpost.delivery.wire`), and the receiver's answer as text
any database column holds, bytes that are not escaped and said so
(:mod:`hookpost.core.wiretext`).

A single :class:`aiohttp.ClientSession` is shared by every request of a worker:
keep-alive connections per endpoint are what make thousands of deliveries per
second possible on one core (httpx is an order of magnitude slower here).

A URL whose scheme names a message broker (``amqp://``, ``redis://``,
``nats://``, ``mqtt://``, ``sqs://``) is published instead, by the transport
of its scheme (:mod:`hookpost.delivery.transports`); the answer is the same
:class:`SendResult`, with no status code and ``accepted`` set on success.
The check costs the HTTP path one string search, and no broker client is
imported until a broker URL is sent to.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from hookpost import __version__
from hookpost.core import destination_url
from hookpost.core.netguard import BlockedDestination, NetGuard
from hookpost.core.wiretext import body_text, storable, storable_headers, with_marker
from hookpost.delivery.egress import GuardedResolver, find_blocked, guarded_socket_factory
from hookpost.delivery.transports import About, Brokers
from hookpost.delivery.wire import HeadersSent, RecordingRequest, joined, request_url

if TYPE_CHECKING:
    from hookpost.config import Settings

__all__ = ["USER_AGENT", "About", "SendResult", "Sender", "describe_error"]

USER_AGENT = f"hookpost/{__version__}"
#: Registered URLs whose request form is kept (then the cache starts over).
_URL_CACHE = 4096


@dataclass(slots=True)
class SendResult:
    status_code: int | None
    response_headers: dict[str, str] | None
    response_body: str | None
    duration_ms: float
    error: str | None
    #: The URL as sent (the registered one, byte for byte, without a fragment).
    url: str = ""
    #: Every header as written on the wire, in order; None if none were written.
    request_headers: dict[str, str] | None = None
    #: A broker took the message (it answers no HTTP status: ``status_code`` is None).
    accepted: bool = False


def describe_error(exc: BaseException, timeout: float) -> str:
    """A short, secret-free description of why a request failed.

    A refused destination is exactly ``blocked destination``: the customer sees
    attempt errors, and the address their hostname resolved to inside the
    operator's network is none of their business.
    """
    if find_blocked(exc) is not None:
        return "blocked destination"
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
    """POSTs deliveries through one session whose every connection passes the SSRF guard.

    ``guard`` defaults to refusing every non-public address: a Sender built
    without thought is a safe one. ``resolver`` replaces the DNS lookup
    (tests answer from a table); ``proxy`` sends everything through an HTTP
    proxy (static egress IPs); ``https_only`` refuses plain-http URLs.
    """

    def __init__(
        self,
        *,
        concurrency: int = 256,
        excerpt_bytes: int = 4096,
        guard: NetGuard | None = None,
        resolver: AbstractResolver | None = None,
        proxy: str | None = None,
        https_only: bool = False,
    ) -> None:
        self._concurrency = concurrency
        self._excerpt = excerpt_bytes
        self._guard = guard or NetGuard()
        self._resolver = GuardedResolver(self._guard, resolver)
        self._proxy = proxy or None
        self._https_only = https_only
        self._session: aiohttp.ClientSession | None = None
        #: Broker destinations (issue 19), made on the first broker URL sent to.
        self._brokers: Brokers | None = None
        self._urls: dict[str, tuple[URL, str]] = {}
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}

    @classmethod
    def from_settings(
        cls, settings: Settings, *, resolver: AbstractResolver | None = None
    ) -> Sender:
        return cls(
            concurrency=settings.delivery_concurrency,
            excerpt_bytes=settings.response_excerpt_bytes,
            guard=NetGuard.from_text(settings.allowed_networks),
            resolver=resolver,
            proxy=settings.proxy_url,
            https_only=settings.https_only,
        )

    async def __aenter__(self) -> Sender:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        if self._session is None:
            if self._proxy:
                # The proxy (operator-configured, often on a private address) is
                # what we connect to; destinations are prechecked per request.
                connector = aiohttp.TCPConnector(
                    limit=self._concurrency, limit_per_host=0, ttl_dns_cache=60
                )
            else:
                connector = aiohttp.TCPConnector(
                    limit=self._concurrency,
                    limit_per_host=0,
                    ttl_dns_cache=60,
                    resolver=self._resolver,
                    socket_factory=guarded_socket_factory(self._guard),
                )
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": USER_AGENT},
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
                request_class=RecordingRequest,
            )

    async def close(self) -> None:
        if self._brokers is not None:
            await self._brokers.close()
            self._brokers = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        await self._resolver.close()

    async def _refuse(self, target: URL) -> str | None:
        """Why ``target`` may not be sent to before any connection is made, or None."""
        if self._https_only and target.scheme != "https":
            return "blocked destination: plain http is not allowed (HOOKPOST_HTTPS_ONLY)"
        if self._proxy and target.raw_host:
            try:
                await self._resolver.precheck(target.raw_host, target.port or 0)
            except BlockedDestination:
                return "blocked destination"
            except OSError:
                pass  # the proxy resolves for itself and reports its own DNS errors
        return None

    async def post(
        self,
        url: str,
        body: bytes,
        headers: dict[str, str],
        timeout: float,
        *,
        about: About | None = None,
    ) -> SendResult:
        """POST to an http(s) URL; publish to a broker URL (``about`` names the event)."""
        if destination_url.is_broker(url):
            return await self._publish(url, body, headers, timeout, about)
        assert self._session is not None, "Sender.start() first"
        t0 = time.perf_counter()
        sent = HeadersSent()
        recorded_url = url
        try:
            wire, recorded_url = self._request_url(url)
            if self._https_only or self._proxy:
                refused = await self._refuse(wire)
                if refused is not None:
                    took = (time.perf_counter() - t0) * 1000
                    return SendResult(None, None, None, took, refused, recorded_url)
            with sent.watching():
                async with self._session.post(
                    wire,
                    data=body,
                    headers=headers,
                    allow_redirects=False,
                    timeout=self._timeout(timeout),
                    proxy=self._proxy,
                ) as resp:
                    return await self._answer(resp, t0, recorded_url, sent)
        except Exception as exc:
            return SendResult(
                status_code=None,
                response_headers=None,
                response_body=None,
                duration_ms=(time.perf_counter() - t0) * 1000,
                error=storable(describe_error(exc, timeout))[0],
                url=recorded_url,
                request_headers=sent.headers,
            )

    def _request_url(self, url: str) -> tuple[URL, str]:
        """:func:`~hookpost.delivery.wire.request_url`, once per URL (an endpoint's
        every delivery goes to the same one)."""
        known = self._urls.get(url)
        if known is None:
            known = request_url(url)
            if len(self._urls) >= _URL_CACHE:
                self._urls.clear()
            self._urls[url] = known
        return known

    def _timeout(self, seconds: float) -> aiohttp.ClientTimeout:
        timeout = self._timeouts.get(seconds)
        if timeout is None:
            timeout = self._timeouts[seconds] = aiohttp.ClientTimeout(total=seconds)
        return timeout

    async def _publish(
        self, url: str, body: bytes, headers: dict[str, str], timeout: float, about: About | None
    ) -> SendResult:
        """Hand a broker URL to its transport (:mod:`hookpost.delivery.transports`)."""
        if self._https_only and not destination_url.is_secure(url):
            why = "blocked destination: a broker without TLS is not allowed (HOOKPOST_HTTPS_ONLY)"
            return SendResult(None, None, None, 0.0, why, destination_url.mask(url))
        if self._brokers is None:
            self._brokers = Brokers(self._resolver)
        return await self._brokers.send(url, body, headers, timeout, about, SendResult)

    async def _answer(
        self, resp: aiohttp.ClientResponse, t0: float, url: str, sent: HeadersSent
    ) -> SendResult:
        """The receiver's answer as storable text, escaped bytes said so in the excerpt."""
        raw = await self._read_excerpt(resp)
        body, body_escaped = body_text(
            raw, complete=len(raw) < self._excerpt or resp.content.at_eof()
        )
        response_headers, headers_escaped = storable_headers(joined(resp.headers.items()))
        if body_escaped or headers_escaped:
            escaped = {"response body": body_escaped, "response headers": headers_escaped}
            body = with_marker(body, escaped)
        return SendResult(
            status_code=resp.status,
            response_headers=response_headers,
            response_body=body,
            duration_ms=(time.perf_counter() - t0) * 1000,
            error=None,
            url=url,
            request_headers=sent.headers,
        )

    async def _read_excerpt(self, resp: aiohttp.ClientResponse) -> bytes:
        """The first ``excerpt_bytes`` of the answer (all of a shorter one)."""
        if resp.content.is_eof() and self._excerpt > 0:
            # The whole answer is in (a short one comes with its headers): what the
            # reads below would return, without a coroutine per read.
            return resp.content.read_nowait(self._excerpt)
        return await self._read_chunks(resp.content)

    async def _read_chunks(self, content: aiohttp.StreamReader) -> bytes:
        """:meth:`_read_excerpt` read by read, as the answer arrives."""
        chunks: list[bytes] = []
        size = 0
        while size < self._excerpt:
            chunk = await content.read(self._excerpt - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if content.at_eof():
                break  # the whole answer: no read that would only say so
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
