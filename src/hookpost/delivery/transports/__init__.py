"""Destinations beyond HTTP: the transport seam, and the pool every broker shares.

An endpoint whose URL names a broker (:mod:`hookpost.core.destination_url`)
gets its events published there instead of POSTed (issue 19). The
:class:`~hookpost.delivery.sender.Sender` hands such a URL to
:class:`Brokers`, which picks the :class:`Transport` of its scheme and turns
what happened into the same :class:`~hookpost.delivery.sender.SendResult` an
HTTP request gives: the dispatcher records, retries and counts broker
attempts exactly like webhook attempts.

**The contract** (:class:`Transport`). ``publish`` sends the profile's body
byte for byte with the request's headers (signature, id, timestamp, custom
headers) as the message's headers, properties or attributes, and returns
only once the broker has taken responsibility for the message (a publisher
confirm, a stream id, a JetStream ack, a PUBACK, an SQS MessageId); the text
it returns is the attempt's "response". Anything else raises, and
``describe`` turns the exception into the attempt's error, short and free of
secrets: ``broker unreachable: ...``, ``authentication failed: ...``,
``NOT_FOUND - no exchange 'x' ...``, ``stream ack timeout``.

**Status codes.** A broker answers no HTTP status, so a broker attempt's
``status_code`` is null; ``SendResult.accepted`` says it succeeded. An
endpoint's ``success_rule`` does not apply to brokers (nothing to compare).

**Connections** (:class:`PooledTransport`) are kept per destination (host,
port, credentials, vhost/db; not per exchange, stream or topic) and per
worker: each Sender has its own. A failure drops the connection, and a
failure on a *reused* connection is tried once more on a fresh one, so the
first event after a broker restart goes out instead of failing on the dead
socket. Connecting is SSRF-checked like an HTTP connection: the host is
resolved through the same guard (:mod:`hookpost.delivery.egress`), and for
plain-text schemes the connection goes to the address that was checked
(TLS schemes connect by name, which their certificate check needs).

**Imports.** Each broker's module imports its client library, and is
imported the first time a URL of its scheme is sent to: a service that only
delivers webhooks never loads aio-pika, redis, nats, aiomqtt or botocore,
and a missing extra is an attempt error naming the ``pip install``.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from hookpost.core import destination_url
from hookpost.core.destination_url import Destination
from hookpost.core.netguard import BlockedDestination, numeric_host
from hookpost.core.wiretext import storable
from hookpost.delivery.egress import GuardedResolver, causes, find_blocked

if TYPE_CHECKING:
    from hookpost.delivery.sender import SendResult

__all__ = ["About", "BrokerError", "Brokers", "PooledTransport", "Transport"]

#: Scheme family -> the module holding its transport (a class named ``Transport``).
_MODULES = {
    "amqp": "hookpost.delivery.transports._amqp",
    "redis": "hookpost.delivery.transports._redis",
    "nats": "hookpost.delivery.transports._nats",
    "mqtt": "hookpost.delivery.transports._mqtt",
    "sqs": "hookpost.delivery.transports._sqs",
}


@dataclass(frozen=True, slots=True)
class About:
    """What a transport may need besides the bytes: routing keys, FIFO groups, dedup ids."""

    event_id: str
    event_type: str
    endpoint_id: str


class BrokerError(Exception):
    """A failure whose message is already the attempt's error."""


class Transport(Protocol):
    async def publish(
        self, dest: Destination, body: bytes, headers: dict[str, str], about: About, timeout: float
    ) -> str:
        """Publish; return the broker's acknowledgement as text, or raise."""
        ...

    def describe(self, exc: BaseException) -> str | None:
        """The attempt error for a client library's exception, or None for the generic one."""
        ...

    async def close(self) -> None: ...


C = TypeVar("C")


