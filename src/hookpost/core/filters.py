"""Payload filters: which events an endpoint receives, by the content of the payload.

A filter is a JSON object in a small MongoDB-like language, evaluated against
the event payload at fan-out time::

    {"to": {"$in": ["0xabc", "0xdef"]}}                       # Gluwa: whitelisted addresses
    {"$or": [{"amount": {"$gte": 100}}, {"currency.code": "MNT"}]}

A key is a dotted path into the payload; its value is either a literal
(``$eq``) or an object of operators: ``$eq $neq $in $nin $gt $gte $lt $lte
$exists``. ``$and`` / ``$or`` take lists of filters. A path that does not exist
matches only ``$exists: false``, ``$neq`` and ``$nin``.
"""

from __future__ import annotations

from typing import Any

_COMPARE = {"$gt", "$gte", "$lt", "$lte"}
_OPERATORS = {"$eq", "$neq", "$in", "$nin", "$exists", *_COMPARE}
_MISSING = object()
MAX_DEPTH = 8
MAX_NODES = 200


class FilterError(ValueError):
    """The filter is not valid; ``path`` says where (e.g. ``filter.$or.1.amount``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def validate(flt: Any, path: str = "filter") -> None:
    """Raise :class:`FilterError` naming the first problem."""
    counter = [0]
    _validate(flt, path, 0, counter)


def _validate(flt: Any, path: str, depth: int, counter: list[int]) -> None:
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise FilterError(path, f"too complex (more than {MAX_NODES} conditions)")
    if depth > MAX_DEPTH:
        raise FilterError(path, f"nested deeper than {MAX_DEPTH} levels")
    if not isinstance(flt, dict):
        raise FilterError(path, "must be an object")
    for key, cond in flt.items():
        here = f"{path}.{key}"
        if key in ("$and", "$or"):
            if not isinstance(cond, list) or not cond:
                raise FilterError(here, "must be a non-empty list of filters")
            for i, sub in enumerate(cond):
                _validate(sub, f"{here}.{i}", depth + 1, counter)
        elif key.startswith("$"):
            raise FilterError(here, "unknown logical operator (use $and or $or)")
        elif not key or any(not part for part in key.split(".")):
            raise FilterError(here, "is not a valid dotted path")
        elif isinstance(cond, dict) and any(k.startswith("$") for k in cond):
            for op, arg in cond.items():
                where = f"{here}.{op}"
                if op not in _OPERATORS:
                    raise FilterError(
                        where, f"unknown operator; known: {', '.join(sorted(_OPERATORS))}"
                    )
                if op in ("$in", "$nin") and not isinstance(arg, list):
                    raise FilterError(where, "must be a list")
                if op == "$exists" and not isinstance(arg, bool):
                    raise FilterError(where, "must be true or false")
                if op in _COMPARE and (
                    isinstance(arg, bool) or not isinstance(arg, int | float | str)
                ):
                    raise FilterError(where, "must be a number or a string")


def _lookup(payload: Any, path: str) -> Any:
    value = payload
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _compare(op: str, value: Any, arg: Any) -> bool:
    # Numbers compare with numbers, strings with strings; anything else is no match.
    if isinstance(value, bool) or isinstance(arg, bool):
        return False
    value_num = isinstance(value, int | float)
    if value_num != isinstance(arg, int | float) or (
        not value_num and not (isinstance(value, str) and isinstance(arg, str))
    ):
        return False
    if op == "$gt":
        return bool(value > arg)
    if op == "$gte":
        return bool(value >= arg)
    if op == "$lt":
        return bool(value < arg)
    return bool(value <= arg)


def _condition(value: Any, cond: Any) -> bool:
    if not (isinstance(cond, dict) and any(k.startswith("$") for k in cond)):
        return value is not _MISSING and value == cond
    for op, arg in cond.items():
        if op == "$exists":
            ok = (value is not _MISSING) == arg
        elif op == "$eq":
            ok = value is not _MISSING and value == arg
        elif op == "$neq":
            ok = value is _MISSING or value != arg
        elif op == "$in":
            ok = value is not _MISSING and value in arg
        elif op == "$nin":
            ok = value is _MISSING or value not in arg
        else:
            ok = value is not _MISSING and _compare(op, value, arg)
        if not ok:
            return False
    return True


def matches(flt: dict[str, Any] | None, payload: Any) -> bool:
    """Does ``payload`` pass ``flt``? ``None`` or ``{}`` passes everything."""
    if not flt:
        return True
    for key, cond in flt.items():
        if key == "$and":
            if not all(matches(sub, payload) for sub in cond):
                return False
        elif key == "$or":
            if not any(matches(sub, payload) for sub in cond):
                return False
        elif not _condition(_lookup(payload, key), cond):
            return False
    return True
