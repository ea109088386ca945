"""The JSON a receiver gets back when it re-serializes a parsed body.

Some providers' guides verify a webhook by hashing not the raw body but the
body parsed and written back out by the receiver's own language: Just
Wallet's ``JSON.stringify(req.body)`` (Node), ``json_encode($request->all())``
(PHP) and ``JSON.generate(request.params)`` (Ruby). Such a receiver verifies
only if the bytes hookpost sends and signs are a fixed point of that
language's parse-then-serialize. The three languages disagree, so an endpoint
names its receiver's serializer and :func:`dumps` writes the body the way that
serializer would:

============ ======================================================================
javascript   ``JSON.stringify``: :func:`hookpost.core.jsonenc.dumps` (``1.0`` → ``1``,
             ``1e-05`` → ``0.00001``, array-index keys first, non-ASCII and ``/`` raw)
php          ``json_encode(json_decode($raw, true))`` with the default flags and
             ``serialize_precision = -1``: ``/`` → ``\\/``, every non-ASCII character
             → ``\\uXXXX`` (surrogate pairs beyond U+FFFF), ``1.0`` → ``1``, ``-0.0`` → ``0``,
             ``1e-05`` → ``1.0e-5``, ``1e17`` → ``1.0e+17``; an object decoded into
             a PHP array comes back as a list when its keys are ``"0"``, ``"1"``, …
             in order -- so ``{}`` becomes ``[]`` and ``{"0": "a"}`` becomes
             ``["a"]`` -- and integers outside 64 bits become floats
ruby         ``JSON.generate(JSON.parse(raw))``: ``Float#to_s`` numbers (``1.0``,
             ``1.0e-05``, ``1.0e+15`` from 10^15 up), keys in the order received,
             integers exact, non-ASCII and ``/`` raw
============ ======================================================================

Each is pure and total over what ``json.loads`` returns (dict, list, str,
int, float, bool, None), and each is idempotent: parsing its output the way
its language does and writing it again gives the same bytes, which is what
makes the receiver's signature match. Non-finite floats (which JSON cannot
carry) raise ``ValueError``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

from hookpost.core import jsonenc
from hookpost.core.jsonenc import shortest_digits

Serializer = Literal["javascript", "php", "ruby"]
#: The serializers by name, the default first.
SERIALIZERS: tuple[Serializer, ...] = get_args(Serializer)
DEFAULT: Serializer = "javascript"

_INT64 = range(-(2**63), 2**63)


def dumps(value: Any, serializer: Serializer = DEFAULT) -> bytes:
    """``value`` as the UTF-8 bytes ``serializer`` writes after parsing it back.

    Raises ``ValueError`` for a non-finite float or an integer too large for a
    double where the language would turn it into one (PHP), and ``KeyError``
    for an unknown serializer name.
    """
    return _WRITERS[serializer](value)


# -- PHP -----------------------------------------------------------------------

#: What json_encode escapes by default: quote, backslash, slash, control
#: characters and everything beyond ASCII. DEL (0x7f) stays raw.
_PHP_ESCAPED = re.compile(r'["\\/\x00-\x1f\u0080-\U0010ffff]')
_PHP_SHORT = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n"}
_PHP_SHORT |= {"\r": "\\r", "\t": "\\t"}


def _php_char(m: re.Match[str]) -> str:
    ch = m.group(0)
    short = _PHP_SHORT.get(ch)
    if short is not None:
        return short
    code = ord(ch)
    if code > 0xFFFF:  # a UTF-16 surrogate pair, as json_encode writes it
        code -= 0x10000
        return f"\\u{0xD800 | (code >> 10):04x}\\u{0xDC00 | (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def _php_string(s: str) -> str:
    return '"' + _PHP_ESCAPED.sub(_php_char, s) + '"'


def php_number(x: float) -> str:
    """A float as PHP's ``json_encode`` writes it (``serialize_precision = -1``).

    Shortest round-trip digits laid out by ``php_gcvt`` with 17 digits:
    exponent form when the value is below 10^-4 or at least 10^17, with a
    ``.0`` after a lone mantissa digit and no exponent padding (``1.0e-5``,
    ``1.5e+300``); no ``.0`` on integral values (``1``). Negative zero is
    written ``0``: json_encode writes ``-0``, but json_decode reads that back
    as the integer 0, so only ``0`` survives a receiver's round trip.
    """
    if not math.isfinite(x):
        raise ValueError(f"{x} has no JSON form")
    if x == 0:
        return "0"
    neg = "-" if x < 0 else ""
    digits, point = shortest_digits(x)
    if point < -3 or point > 17:
        e = point - 1
        return f"{neg}{digits[0]}.{digits[1:] or '0'}e{'+' if e >= 0 else '-'}{abs(e)}"
    if point <= 0:
        return f"{neg}0.{'0' * -point}{digits}"
    if len(digits) <= point:
        return neg + digits + "0" * (point - len(digits))
    return f"{neg}{digits[:point]}.{digits[point:]}"


def _php_integer(n: int) -> str:
    # json_decode reads an integer beyond PHP_INT_MAX as a float.
    if n in _INT64:
        return str(n)
    try:
        return php_number(float(n))
    except OverflowError:
        raise ValueError("an integer beyond a double's range has no PHP form") from None


def _php_list_like(obj: dict[str, Any]) -> bool:
    """json_decode(..., true) makes a PHP array of an object; keys "0", "1", ...
    in order (or none) make it a list, which json_encode writes in brackets."""
    return all(k == str(i) for i, k in enumerate(obj))


# -- Ruby ----------------------------------------------------------------------


def ruby_number(x: float) -> str:
    """A float as Ruby's ``Float#to_s`` (and so ``JSON.generate``) writes it.

    Shortest round-trip digits; plain form from 10^-4 up to below 10^15
    (below 10^16 when the value has a fraction), always with a fraction
    (``1.0``, ``100.0``, ``-0.0``); otherwise ``d.ddde±XX`` with at least two
    exponent digits (``1.0e-05``, ``1.0e+15``).
    """
    if not math.isfinite(x):
        raise ValueError(f"{x} has no JSON form")
    neg = "-" if math.copysign(1.0, x) < 0 else ""
    if x == 0:
        return neg + "0.0"
    digits, point = shortest_digits(x)
    if 0 < point <= 16 and len(digits) > point:  # a fraction, up to 16 integer digits
        return f"{neg}{digits[:point]}.{digits[point:]}"
    if 0 < point <= 15:  # integral, below 10^15
        return neg + digits + "0" * (point - len(digits)) + ".0"
    if -4 < point <= 0:
        return f"{neg}0.{'0' * -point}{digits}"
    e = point - 1
    return f"{neg}{digits[0]}.{digits[1:] or '0'}e{'+' if e >= 0 else '-'}{abs(e):02d}"


def _python_string(s: str) -> str:
    # Control characters as \b \f \n \r \t or \u00xx, everything else raw:
    # JSON.generate's and JSON.stringify's way too.
    return json.dumps(s, ensure_ascii=False)


# -- the one walk over a document ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Style:
    """How one language writes each kind of JSON value."""

    string: Callable[[str], str]
    floating: Callable[[float], str]
    integer: Callable[[int], str]
    list_like: Callable[[dict[str, Any]], bool]
    charset: str

    def dumps(self, value: Any) -> bytes:
        out: list[str] = []
        self._write(value, out)
        return "".join(out).encode(self.charset)

    def _write(self, value: Any, out: list[str]) -> None:
        if value is None or isinstance(value, bool):
            out.append("null" if value is None else "true" if value else "false")
        elif isinstance(value, int):
            out.append(self.integer(value))
        elif isinstance(value, float):
            out.append(self.floating(value))
        elif isinstance(value, str):
            out.append(self.string(value))
        elif isinstance(value, dict) and not self.list_like(value):
            out.append("{")
            for i, (k, v) in enumerate(value.items()):
                out.append("," if i else "")
                out.append(self.string(str(k)))
                out.append(":")
                self._write(v, out)
            out.append("}")
        elif isinstance(value, dict | list):
            out.append("[")
            for i, item in enumerate(value.values() if isinstance(value, dict) else value):
                out.append("," if i else "")
                self._write(item, out)
            out.append("]")
        else:
            raise TypeError(f"{type(value).__name__} is not a JSON value")


_PHP = _Style(_php_string, php_number, _php_integer, _php_list_like, "ascii")
# Ruby's integers are exact (bignums) and its objects stay objects.
_RUBY = _Style(_python_string, ruby_number, str, lambda _obj: False, "utf-8")

_WRITERS: dict[str, Callable[[Any], bytes]] = {
    "javascript": jsonenc.dumps,
    "php": _PHP.dumps,
    "ruby": _RUBY.dumps,
}

__all__ = ["DEFAULT", "SERIALIZERS", "Serializer", "dumps", "php_number", "ruby_number"]
