"""Every rule of the payload filter language, each operator's true and false outcome.

Written to kill mutants of ``hookpost.core.filters`` (``make mutation``): each
case pins one comparison, one boundary or one message, so a flipped operator,
an off-by-one limit or a changed error text fails a test here.
"""

from __future__ import annotations

from typing import Any

import pytest

from hookpost.core import filters
from hookpost.core.filters import MAX_DEPTH, MAX_NODES, FilterError, matches, validate

P: dict[str, Any] = {
    "n": 10,
    "f": 2.5,
    "s": "m",
    "b": True,
    "z": None,
    "list": [1, {"k": "v"}, 3],
    "obj": {"inner": {"x": 1}},
}

CASES: list[tuple[dict[str, Any], bool]] = [
    # literal equality
    ({"n": 10}, True),
    ({"n": 11}, False),
    ({"z": None}, True),
    ({"missing": None}, False),
    ({"obj.inner.x": 1}, True),
    ({"obj.inner": {"x": 1}}, True),  # a dict without $-keys is a literal
    ({"obj.inner": {"x": 2}}, False),
    # $eq / $neq with present-equal, present-different and missing values
    ({"n": {"$eq": 10}}, True),
    ({"n": {"$eq": 9}}, False),
    ({"n": {"$eq": 11}}, False),
    ({"s": {"$eq": "z"}}, False),
    ({"s": {"$eq": "m"}}, True),
    ({"missing": {"$eq": None}}, False),
    ({"n": {"$neq": 10}}, False),
    ({"n": {"$neq": 9}}, True),
    ({"missing": {"$neq": 10}}, True),
    # $in / $nin
    ({"s": {"$in": ["a", "m"]}}, True),
    ({"s": {"$in": ["a"]}}, False),
    ({"missing": {"$in": [None]}}, False),
    ({"s": {"$nin": ["a"]}}, True),
    ({"s": {"$nin": ["m"]}}, False),
    ({"missing": {"$nin": ["m"]}}, True),
    # $exists
    ({"z": {"$exists": True}}, True),  # present with value null still exists
    ({"z": {"$exists": False}}, False),
    ({"missing": {"$exists": True}}, False),
    ({"missing": {"$exists": False}}, True),
    # comparisons: below, at and above the argument
    ({"n": {"$gt": 9}}, True),
    ({"n": {"$gt": 10}}, False),
    ({"n": {"$gt": 11}}, False),
    ({"n": {"$gte": 9}}, True),
    ({"n": {"$gte": 10}}, True),
    ({"n": {"$gte": 11}}, False),
    ({"n": {"$lt": 9}}, False),
    ({"n": {"$lt": 10}}, False),
    ({"n": {"$lt": 11}}, True),
    ({"n": {"$lte": 9}}, False),
    ({"n": {"$lte": 10}}, True),
    ({"n": {"$lte": 11}}, True),
    ({"f": {"$gt": 2}}, True),  # floats and ints compare
    ({"f": {"$lt": 2.5}}, False),
    ({"s": {"$gt": "a"}}, True),  # strings compare with strings
    ({"s": {"$lt": "a"}}, False),
    ({"s": {"$lte": "m"}}, True),
    ({"s": {"$gt": 1}}, False),  # never across types
    ({"n": {"$lt": "z"}}, False),
    ({"b": {"$gte": 0}}, False),  # booleans are not numbers
    ({"z": {"$lt": 1}}, False),
    ({"z": {"$lt": "a"}}, False),  # null against a string
    ({"obj": {"$gte": "a"}}, False),
    ({"list": {"$lte": "a"}}, False),
    ({"obj": {"$gt": 1}}, False),
    ({"missing": {"$lt": 100}}, False),
    # several operators in one condition: all must hold
    ({"n": {"$gt": 5, "$lt": 20}}, True),
    ({"n": {"$gt": 5, "$lt": 10}}, False),
    ({"n": {"$gt": 10, "$lt": 20}}, False),
    # paths into lists
    ({"list.0": 1}, True),
    ({"list.1.k": "v"}, True),
    ({"list.2": 3}, True),
    ({"list.3": {"$exists": False}}, True),  # out of range is missing
    ({"list.3": {"$exists": True}}, False),
    ({"list.x": {"$exists": True}}, False),  # a list has no named parts
    ({"list.-1": {"$exists": True}}, False),
    ({"n.x": {"$exists": True}}, False),  # a scalar has no parts
    # $and / $or, passing and failing
    ({"$and": [{"n": 10}, {"s": "m"}]}, True),
    ({"$and": [{"n": 10}, {"s": "x"}]}, False),
    ({"$and": [{"n": 1}, {"s": "m"}]}, False),
    ({"$or": [{"n": 1}, {"s": "m"}]}, True),
    ({"$or": [{"n": 10}, {"s": "x"}]}, True),
    ({"$or": [{"n": 1}, {"s": "x"}]}, False),
    # every key of the filter must hold
    ({"n": 10, "s": "x"}, False),
    ({"n": 10, "s": "m"}, True),
    ({"$or": [{"n": 10}], "s": "x"}, False),
    ({"$and": [{"n": 10}], "s": "x"}, False),
    ({"$and": [{"n": 10}], "s": "m"}, True),
]


