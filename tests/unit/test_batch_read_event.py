"""A batch's events read without the model (``read_event``) exactly as ``EventIn`` reads them.

``read_event`` may decline any event (``None``: the model then decides), but
what it accepts the model must accept too, and read the same: the same type,
payload and event_id, and the payload's text ``jsonenc.compact``'s. A table of
the edges each check has (types, patterns, lengths, the payload's JSON and
shape limits), then hypothesis-made events and payloads; the plain events a
batch carries must take the fast way.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from hookpost.core import jsonenc, limits
from hookpost.web.schemas import EventIn, read_event
from hookpost.web.schemas.common import json_payload_text


def ev(event_type: Any = "user.created", payload: Any = None, **kw: Any) -> dict[str, Any]:
    return {"event_type": event_type, "payload": {"n": 1} if payload is None else payload, **kw}


def _nested(levels: int) -> dict[str, Any]:
    value: Any = 1
    for _ in range(levels - 1):
        value = [value]
    return {"a": value}


#: (name, event, taken the fast way)
TABLE: list[tuple[str, Any, bool]] = [
    ("plain", ev(), True),
    ("with event_id", ev(event_id="inv_1:2.3-x"), True),
    ("event_id null", ev(event_id=None), True),
    ("non-ASCII payload", ev(payload={"n": "Зоя 😀", "é": "\u2028"}), True),
    ("floats", ev(payload={"f": 1.0, "g": 1e-05, "h": -0.0, "i": 1e16}), True),
    ("big integer", ev(payload={"n": 2**70}), True),
    ("empty payload", ev(payload={}), True),
    ("255-character type", ev("a" * 255), True),
    ("255-character event_id", ev(event_id="x" * 255), True),
    ("64 levels", ev(payload=_nested(63)), True),
    ("many brackets, shallow", ev(payload={"a": [[i] for i in range(100)]}), True),
    ("65 levels", ev(payload=_nested(65)), False),
    ("too many values", ev(payload={"a": [0] * (limits.MAX_NODES + 1)}), False),
    ("NaN", ev(payload={"n": float("nan")}), False),
    ("Infinity", ev(payload={"n": float("inf")}), False),
    ("unpaired surrogate", ev(payload={"s": "\ud800"}), False),
    ("surrogate in a key", ev(payload={"\udfff": 1}), False),
    ("256-character type", ev("a" * 256), False),
    ("256-character event_id", ev(event_id="x" * 256), False),
    ("empty event_id", ev(event_id=""), False),
    ("type with a space", ev("not a type"), False),
    ("type with a trailing newline", ev("a.b\n"), False),
    ("type ending in a dot", ev("a."), False),
    ("event_id with a newline", ev(event_id="a\n"), False),
    ("event_id with NUL", ev(event_id="a\x00"), False),
    ("event_id a number", ev(event_id=7), False),
    ("type a number", ev(7), False),
    ("type missing", {"payload": {}}, False),
    ("payload missing", {"event_type": "a.b"}, False),
    ("payload a list", ev(payload=[1, 2]), False),
    ("payload null", {"event_type": "a.b", "payload": None}, False),
    ("unknown field", {**ev(), "extra": 1}, False),
    ("not an object", "not an object", False),
    ("a list", [ev()], False),
    ("null", None, False),
]


@pytest.mark.parametrize(("name", "event", "fast"), TABLE, ids=[t[0] for t in TABLE])
def test_the_table(name: str, event: Any, fast: bool) -> None:
    read = read_event(event)
    assert (read is not None) is fast
    _agrees(event, read)


def _agrees(event: Any, read: tuple[str, dict[str, Any], str, str | None] | None) -> None:
    """What ``read_event`` accepts, ``EventIn`` accepts and reads the same."""
    if read is None:
        return
    model = EventIn.model_validate(event)  # raises if the fast way let a bad event in
    assert read == (model.event_type, model.payload, jsonenc.compact(model.payload), model.event_id)


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and the infinities among them
    | st.text(),  # unpaired surrogates among them
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)
_names = st.sampled_from(["user.created", "a", "a.b-c_d", "a..b", "", " a", "a.b\n", "x" * 256])
_events = st.one_of(
    st.fixed_dictionaries(
        {"event_type": _names | st.text(max_size=8), "payload": _json},
        optional={
            "event_id": st.none() | st.text(max_size=8) | st.integers(),
            "extra": st.integers(),
        },
    ),
    _json,
)


@settings(max_examples=400, deadline=None)
@given(_events)
def test_made_events(event: Any) -> None:
    try:
        read = read_event(event)
    except Exception as exc:  # pragma: no cover - the fast way never raises
        raise AssertionError(f"read_event raised {exc!r}") from exc
    if read is None:
        try:
            EventIn.model_validate(event)
        except ValidationError:
            return
    _agrees(event, read)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(), _json, max_size=6))
def test_a_payload_text_is_the_stored_text_of_an_accepted_payload(payload: dict[str, Any]) -> None:
    text = json_payload_text(payload)
    try:
        EventIn.model_validate({"event_type": "a", "payload": payload})
    except ValidationError:
        assert text is None
        return
    assert text == jsonenc.compact(payload)
    assert json.loads(text) == json.loads(jsonenc.compact(payload))
