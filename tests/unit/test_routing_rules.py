"""Routing: which endpoints an event goes to (subscriptions, families, filters, test events)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from hookpost.domain import event_types_match, targets


@dataclass
class _Endpoint:
    id: str
    enabled: Any = True
    event_types: tuple[str, ...] = ()
    filter: Any = None


# (subscribed, event type, matches)
MATCH = [
    ((), "user.created", True),  # [] subscribes to everything
    (("user.created",), "user.created", True),
    (("user.created",), "user.deleted", False),
    (("*",), "anything.at.all", True),
    (("user.*",), "user.created", True),
    (("user.*",), "user.profile.updated", True),
    (("user.*",), "user", False),  # the family needs the dot
    (("user.*",), "users.created", False),
    (("user.*",), "xuser.created", False),
    (("user*",), "user.created", False),  # only ".*" is a wildcard
    (("user.",), "user.created", False),
    (("*.created",), "user.created", False),
    (("a", "b", "user.*"), "user.x", True),  # any pattern of several
    (("a", "b"), "c", False),
    (("user.created", "*"), "x", True),
    (("",), "", True),
    (("",), "x", False),
    ((".*",), ".x", True),
    ((".*",), "x", False),
]


@pytest.mark.parametrize(("subscribed", "event_type", "expected"), MATCH)
def test_event_types_match(subscribed: tuple[str, ...], event_type: str, expected: bool) -> None:
    assert event_types_match(subscribed, event_type) is expected


AMOUNT_OVER_10 = {"amount": {"$gt": 10}}


def _payload(amount: int) -> str:
    return json.dumps({"amount": amount})


# (endpoints, event type, payload, only endpoint, expected)
TARGETS = [
    ([], "a", "{}", None, []),
    ([_Endpoint("e1")], "a", "{}", None, [("e1", True)]),
    ([_Endpoint("e1", enabled=0)], "a", "{}", None, [("e1", False)]),  # disabled: held
    ([_Endpoint("e1", enabled=1)], "a", "{}", None, [("e1", True)]),  # truthy becomes bool
    ([_Endpoint("e1", event_types=("b",))], "a", "{}", None, []),
    ([_Endpoint("e1", event_types=("a",))], "a", "{}", None, [("e1", True)]),  # its own type
    ([_Endpoint("e1", event_types=("user.*",))], "user.created", "{}", None, [("e1", True)]),
    ([_Endpoint("e1", event_types=("user.*",))], "order.created", "{}", None, []),
    (
        [_Endpoint("e1", event_types=("b",)), _Endpoint("e2"), _Endpoint("e3", enabled=False)],
        "a",
        "{}",
        None,
        [("e2", True), ("e3", False)],
    ),
    ([_Endpoint("e1", filter=AMOUNT_OVER_10)], "a", _payload(11), None, [("e1", True)]),
    ([_Endpoint("e1", filter=AMOUNT_OVER_10)], "a", _payload(10), None, []),
    ([_Endpoint("e1", filter={})], "a", "not json", None, [("e1", True)]),  # empty filter: no parse
    (
        [_Endpoint("e1", filter=AMOUNT_OVER_10), _Endpoint("e2", filter={"amount": {"$lt": 5}})],
        "a",
        _payload(3),
        None,
        [("e2", True)],
    ),
    (
        [_Endpoint("e1", filter=AMOUNT_OVER_10), _Endpoint("e2", filter=AMOUNT_OVER_10)],
        "a",
        _payload(20),
        None,
        [("e1", True), ("e2", True)],
    ),
    # a filtered endpoint not subscribed to the type never parses the payload
    ([_Endpoint("e1", event_types=("b",), filter=AMOUNT_OVER_10)], "a", "not json", None, []),
    # a test event goes to the named endpoint only, whatever its subscription and filter
    (
        [_Endpoint("e1"), _Endpoint("e2", event_types=("b",), filter=AMOUNT_OVER_10)],
        "a",
        _payload(1),
        "e2",
        [("e2", True)],
    ),
    ([_Endpoint("e1", enabled=0)], "a", "{}", "e1", [("e1", False)]),
    ([_Endpoint("e1")], "a", "{}", "e9", []),
    ([_Endpoint("e1")], "a", "{}", "", []),  # an empty name is a name, not "no test"
]


@pytest.mark.parametrize(("endpoints", "event_type", "payload", "only", "expected"), TARGETS)
def test_targets(
    endpoints: list[_Endpoint],
    event_type: str,
    payload: str,
    only: str | None,
    expected: list[tuple[str, bool]],
) -> None:
    got = targets(endpoints, event_type, payload, only_endpoint=only)
    assert got == expected
    assert all(type(enabled) is bool for _, enabled in got)


def test_payload_parsed_once_for_many_filters(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = json.loads

    def counting(s: str) -> Any:
        calls.append(s)
        return real(s)

    monkeypatch.setattr("hookpost.domain._routing.json.loads", counting)
    eps = [_Endpoint(f"e{i}", filter=AMOUNT_OVER_10) for i in range(5)]
    assert len(targets(eps, "a", _payload(11))) == 5
    assert calls == [_payload(11)]