class PooledTransport(Generic[C]):
    """One connection per destination, connected on first use, replaced when it fails.

    Subclasses implement ``_connect`` (to an already checked address),
    ``_publish``, ``_close`` and ``describe``.
    """

    #: Words for a publish that timed out (NATS says ``stream ack timeout``).
    timeout_text = "no confirmation from the broker within {timeout:g}s"

    def __init__(self, resolver: GuardedResolver) -> None:
        self._resolver = resolver
        self._pool: dict[tuple[object, ...], C] = {}
        self._locks: dict[tuple[object, ...], asyncio.Lock] = {}

    async def _connect(self, dest: Destination, address: str, timeout: float) -> C:
        raise NotImplementedError

    async def _publish(
        self,
        conn: C,
        dest: Destination,
        body: bytes,
        headers: dict[str, str],
        about: About,
        timeout: float,
    ) -> str:
        raise NotImplementedError

    async def _close(self, conn: C) -> None:
        raise NotImplementedError

    def _usable(self, conn: C) -> bool:
        """False when the client already knows the connection is gone."""
        return True

    def describe(self, exc: BaseException) -> str | None:
        return None

    async def publish(
        self, dest: Destination, body: bytes, headers: dict[str, str], about: About, timeout: float
    ) -> str:
        deadline = time.monotonic() + timeout
        for last_try in (False, True):
            conn, reused = await self._connection(dest, timeout)
            left = max(deadline - time.monotonic(), 0.001)
            try:
                return await asyncio.wait_for(
                    self._publish(conn, dest, body, headers, about, left), left
                )
            except TimeoutError:
                await self._drop(dest, conn)
                raise BrokerError(self.timeout_text.format(timeout=timeout)) from None
            except BrokerError:
                raise  # the broker answered: the connection is fine, the message was refused
            except Exception:
                await self._drop(dest, conn)
                if last_try or not reused or time.monotonic() >= deadline:
                    raise
        raise AssertionError("unreachable")

    async def _connection(self, dest: Destination, timeout: float) -> tuple[C, bool]:
        key = dest.pool_key
        conn = self._pool.get(key)
        if conn is not None and self._usable(conn):
            return conn, True
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            conn = self._pool.get(key)
            if conn is not None and self._usable(conn):
                return conn, True
            if conn is not None:
                await self._drop(dest, conn)
            host, port = destination_url.connect_host(dest)
            try:
                address = await asyncio.wait_for(self._address(host, port, dest.tls), timeout)
                conn = await asyncio.wait_for(self._connect(dest, address, timeout), timeout)
            except BrokerError:
                raise
            except BlockedDestination:
                raise BrokerError("blocked destination") from None
            except TimeoutError:
                raise BrokerError(
                    f"broker unreachable: no connection within {timeout:g}s"
                ) from None
            except Exception as exc:
                if find_blocked(exc) is not None:
                    raise BrokerError("blocked destination") from None
                said = _os_error(exc) or self.describe(exc) or f"{type(exc).__name__}: {exc}"
                if not said.startswith(("authentication", "broker unreachable")):
                    said = f"broker unreachable: {said}"
                raise BrokerError(said) from None
            self._pool[key] = conn
            return conn, False

    async def _address(self, host: str, port: int, tls: bool) -> str:
        """The checked address to connect to (the name itself for TLS, once checked)."""
        literal = numeric_host(host)
        if literal is not None:
            self._resolver.guard.check(literal, host)
            return host
        found = await self._resolver.resolve(host, port, socket.AF_UNSPEC)
        if tls or not found:
            return host
        return str(found[0]["host"])

    async def _drop(self, dest: Destination, conn: C) -> None:
        if self._pool.get(dest.pool_key) is conn:
            del self._pool[dest.pool_key]
        try:
            await asyncio.wait_for(self._close(conn), 2.0)
        except Exception:  # closing a dead connection may fail in any way
            pass

    async def close(self) -> None:
        conns, self._pool = list(self._pool.values()), {}
        for conn in conns:
            try:
                await asyncio.wait_for(self._close(conn), 2.0)
            except Exception:
                pass


def _os_error(exc: BaseException) -> str | None:
    """``connection refused`` and friends, from an OSError anywhere in the chain."""
    for e in causes(exc):
        if isinstance(e, socket.gaierror):
            return "dns error: could not resolve host"
        if isinstance(e, OSError) and isinstance(e.errno, int) and e.errno > 0:
            return os.strerror(e.errno).lower()  # "connection refused"
    return None


class Brokers:
    """Every broker transport of one Sender, loaded on first use."""

    def __init__(self, resolver: GuardedResolver) -> None:
        self._resolver = resolver
        self._transports: dict[str, Transport] = {}

    def _transport(self, kind: str) -> Transport:
        transport = self._transports.get(kind)
        if transport is None:
            try:
                module = importlib.import_module(_MODULES[kind])
            except ImportError as exc:
                extra = destination_url.EXTRAS[kind]
                raise BrokerError(
                    f"the {kind} client is not installed ({exc.name}): "
                    f"pip install 'hookpost[{extra}]'"
                ) from None
            transport = module.Transport(self._resolver)
            self._transports[kind] = transport
        return transport

    async def send(
        self,
        url: str,
        body: bytes,
        headers: dict[str, str],
        timeout: float,
        about: About | None,
        result: Callable[..., SendResult],
    ) -> SendResult:
        """Publish ``body`` to the broker ``url`` names; the outcome as a SendResult."""
        t0 = time.perf_counter()
        shown = destination_url.mask(url)
        about = about or About("", "", "")
        transport: Transport | None = None
        try:
            dest = destination_url.parse(url)
            transport = self._transport(dest.kind)
            ack = await transport.publish(dest, body, headers, about, timeout)
        except Exception as exc:
            error = _describe(exc, transport, timeout)
            return result(
                status_code=None,
                response_headers=None,
                response_body=None,
                duration_ms=(time.perf_counter() - t0) * 1000,
                error=storable(error)[0],
                url=shown,
                request_headers=headers,
            )
        return result(
            status_code=None,
            response_headers=None,
            response_body=storable(ack)[0],
            duration_ms=(time.perf_counter() - t0) * 1000,
            error=None,
            url=shown,
            request_headers=headers,
            accepted=True,
        )

    async def close(self) -> None:
        transports, self._transports = list(self._transports.values()), {}
        await asyncio.gather(*(t.close() for t in transports), return_exceptions=True)


def _describe(exc: BaseException, transport: Transport | None, timeout: float) -> str:
    if isinstance(exc, BrokerError | destination_url.DestinationProblem):
        return str(exc)
    if find_blocked(exc) is not None:
        return "blocked destination"
    said = transport.describe(exc) if transport is not None else None
    if said:
        return said
    lost = _os_error(exc)
    if lost:
        return f"broker unreachable: {lost}"
    return f"{type(exc).__name__}: {exc}"[:500]