@pytest.mark.parametrize(("flt", "expected"), CASES)
def test_matches_each_operator_both_ways(flt: dict[str, Any], expected: bool) -> None:
    validate(flt)
    assert matches(flt, P) is expected


def test_a_boolean_argument_never_compares() -> None:
    # validate() refuses it; matches() must still say no if one is stored.
    assert matches({"n": {"$gte": True}}, P) is False
    assert matches({"n": {"$lte": True}}, {"n": 0}) is False


@pytest.mark.parametrize("flt", [None, {}])
def test_no_filter_passes_everything(flt: dict[str, Any] | None) -> None:
    assert matches(flt, {}) is True
    assert matches(flt, None) is True


ERRORS: list[tuple[Any, str, str]] = [
    ([], "filter", "must be an object"),
    ("x", "filter", "must be an object"),
    ({"$nor": [{"a": 1}]}, "filter.$nor", "unknown logical operator (use $and or $or)"),
    ({"$and": []}, "filter.$and", "must be a non-empty list of filters"),
    ({"$or": {"a": 1}}, "filter.$or", "must be a non-empty list of filters"),
    ({"$and": [{"a": 1}, 3]}, "filter.$and.1", "must be an object"),
    ({"": 1}, "filter.", "is not a valid dotted path"),
    ({"a.": 1}, "filter.a.", "is not a valid dotted path"),
    ({".a": 1}, "filter..a", "is not a valid dotted path"),
    (
        {"a": {"$like": 1}},
        "filter.a.$like",
        "unknown operator; known: $eq, $exists, $gt, $gte, $in, $lt, $lte, $neq, $nin",
    ),
    ({"a": {"$in": "x"}}, "filter.a.$in", "must be a list"),
    ({"a": {"$nin": {"x": 1}}}, "filter.a.$nin", "must be a list"),
    ({"a": {"$exists": 1}}, "filter.a.$exists", "must be true or false"),
    ({"a": {"$exists": "true"}}, "filter.a.$exists", "must be true or false"),
    ({"a": {"$gt": True}}, "filter.a.$gt", "must be a number or a string"),
    ({"a": {"$gte": None}}, "filter.a.$gte", "must be a number or a string"),
    ({"a": {"$lt": [1]}}, "filter.a.$lt", "must be a number or a string"),
    ({"a": {"$lte": {}}}, "filter.a.$lte", "must be a number or a string"),
    ({"a": 1, "b": {"$in": 2}}, "filter.b.$in", "must be a list"),
]


@pytest.mark.parametrize(("flt", "path", "message"), ERRORS)
def test_invalid_filters_name_the_place_and_problem(flt: Any, path: str, message: str) -> None:
    with pytest.raises(FilterError) as info:
        validate(flt)
    assert (info.value.path, info.value.message) == (path, message)
    assert str(info.value) == f"{path}: {message}"


@pytest.mark.parametrize(
    "flt",
    [
        {"a": {"$in": []}},
        {"a": {"$gt": 1.5, "$lt": "z"}},
        {"a": {"$exists": False}, "b.c": [1, 2]},
        {"a": {"x": 1}},  # a literal object
        {"a": {"$eq": None, "$neq": [1]}},
    ],
)
def test_valid_filters_pass_validation(flt: Any) -> None:
    validate(flt)


def test_custom_root_path_names_errors() -> None:
    with pytest.raises(FilterError) as info:
        validate({"a": {"$in": 1}}, "payload_filter")
    assert info.value.path == "payload_filter.a.$in"


def _nested(levels: int) -> dict[str, Any]:
    flt: dict[str, Any] = {"a": 1}
    for _ in range(levels):
        flt = {"$and": [flt]}
    return flt


def test_depth_limit_is_exact() -> None:
    assert MAX_DEPTH == 8
    validate(_nested(MAX_DEPTH))
    assert matches(_nested(MAX_DEPTH), {"a": 1}) is True
    with pytest.raises(FilterError) as info:
        validate(_nested(MAX_DEPTH + 1))
    assert info.value.message == "nested deeper than 8 levels"
    assert info.value.path == "filter" + ".$and.0" * (MAX_DEPTH + 1)


def test_node_limit_is_exact() -> None:
    assert MAX_NODES == 200
    validate({"$or": [{"a": i} for i in range(MAX_NODES - 1)]})  # 1 + 199 objects
    with pytest.raises(FilterError) as info:
        validate({"$or": [{"a": i} for i in range(MAX_NODES)]})
    assert info.value.message == "too complex (more than 200 conditions)"
    assert info.value.path == f"filter.$or.{MAX_NODES - 1}"


def test_node_count_spans_the_whole_filter() -> None:
    # Two branches of 100 objects each plus the two lists' holders: 1 + 2 + 200 > 200.
    half = [{"a": i} for i in range(100)]
    with pytest.raises(FilterError, match="too complex"):
        validate({"$and": [{"$or": half}, {"$or": half}]})


def test_operator_sets() -> None:
    assert {"$gt", "$gte", "$lt", "$lte"} == filters._COMPARE
    assert filters._OPERATORS == {
        "$eq", "$neq", "$in", "$nin", "$exists", "$gt", "$gte", "$lt", "$lte"
    }  # fmt: skip
