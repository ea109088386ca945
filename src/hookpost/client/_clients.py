"""The two clients: the same operations over a blocking or an asyncio ``httpx`` client.

Both share everything but the I/O: :class:`_Base` builds each request once
(with its ``Idempotency-Key`` when it is a POST, so every retry of it carries
the same key), reads answers and decides on retries with
:class:`~hookpost.client._retry.RetryPolicy`; :meth:`Client._send` and
:meth:`AsyncClient._send` are the only two loops, one sleeping with
``time.sleep``, the other with ``asyncio.sleep``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import Any, TypeVar

import httpx

from hookpost import __version__
from hookpost.client._api import Operations
from hookpost.client._calls import Call
from hookpost.client._errors import ConnectionFailed, HookpostError, error_for
from hookpost.client._models import Page
from hookpost.client._retry import RetryPolicy

__all__ = ["DEFAULT_URL", "USER_AGENT", "AsyncClient", "Client"]

T = TypeVar("T")

DEFAULT_URL = "http://127.0.0.1:8000"
#: What the client says it is, unless told otherwise (``user_agent=``).
USER_AGENT = f"hookpost-python/{__version__}"

#: Transport failures that a retry cannot cure.
_HOPELESS = (httpx.UnsupportedProtocol,)


class _Base(Operations):
    _policy: RetryPolicy

    @staticmethod
    def _headers(
        token: str | None, user_agent: str | None, headers: Mapping[str, str] | None
    ) -> dict[str, str]:
        out = {"User-Agent": user_agent or USER_AGENT}
        if token:
            out["Authorization"] = f"Bearer {token}"
        out.update(headers or {})
        return out

    def _request(self, http: httpx.Client | httpx.AsyncClient, call: Call[Any]) -> httpx.Request:
        headers = {}
        if call.method == "POST":
            headers["Idempotency-Key"] = call.key or str(uuid.uuid4())
        return http.build_request(
            call.method, call.path, json=call.json, params=call.params, headers=headers
        )

    @staticmethod
    def _read(call: Call[Any], response: httpx.Response) -> tuple[Any, HookpostError | None]:
        """The answer's value, or the error it stands for."""
        if response.status_code == 204:
            return None, None
        body: Any
        if call.expect == "text" and response.is_success:
            body = response.text
        elif call.expect == "lines" and response.is_success:
            body = [json.loads(line) for line in response.text.splitlines() if line.strip()]
        else:
            try:
                body = response.json()
            except ValueError:
                body = response.text
        if response.is_success or response.status_code in call.answers:
            return body, None
        return None, error_for(response.status_code, body, response.headers)

    def _next(
        self,
        call: Call[Any],
        retry: int,
        response: httpx.Response | None,
        failure: httpx.TransportError | None,
    ) -> tuple[bool, Any, float]:
        """After try ``retry`` (0-based): ``(True, value, 0)`` when done, else
        ``(False, None, seconds to wait)``; raises when giving up."""
        if response is not None:
            value, error = self._read(call, response)
            if error is None:
                return True, value, 0.0
            retryable = self._policy.should_retry(error.status, error.code)
            wait = self._policy.wait(retry, error.headers) if retryable else None
            if wait is None:
                raise error
            return False, None, wait
        assert failure is not None
        wait = None if isinstance(failure, _HOPELESS) else self._policy.wait(retry, None)
        if wait is None:
            message = f"{call.method} {call.path}: {type(failure).__name__}: {failure}"
            raise ConnectionFailed(message) from failure
        return False, None, wait


def _http_options(
    base_url: str,
    token: str | None,
    timeout: float | httpx.Timeout,
    proxy: str | None,
    user_agent: str | None,
    headers: Mapping[str, str] | None,
) -> dict[str, Any]:
    return {
        "base_url": base_url,
        "headers": _Base._headers(token, user_agent, headers),
        "timeout": timeout,
        "proxy": proxy,
        "trust_env": proxy is None,
    }


class Client(_Base):
    """Blocking client. Use as a context manager or call :meth:`close`.

    ``timeout``: seconds (or an ``httpx.Timeout``) for each try; ``proxy``:
    an ``http://``/``socks5://`` proxy URL (default: ``HTTP(S)_PROXY`` from the
    environment); ``max_retries``, ``backoff`` and ``max_wait`` (seconds): see
    :class:`~hookpost.client.RetryPolicy`; ``transport``: an ``httpx``
    transport to use instead of the network (tests). Raises the
    :class:`HookpostError` subclass matching each failure.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        token: str | None = None,
        timeout: float | httpx.Timeout = 30,
        *,
        proxy: str | None = None,
        user_agent: str | None = None,
        headers: Mapping[str, str] | None = None,
        max_retries: int = 2,
        backoff: float = 0.5,
        max_wait: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._policy = RetryPolicy(max_retries, backoff, max_wait)
        options = _http_options(base_url, token, timeout, proxy, user_agent, headers)
        self._http = httpx.Client(transport=transport, **options)

    def _send(self, call: Call[T]) -> T:
        request = self._request(self._http, call)
        for retry in itertools.count():
            try:
                response, failure = self._http.send(request), None
            except httpx.TransportError as exc:
                response, failure = None, exc
            done, value, wait = self._next(call, retry, response, failure)
            if done:
                return value  # type: ignore[no-any-return]
            time.sleep(wait)
        raise AssertionError("unreachable")

    def iterate(
        self, list_method: Callable[..., Page[T]], *args: Any, **kwargs: Any
    ) -> Iterator[T]:
        """Yield every item of a paged list, following ``next_cursor``:
        ``for ep in hp.iterate(hp.list_endpoints, project_id): ...``."""
        cursor = None
        while True:
            page = list_method(*args, cursor=cursor, **kwargs)
            yield from page["data"]
            cursor = page["next_cursor"]
            if not cursor:
                return

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(_Base):
    """The same operations and options as :class:`Client`, as coroutines."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        token: str | None = None,
        timeout: float | httpx.Timeout = 30,
        *,
        proxy: str | None = None,
        user_agent: str | None = None,
        headers: Mapping[str, str] | None = None,
        max_retries: int = 2,
        backoff: float = 0.5,
        max_wait: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._policy = RetryPolicy(max_retries, backoff, max_wait)
        options = _http_options(base_url, token, timeout, proxy, user_agent, headers)
        self._http = httpx.AsyncClient(transport=transport, **options)

    async def _send(self, call: Call[T]) -> T:
        request = self._request(self._http, call)
        for retry in itertools.count():
            try:
                response, failure = await self._http.send(request), None
            except httpx.TransportError as exc:
                response, failure = None, exc
            done, value, wait = self._next(call, retry, response, failure)
            if done:
                return value  # type: ignore[no-any-return]
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    async def iterate(
        self, list_method: Callable[..., Awaitable[Page[T]]], *args: Any, **kwargs: Any
    ) -> AsyncIterator[T]:
        """Yield every item of a paged list, following ``next_cursor``."""
        cursor = None
        while True:
            page = await list_method(*args, cursor=cursor, **kwargs)
            for item in page["data"]:
                yield item
            cursor = page["next_cursor"]
            if not cursor:
                return

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
