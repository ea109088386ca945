"""Reading the REST API's answers in tests: errors that name their field, due times."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx


def expect_error(r: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    """Assert a JSON error of ``status``; if ``field`` is given it is named in the message
    (and, for 422 validation errors, in ``detail[].field``)."""
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json"), r.headers
    body = r.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    assert isinstance(body.get("message"), str) and body["message"], body
    if field is not None:
        assert field in body["message"], body
    return dict(body)


def expect_field(r: httpx.Response, field: str) -> dict[str, Any]:
    """A 422 validation error whose message and ``detail[].field`` name ``field``."""
    body = expect_error(r, 422, field)
    named = [d["field"] for d in body["detail"]]
    assert any(f == field or f.startswith(field + ".") for f in named), body
    return body


def due_in(delivery: dict[str, object], now: float) -> float:
    """Seconds from ``now`` until an API delivery's ``next_attempt_at``."""
    return datetime.fromisoformat(str(delivery["next_attempt_at"])).timestamp() - now
