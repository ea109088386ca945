"""The one JSON serializer for bodies on the wire.

Compact separators, key order kept, non-ASCII unescaped -- and numbers and
integer-like keys written the way JavaScript's ``JSON.stringify`` writes them,
so a receiver that re-serializes the parsed body before verifying (as the Just
Wallet and Gluwa guides tell their customers to) gets exactly the bytes that
were signed. Python and JavaScript differ on floats (``1.0`` vs ``1``,
``1e-05`` vs ``0.00001``, ``1e+16`` vs ``10000000000000000``) and on object
keys that look like array indices (JavaScript lists them first, ascending).
The common case has neither and takes the C encoder unchanged.

Integers beyond 2**53 cannot be matched: JavaScript itself loses them.
"""

from __future__ import annotations

import json
import re
import secrets
from decimal import Decimal
from typing import Any

_ARRAY_INDEX_MAX = 2**32 - 2


#: A float's placeholder as the json module writes it: "\u0000<token>:<index>\u0000".
_PLACEHOLDER = re.compile(r'"\\u0000([0-9a-f]{16}):(\d+)\\u0000"')


def dumps(value: Any) -> bytes:
    if not _needs_js_form(value):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    # The json module always prints floats its own way, so floats travel as
    # placeholder strings carrying a random token and are swapped for their
    # JavaScript text after; a payload string that merely looks like one
    # (without this call's token) is left alone.
    token = secrets.token_hex(8)
    numbers: list[str] = []
    text = json.dumps(_js_form(value, token, numbers), separators=(",", ":"), ensure_ascii=False)

    def swap(m: re.Match[str]) -> str:
        return numbers[int(m.group(2))] if m.group(1) == token else m.group(0)

    return _PLACEHOLDER.sub(swap, text).encode("utf-8")


def compact(value: Any) -> str:
    """Compact JSON text, as the store keeps payloads (the C encoder: fast).

    Payloads are stored in Python's number forms; the wire form above is made
    from them when a profile builds a body, so it is computed once per
    delivery body rather than on every publish.
    """
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


#: The C encoder behind :func:`compact`, called directly, refusing NaN and infinities
#: (``ValueError``) and without the check for circular references.
_COMPACT_PARSED: Any = (
    json.encoder.c_make_encoder(  # type: ignore[attr-defined]
        None, None, json.encoder.encode_basestring, None, ":", ",", False, False, False
    )
    if getattr(json.encoder, "c_make_encoder", None) is not None
    else json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).iterencode
)


def compact_parsed(value: Any) -> str:
    """:func:`compact`'s text for a value parsed from JSON, a fifth cheaper for a 1 KB
    payload (the batch and publish routes encode every payload once with it).

    No ``JSONEncoder.encode`` wrapper and no bookkeeping for circular references,
    which a parsed body cannot hold (``RecursionError`` if one did); NaN and
    infinities are refused (``ValueError``), as a payload must be JSON.
    """
    return "".join(_COMPACT_PARSED(value, 0))


#: The C encoder behind ``json.dumps`` with its defaults (``", "``/``": "``, ASCII,
#: NaN allowed), called directly: no ``JSONEncoder`` built per call.
_DEFAULT_TEXT: Any = (
    json.encoder.c_make_encoder(  # type: ignore[attr-defined]
        None, None, json.encoder.encode_basestring_ascii, None, ": ", ", ", False, False, True
    )
    if getattr(json.encoder, "c_make_encoder", None) is not None
    else json.JSONEncoder().iterencode
)


def default_text(value: Any) -> str:
    """``json.dumps(value)``, exactly, for values that hold no cycle (as SQLAlchemy's
    JSON type writes a column): an attempt's two header columns are written with it,
    a 9-header dict in 1.2 us instead of 2.0."""
    return "".join(_DEFAULT_TEXT(value, 0))


def loads(data: bytes | str) -> Any:
    return json.loads(data)


class _PlainDict(dict[str, Any]):
    """A parsed object :func:`loads_stored` found no float and no index-like key in."""


class _PlainList(list[Any]):
    """A parsed array :func:`loads_stored` found no float and no index-like key in."""


