"""Python client for the hookpost API, sync and async, for the provider's backend.

    from hookpost import Client

    hp = Client("http://127.0.0.1:8000", token=API_KEY)
    ep = hp.create_endpoint(project_id, url="https://example.com/hook")
    hp.publish(project_id, "user.created", {"id": 42}, event_id="evt_42")
    hp.publish_batch(project_id, [{"event_type": "user.created", "payload": {"id": 43}}])

:class:`AsyncClient` has the same methods, as coroutines. Both raise
:class:`HookpostError` (with ``status`` and the server's JSON ``body``) for any
non-2xx answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

import httpx

R = TypeVar("R")

Json = dict[str, Any]

#: The most events one batch publish request takes.
MAX_BATCH = 500


class HookpostError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        message = body.get("message") if isinstance(body, dict) else None
        super().__init__(f"HTTP {status}: {message or body}")


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _parse(response: httpx.Response) -> Any:
    if response.status_code == 204:
        return None
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if response.status_code >= 400:
        raise HookpostError(response.status_code, body)
    return body


class _Api(Generic[R]):
    """Every operation, written once. ``_call`` returns the parsed JSON (sync)
    or an awaitable of it (async); the subclasses only differ in transport."""

    def _call(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> R:
        raise NotImplementedError

    # projects
    def create_project(self, name: str) -> R:
        return self._call("POST", "/api/v1/projects", json={"name": name})

    def list_projects(self, *, limit: int | None = None, cursor: str | None = None) -> R:
        return self._call(
            "GET", "/api/v1/projects", params=_clean({"limit": limit, "cursor": cursor})
        )

    def get_project(self, project_id: str) -> R:
        return self._call("GET", f"/api/v1/projects/{project_id}")

    def delete_project(self, project_id: str) -> R:
        return self._call("DELETE", f"/api/v1/projects/{project_id}")

    # API keys
    def create_api_key(self, project_id: str, *, scope: str = "full", name: str = "") -> R:
        """A new key for the project; ``key`` in the answer is shown only once."""
        return self._call(
            "POST", f"/api/v1/projects/{project_id}/api-keys", json={"scope": scope, "name": name}
        )

    def list_api_keys(self, project_id: str) -> R:
        return self._call("GET", f"/api/v1/projects/{project_id}/api-keys")

    def revoke_api_key(self, project_id: str, key_id: str) -> R:
        return self._call("DELETE", f"/api/v1/projects/{project_id}/api-keys/{key_id}")

    # endpoints
    def create_endpoint(
        self,
        project_id: str,
        url: str,
        *,
        event_types: list[str] | None = None,
        profile: str | None = None,
        signing: str | None = None,
        secret: str | None = None,
        description: str | None = None,
        headers: dict[str, str] | None = None,
        secret_headers: list[str] | None = None,
        max_attempts: int | None = None,
        timeout_seconds: float | None = None,
        enabled: bool | None = None,
    ) -> R:
        body = _clean(
            {
                "url": url,
                "event_types": event_types,
                "profile": profile,
                "signing": signing,
                "secret": secret,
                "description": description,
                "headers": headers,
                "secret_headers": secret_headers,
                "max_attempts": max_attempts,
                "timeout_seconds": timeout_seconds,
                "enabled": enabled,
            }
        )
        return self._call("POST", f"/api/v1/projects/{project_id}/endpoints", json=body)

    def list_endpoints(
        self, project_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> R:
        return self._call(
            "GET",
            f"/api/v1/projects/{project_id}/endpoints",
            params=_clean({"limit": limit, "cursor": cursor}),
        )

    def get_endpoint(self, project_id: str, endpoint_id: str) -> R:
        return self._call("GET", f"/api/v1/projects/{project_id}/endpoints/{endpoint_id}")

    def update_endpoint(self, project_id: str, endpoint_id: str, **changes: Any) -> R:
        return self._call(
            "PATCH", f"/api/v1/projects/{project_id}/endpoints/{endpoint_id}", json=changes
        )

    def delete_endpoint(self, project_id: str, endpoint_id: str) -> R:
        return self._call("DELETE", f"/api/v1/projects/{project_id}/endpoints/{endpoint_id}")

    def rotate_secret(
        self,
        project_id: str,
        endpoint_id: str,
        *,
        secret: str | None = None,
        grace_period_seconds: int | None = None,
        signing: str | None = None,
    ) -> R:
        body = {"secret": secret, "grace_period_seconds": grace_period_seconds, "signing": signing}
        return self._call(
            "POST",
            f"/api/v1/projects/{project_id}/endpoints/{endpoint_id}/rotate-secret",
            json=_clean(body),
        )

    def recover(
        self, project_id: str, endpoint_id: str, since: datetime, until: datetime | None = None
    ) -> R:
        body = _clean({"since": since.isoformat(), "until": until.isoformat() if until else None})
        return self._call(
            "POST", f"/api/v1/projects/{project_id}/endpoints/{endpoint_id}/recover", json=body
        )

    def recover_project(
        self,
        project_id: str,
        since: str | datetime,
        until: str | datetime | None = None,
        endpoint_id: str | None = None,
    ) -> R:
        """Queue a job resending failed deliveries of the project (or one endpoint)."""
        body = _clean(
            {
                "since": since.isoformat() if isinstance(since, datetime) else since,
                "until": until.isoformat() if isinstance(until, datetime) else until,
                "endpoint_id": endpoint_id,
            }
        )
        return self._call("POST", f"/api/v1/projects/{project_id}/recover", json=body)

    def get_job(self, project_id: str, job_id: str) -> R:
        return self._call("GET", f"/api/v1/projects/{project_id}/jobs/{job_id}")

    def send_test(
        self,
        project_id: str,
        endpoint_id: str,
        *,
        event_type: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> R:
        return self._call(
            "POST",
            f"/api/v1/projects/{project_id}/endpoints/{endpoint_id}/test",
            json=_clean({"event_type": event_type, "payload": payload}),
        )

    # events
    def publish(
        self,
        project_id: str,
        event_type: str,
        payload: dict[str, Any],
        *,
        event_id: str | None = None,
    ) -> R:
        body = _clean({"event_type": event_type, "payload": payload, "event_id": event_id})
        return self._call("POST", f"/api/v1/projects/{project_id}/events", json=body)

    def publish_batch(self, project_id: str, events: Sequence[Mapping[str, Any]]) -> R:
        """Publish up to :data:`MAX_BATCH` events in one request, each checked on its own.

        Each event is a mapping with ``event_type``, ``payload`` and optionally
        ``event_id``, as :meth:`publish` takes them. The answer's ``data`` has
        one item per event, in order, with its own ``status``: 202 created,
        200 a repeated ``event_id`` (nothing created), 409 an ``event_id``
        already used by a different event, 422 an invalid event (``error``,
        ``message`` and ``detail`` say why). One bad event never rejects the
        others; only a malformed request as a whole raises :class:`HookpostError`.
        """
        body = {"events": list(events)}
        return self._call("POST", f"/api/v1/projects/{project_id}/events/batch", json=body)

    def list_events(
        self,
        project_id: str,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        event_type: str | None = None,
        after: int | None = None,
        order: str | None = None,
    ) -> R:
        params = _clean(
            {
                "limit": limit,
                "cursor": cursor,
                "event_type": event_type,
                "after": after,
                "order": order,
            }
        )
        return self._call("GET", f"/api/v1/projects/{project_id}/events", params=params)

    def get_event(self, project_id: str, event_id: str) -> R:
        return self._call("GET", f"/api/v1/projects/{project_id}/events/{event_id}")

    # deliveries
    def list_deliveries(
        self,
        project_id: str,
        *,
        status: str | None = None,
        endpoint_id: str | None = None,
        event_type: str | None = None,
        event_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> R:
        params = _clean(
            {
                "status": status,
                "endpoint_id": endpoint_id,
                "event_type": event_type,
                "event_id": event_id,
                "limit": limit,
                "cursor": cursor,
            }
        )
        return self._call("GET", f"/api/v1/projects/{project_id}/deliveries", params=params)

    def get_delivery(self, project_id: str, delivery_id: str) -> R:
        return self._call("GET", f"/api/v1/projects/{project_id}/deliveries/{delivery_id}")

    def resend(self, project_id: str, delivery_id: str) -> R:
        return self._call("POST", f"/api/v1/projects/{project_id}/deliveries/{delivery_id}/resend")


def _headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


class Client(_Api[Any]):
    """Blocking client. Use as a context manager or call :meth:`close`."""

    def __init__(
        self, base_url: str = "http://127.0.0.1:8000", token: str | None = None, timeout: float = 30
    ) -> None:
        self._http = httpx.Client(base_url=base_url, headers=_headers(token), timeout=timeout)

    def _call(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        return _parse(self._http.request(method, path, json=json, params=params))

    def iterate(self, list_method: Callable[..., Any], *args: Any, **kwargs: Any) -> Iterator[Json]:
        """Yield every item of a paged list, following ``next_cursor``."""
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


class AsyncClient(_Api[Awaitable[Any]]):
    """The same operations as :class:`Client`, as coroutines."""

    def __init__(
        self, base_url: str = "http://127.0.0.1:8000", token: str | None = None, timeout: float = 30
    ) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, headers=_headers(token), timeout=timeout)

    async def _request(
        self, method: str, path: str, json: Any, params: dict[str, Any] | None
    ) -> Any:
        return _parse(await self._http.request(method, path, json=json, params=params))

    def _call(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> Awaitable[Any]:
        return self._request(method, path, json, params)

    async def iterate(
        self, list_method: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any
    ) -> AsyncIterator[Json]:
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
