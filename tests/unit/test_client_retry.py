"""The client's retry decisions, error classes and request headers, over ``httpx.MockTransport``.

The live-server side (a flaky proxy in front of a real hookpost) is in
tests/integration/test_client_operations.py; here each rule is one row of a table.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

import hookpost
from hookpost.client import (
    BadRequest,
    Client,
    Conflict,
    ConnectionFailed,
    Forbidden,
    HookpostError,
    NotFound,
    RateLimited,
    RetryPolicy,
    ServerError,
    Unauthorized,
    ValidationFailed,
)


@pytest.mark.parametrize(
    ("retry", "headers", "rand", "expected"),
    [
        (0, None, 0.0, 0.25),  # backoff 0.5: half of it, plus the random half
        (0, None, 0.999999, 0.5),
        (1, None, 0.0, 0.5),  # doubles
        (2, None, 0.0, None),  # max_retries 2: no third retry
        (0, {"retry-after": "3"}, 0.0, 3.0),  # the server's word wins
        (0, {"retry-after": "0"}, 0.5, 0.0),
        (0, {"retry-after": "61"}, 0.0, None),  # longer than max_wait: give up
        (0, {"retry-after": "soon"}, 0.0, 0.25),  # garbled: backoff
        (0, {"retry-after": "-1"}, 0.0, 0.25),
    ],
)
def test_wait_table(
    retry: int, headers: dict[str, str] | None, rand: float, expected: float | None
) -> None:
    policy = RetryPolicy(max_retries=2, backoff=0.5, max_wait=60)
    assert policy.wait(retry, headers, rand=rand) == pytest.approx(expected)


def test_backoff_is_capped_and_retry_after_dates_count() -> None:
    policy = RetryPolicy(max_retries=20, backoff=1, max_wait=8)
    assert policy.wait(10, None, rand=0.999999) == pytest.approx(8)
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=5), usegmt=True)
    assert 3 < (policy.wait(0, {"retry-after": later}) or 0) <= 5
    with pytest.raises(ValueError):
        RetryPolicy(max_retries=-1)


@pytest.mark.parametrize(
    ("status", "code", "retried"),
    [
        (429, "rate_limited", True),
        (502, None, True),
        (503, "service_unavailable", True),
        (504, None, True),
        (507, "insufficient_storage", True),
        (500, "internal_error", False),  # a bug: trying again repeats it
        (409, "idempotency_key_in_use", True),  # our own earlier try still running
        (409, "conflict", False),
        (400, None, False),
        (401, None, False),
        (404, None, False),
        (422, None, False),
    ],
)
def test_what_is_retried(status: int, code: str | None, retried: bool) -> None:
    assert RetryPolicy().should_retry(status, code) is retried


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequest),
        (401, Unauthorized),
        (403, Forbidden),
        (404, NotFound),
        (409, Conflict),
        (413, BadRequest),
        (415, BadRequest),
        (422, ValidationFailed),
        (429, RateLimited),
        (500, ServerError),
        (503, ServerError),
        (418, HookpostError),
    ],
)
def test_error_class_by_status(status: int, cls: type[HookpostError]) -> None:
    body = {"error": "x", "message": "why", "detail": []}
    with _client(lambda r: httpx.Response(status, json=body), max_retries=0) as hp:
        with pytest.raises(HookpostError) as err:
            hp.get_project("proj_1")
    assert type(err.value) is cls
    assert err.value.status == status and err.value.message == "why" and err.value.code == "x"


def test_validation_fields_and_retry_after() -> None:
    detail = [
        {"field": "url", "message": "must include a host", "type": "value_error"},
        {"field": "rate_limit", "message": "must be > 0", "type": "greater_than"},
        {"field": "url", "message": "must be http(s)", "type": "value_error"},
    ]
    invalid_body = {"error": "validation_error", "message": "m", "detail": detail}
    limited_body = {"error": "rate_limited", "message": "m"}
    answers = iter(
        [
            httpx.Response(422, json=invalid_body),
            httpx.Response(429, json=limited_body, headers={"Retry-After": "7"}),
        ]
    )
    with _client(lambda r: next(answers), max_retries=0) as hp:
        with pytest.raises(ValidationFailed) as invalid:
            hp.create_endpoint("proj_1", "ftp://x")
        assert invalid.value.fields == {
            "url": "must include a host; must be http(s)",
            "rate_limit": "must be > 0",
        }
        with pytest.raises(RateLimited) as limited:
            hp.list_projects()
        assert limited.value.retry_after == 7


def test_retries_reuse_one_idempotency_key_per_call() -> None:
    seen: list[httpx.Request] = []
    plan = [503, 502, 201, 201]

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status = plan.pop(0)
        if status == 201:
            return httpx.Response(201, json={"id": "proj_1", "name": "a", "created_at": "t"})
        return httpx.Response(status, json={"error": "unavailable", "message": "m"})

    with _client(answer, max_retries=2) as hp:
        assert hp.create_project("a")["id"] == "proj_1"
        hp.create_project("a")  # a second logical call: a new key
    keys = [r.headers["idempotency-key"] for r in seen]
    assert keys[0] == keys[1] == keys[2] != keys[3]
    assert [json.loads(r.content) for r in seen] == [{"name": "a"}] * 4


def test_get_patch_delete_carry_no_idempotency_key() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204) if request.method == "DELETE" else httpx.Response(200, json={})

    with _client(answer) as hp:
        hp.get_project("p")
        hp.update_project("p", name="b")
        assert hp.delete_project("p") is None
    assert [("idempotency-key" in r.headers) for r in seen] == [False, False, False]


def test_retries_are_bounded() -> None:
    calls = 0

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(503, json={"error": "unavailable", "message": "m"})

    with _client(answer, max_retries=3) as hp:
        with pytest.raises(ServerError) as err:
            hp.publish("p", "a.b", {})
    assert calls == 4 and err.value.status == 503
    calls = 0
    with _client(answer, max_retries=0) as hp, pytest.raises(ServerError):
        hp.list_projects()
    assert calls == 1


def test_connection_errors_are_wrapped_and_retried() -> None:
    calls = 0

    def refuse(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError("connection refused", request=request)

    with _client(refuse, max_retries=2) as hp:
        with pytest.raises(ConnectionFailed) as err:
            hp.health()
    assert calls == 3
    assert err.value.status == 0 and "ConnectError" in str(err.value)
    assert isinstance(err.value.__cause__, httpx.ConnectError)
    assert isinstance(err.value, HookpostError)


def test_readyz_not_ready_is_an_answer_and_metrics_text() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/metrics":
            return httpx.Response(200, text="# HELP x\nx 1\n")
        body = {"status": "not ready", "checks": {"database": "unreachable"}}
        return httpx.Response(503, json=body)

    with _client(answer, max_retries=2) as hp:
        assert hp.ready()["checks"] == {"database": "unreachable"}
        assert hp.metrics().startswith("# HELP")


def test_user_agent_token_and_extra_headers() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"status": "ok"})

    with _client(answer) as hp:
        hp.health()
    with _client(answer, user_agent="billing/2.1", headers={"X-Trace": "t1"}) as hp:
        hp.health()
    assert seen[0].headers["user-agent"] == f"hookpost-python/{hookpost.__version__}"
    assert seen[0].headers["authorization"] == "Bearer tok"
    assert seen[1].headers["user-agent"] == "billing/2.1" and seen[1].headers["x-trace"] == "t1"


def test_none_arguments_are_left_to_the_server() -> None:
    seen: list[Any] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(201, json={})

    with _client(answer) as hp:
        hp.create_endpoint("p", "https://x.example/h", rate_limit=2.5, filter=None, ordering="fifo")
    assert seen == [{"url": "https://x.example/h", "rate_limit": 2.5, "ordering": "fifo"}]


def _client(handler: Callable[[httpx.Request], httpx.Response], **options: Any) -> Client:
    options.setdefault("backoff", 0)
    return Client(
        "http://hookpost.test", token="tok", transport=httpx.MockTransport(handler), **options
    )


def test_methods_show_their_own_signature_and_doc() -> None:
    import inspect

    with Client("http://hookpost.test") as hp:
        sig = inspect.signature(hp.publish)
        assert list(sig.parameters) == [
            "project_id",
            "event_type",
            "payload",
            "event_id",
            "idempotency_key",
        ]
        assert sig.return_annotation == "EventAccepted"
        assert hp.publish.__name__ == "publish" and "event_id" in (hp.publish.__doc__ or "")
        assert inspect.signature(hp.list_deliveries).return_annotation == "Page[Delivery]"