class _HasFloat(Exception):
    pass


def _refuse_float(_text: str) -> Any:
    raise _HasFloat


#: Parses as ``json.loads`` does, but stops at the first float (or NaN, infinity).
_NO_FLOATS = json.JSONDecoder(parse_float=_refuse_float, parse_constant=_refuse_float)
#: Where an object key that looks like an array index can be: a string of digits
#: followed by its colon (one scan in C). An escaped digit is looked for apart. A value
#: can match too (a string holding ``"12":``): then the payload is walked as any other,
#: which is only slower. Dates and amounts written as strings do not match.
_INDEX_LIKE_KEY = re.compile(r'"\d+"\s*:')


def loads_stored(text: str) -> Any:
    """A stored payload's value, marked for :func:`dumps` when it has no float and no
    index-like key: every delivery body holds its event's payload, and walking a 1 KB
    payload for them cost more than parsing it. The text is searched for such a key (one
    scan in C), floats are found by the parser itself. Marked
    objects and arrays are ``dict`` s and ``list`` s to every reader."""
    if _INDEX_LIKE_KEY.search(text) is not None or "\\u003" in text:
        return json.loads(text)
    try:
        value = _NO_FLOATS.decode(text)
    except _HasFloat:
        return json.loads(text)
    if type(value) is dict:
        return _PlainDict(value)
    if type(value) is list:
        return _PlainList(value)
    return value


def _is_index_key(key: str) -> bool:
    return (
        key.isascii()
        and key.isdigit()
        and (key == "0" or key[0] != "0")
        and int(key) <= _ARRAY_INDEX_MAX
    )


def _needs_js_form(value: Any) -> bool:
    if type(value) is _PlainDict or type(value) is _PlainList:
        return False
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(
            (isinstance(k, str) and _is_index_key(k)) or _needs_js_form(v) for k, v in value.items()
        )
    if isinstance(value, list):
        return any(_needs_js_form(v) for v in value)
    return False


def shortest_digits(x: float) -> tuple[str, int]:
    """``(digits, point)`` of a finite non-zero float's magnitude: ``|x| = 0.digits * 10**point``.

    ``digits`` is the shortest string that reads back as ``x`` (what
    ``repr`` prints, the same digits as ECMAScript's, PHP's and Ruby's
    shortest mode), with no trailing zeros; ``point`` is where the decimal
    point goes (dtoa's ``decpt``). Each language's float text is a layout of
    these two. Raises ``ValueError`` for NaN and the infinities (no JSON form).
    """
    _sign, digits_t, exp = Decimal(repr(abs(x))).as_tuple()
    if not isinstance(exp, int):
        raise ValueError(f"{x} has no JSON form")
    all_digits = "".join(map(str, digits_t))
    return all_digits.rstrip("0") or "0", len(all_digits) + exp


def js_number(x: float) -> str:
    """ECMAScript Number::toString for a finite float (shortest round-trip digits)."""
    if x == 0:
        return "0"
    digits, n = shortest_digits(x)  # value = 0.digits x 10**n
    k = len(digits)
    neg = "-" if x < 0 else ""
    if k <= n <= 21:
        return neg + digits + "0" * (n - k)
    if 0 < n <= 21:
        return neg + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return neg + "0." + "0" * (-n) + digits
    e = n - 1
    mantissa = digits[0] + ("." + digits[1:] if k > 1 else "")
    return f"{neg}{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"


def _js_form(value: Any, token: str, numbers: list[str]) -> Any:
    if isinstance(value, float):
        numbers.append(js_number(value))
        return f"\x00{token}:{len(numbers) - 1}\x00"
    if isinstance(value, dict):
        index = [k for k in value if isinstance(k, str) and _is_index_key(k)]
        if not index:  # the common case: key order is kept as it is
            return {k: _js_form(v, token, numbers) for k, v in value.items()}
        index.sort(key=int)
        first = set(index)
        keys = [*index, *(k for k in value if k not in first)]
        return {k: _js_form(value[k], token, numbers) for k in keys}
    if isinstance(value, list):
        return [_js_form(v, token, numbers) for v in value]
    return value
