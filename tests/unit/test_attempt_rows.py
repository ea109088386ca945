"""An attempt's row on SQLite (``attempt_tuples``) is the row it always was.

The recorder builds these rows on the database thread, holding the GIL the event
loop needs: the header columns are written by the C encoder directly
(``jsonenc.default_text``) and a clean body skips the escape marker. Over a table
of outcomes -- clean, with NUL and non-UTF-8 escapes in bodies, headers and URL,
no answer, an error -- the row equals the one built the plain way: ``json.dumps``
and ``with_marker`` on every text.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from hookpost.core.wiretext import storable, storable_headers, with_marker
from hookpost.domain import DeliveryStatus, Outcome
from hookpost.store import _sqlite_statements as sqlite_sql
from hookpost.store._record import attempt_tuples

CLEAN = Outcome(
    delivery_id="dlv_1",
    lease="lease_1",
    number=1,
    started_at=1_700_000_000.25,
    url="http://127.0.0.1:8000/r/a?x=1",
    request_headers={"Host": "127.0.0.1:8000", "Content-Type": "application/json"},
    request_body='{"a":"b"}',
    status_code=200,
    response_headers={"Content-Type": "text/plain", "Content-Length": "2"},
    response_body="ok",
    duration_ms=1.5,
    error=None,
    status=DeliveryStatus.SUCCEEDED,
    next_attempt_at=None,
    endpoint_id="ep_1",
    project_id="prj_1",
    event_id="msg_1",
    success=True,
    endpoint_was_failing=False,
    disable_reason=None,
    profile="standard",
)

OUTCOMES = [
    CLEAN,
    dataclasses.replace(CLEAN, request_body='{"a":"\x00"}'),
    dataclasses.replace(CLEAN, response_body="a\x00b \udcff"),
    dataclasses.replace(CLEAN, request_body="", response_body=""),
    dataclasses.replace(CLEAN, request_headers={"X-Odd": "v\x00\udcfe", "X-Caf\u00e9": "\u20ac"}),
    dataclasses.replace(CLEAN, url="http://h/\x00"),
    dataclasses.replace(
        CLEAN,
        status_code=None,
        response_headers=None,
        response_body=None,
        error="connection refused: \x00",
        status=DeliveryStatus.PENDING,
        next_attempt_at=1_700_000_060.0,
        success=False,
    ),
]


def _marked(text: str, place: str) -> str:
    safe, escaped = storable(text)
    return with_marker(safe, {place: escaped})


def _plain_row(o: Outcome) -> tuple[Any, ...]:
    row = {
        "delivery_id": o.delivery_id,
        "number": o.number,
        "started_at": o.started_at,
        "url": storable(o.url)[0],
        "request_headers": json.dumps(storable_headers(o.request_headers)[0]),
        "request_body": _marked(o.request_body, "request body"),
        "status_code": o.status_code,
        "response_headers": json.dumps(
            None if o.response_headers is None else storable_headers(o.response_headers)[0]
        ),
        "response_body": (
            None if o.response_body is None else _marked(o.response_body, "response body")
        ),
        "duration_ms": o.duration_ms,
        "error": None if o.error is None else storable(o.error)[0],
    }
    return tuple(row[c] for c in sqlite_sql.ATTEMPT_COLUMNS)


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_an_attempt_row_is_the_plainly_built_one(outcome: Outcome) -> None:
    assert attempt_tuples([outcome]) == [_plain_row(outcome)]


def test_an_escaped_body_says_so_in_its_row() -> None:
    """The table above holds an escape the marker must name (not only clean rows)."""
    [row] = attempt_tuples([OUTCOMES[1]])
    body = row[sqlite_sql.ATTEMPT_COLUMNS.index("request_body")]
    assert "escapes: 1 in the request body" in body
