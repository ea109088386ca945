"""The payload filter language (pure functions; fan-out: tests/integration/test_faults.py)."""

from __future__ import annotations

import pytest

from hookpost.core.filters import FilterError, matches, validate

PAYLOAD = {
    "to": "0xabc",
    "amount": 150,
    "currency": {"code": "MNT"},
    "tags": ["a", "b"],
    "flag": False,
}


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({}, True),
        ({"to": "0xabc"}, True),
        ({"to": "0xdef"}, False),
        ({"to": {"$in": ["0xabc", "0xdef"]}}, True),
        ({"to": {"$nin": ["0xabc"]}}, False),
        ({"currency.code": {"$eq": "MNT"}}, True),
        ({"currency.code": {"$neq": "MNT"}}, False),
        ({"amount": {"$gt": 100, "$lte": 150}}, True),
        ({"amount": {"$gt": 150}}, False),
        ({"amount": {"$gte": "100"}}, False),  # no cross-type comparison
        ({"missing": {"$exists": False}}, True),
        ({"missing": {"$exists": True}}, False),
        ({"missing": {"$neq": 1}}, True),
        ({"missing": 1}, False),
        ({"tags.1": "b"}, True),
        ({"flag": False}, True),
        ({"flag": {"$lt": 1}}, False),  # booleans are not numbers
        ({"$or": [{"amount": {"$lt": 10}}, {"to": "0xabc"}]}, True),
        ({"$and": [{"amount": {"$gt": 10}}, {"to": "0xdef"}]}, False),
    ],
)
def test_matches(flt: dict[str, object], expected: bool) -> None:
    validate(flt)
    assert matches(flt, PAYLOAD) is expected


@pytest.mark.parametrize(
    ("flt", "where"),
    [
        ([], "filter"),
        ({"$nor": []}, "filter.$nor"),
        ({"$or": []}, "filter.$or"),
        ({"$or": [{"a": 1}, "x"]}, "filter.$or.1"),
        ({"a": {"$regex": "x"}}, "filter.a.$regex"),
        ({"a": {"$in": "x"}}, "filter.a.$in"),
        ({"a": {"$exists": 1}}, "filter.a.$exists"),
        ({"a": {"$gt": [1]}}, "filter.a.$gt"),
        ({"a..b": 1}, "filter.a..b"),
    ],
)
def test_invalid_filters_name_the_problem(flt: object, where: str) -> None:
    with pytest.raises(FilterError) as info:
        validate(flt)
    assert info.value.path == where


def test_depth_and_size_bounded() -> None:
    deep: dict[str, object] = {"a": 1}
    for _ in range(20):
        deep = {"$and": [deep]}
    with pytest.raises(FilterError, match="deeper"):
        validate(deep)
    with pytest.raises(FilterError, match="complex"):
        validate({"$or": [{"a": i} for i in range(500)]})
