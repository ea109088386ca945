"""The receivers' serializers (``core/serializers``) against a table, properties,
and the real languages: Debian's ``php`` and ``ruby`` and Node.

The table pins each kind of difference between the languages (slashes,
non-ASCII, control characters, float layouts, empty objects, list-like keys,
large integers). The runtime tests hand hookpost's output to the real language,
which parses it and writes it back (tests/receivers/runtimes.py): it must come
back byte for byte -- what a re-serializing receiver needs to verify -- for
thousands of floats, the table and hypothesis-made documents; the floats also
equal what the language writes from the original numbers.
"""

from __future__ import annotations

import json
import random
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hookpost.core import jsonenc, serializers
from hookpost.core.serializers import SERIALIZERS, dumps, php_number, ruby_number
from tests.receivers.runtimes import reserialize

# (value, serializer, the exact text that serializer writes)
TABLE: list[tuple[Any, str, str]] = [
    # Slashes: only PHP escapes them.
    ({"u": "https://x.test/a/b"}, "php", r'{"u":"https:\/\/x.test\/a\/b"}'),
    ({"u": "https://x.test/a/b"}, "ruby", '{"u":"https://x.test/a/b"}'),
    ({"u": "https://x.test/a/b"}, "javascript", '{"u":"https://x.test/a/b"}'),
    # Non-ASCII: PHP writes \uXXXX (lower-case hex, surrogate pairs), the others raw.
    ({"n": "Зоя"}, "php", r'{"n":"\u0417\u043e\u044f"}'),
    ({"n": "Зоя 😀"}, "ruby", '{"n":"Зоя 😀"}'),
    ({"e": "😀"}, "php", r'{"e":"\ud83d\ude00"}'),
    ({"e": "\u2028é"}, "php", r'{"e":"\u2028\u00e9"}'),
    ({"é": 1}, "php", r'{"\u00e9":1}'),
    # Control characters alike everywhere; DEL stays raw, even in PHP.
    ({"c": "\x00\x1f\b\f\n\r\t\x7f"}, "php", '{"c":"\\u0000\\u001f\\b\\f\\n\\r\\t\x7f"}'),
    ({"c": "\x00\x1f\b\f\n\r\t\x7f"}, "ruby", '{"c":"\\u0000\\u001f\\b\\f\\n\\r\\t\x7f"}'),
    ({"q": "a\"b\\c<>&'"}, "php", '{"q":"a\\"b\\\\c<>&\'"}'),
    # Integral floats: only Ruby keeps ".0".
    ({"f": 1.0}, "php", '{"f":1}'),
    ({"f": 1.0}, "ruby", '{"f":1.0}'),
    ({"f": 1.0}, "javascript", '{"f":1}'),
    ({"f": -0.0}, "php", '{"f":0}'),  # json_encode's "-0" would come back as int 0
    ({"f": -0.0}, "ruby", '{"f":-0.0}'),
    ({"f": -0.0}, "javascript", '{"f":0}'),
    # Small floats.
    ({"f": 0.0001}, "php", '{"f":0.0001}'),
    ({"f": 0.00001}, "php", '{"f":1.0e-5}'),
    ({"f": 0.00001}, "ruby", '{"f":1.0e-05}'),
    ({"f": 0.00001}, "javascript", '{"f":0.00001}'),
    ({"f": 1.5e-7}, "php", '{"f":1.5e-7}'),
    ({"f": 5e-324}, "php", '{"f":5.0e-324}'),
    # Large floats: PHP goes to exponents at 10^17, Ruby at 10^15 (10^16 with a fraction).
    ({"f": 1e16}, "php", '{"f":10000000000000000}'),
    ({"f": 1e17}, "php", '{"f":1.0e+17}'),
    ({"f": 1e14}, "ruby", '{"f":100000000000000.0}'),
    ({"f": 1e15}, "ruby", '{"f":1.0e+15}'),
    ({"f": 1839495631296820.2}, "ruby", '{"f":1839495631296820.2}'),
    ({"f": 1234567890123456.0}, "ruby", '{"f":1.234567890123456e+15}'),
    ({"f": 1e21}, "javascript", '{"f":1e+21}'),
    ({"f": 1.5e300}, "php", '{"f":1.5e+300}'),
    ({"f": 1.5e300}, "ruby", '{"f":1.5e+300}'),
    ({"f": 20.15}, "php", '{"f":20.15}'),
    ({"f": 20.15}, "ruby", '{"f":20.15}'),
    # Empty objects: PHP's arrays cannot tell {} from [].
    ({"o": {}, "a": []}, "php", '{"o":[],"a":[]}'),
    ({"o": {}, "a": []}, "ruby", '{"o":{},"a":[]}'),
    ({"n": {"x": [[], {}, [None]]}}, "php", '{"n":{"x":[[],[],[null]]}}'),
    # Keys "0", "1", ... in order make a PHP list; other orders and forms stay objects.
    ({"m": {"0": "a", "1": "b"}}, "php", '{"m":["a","b"]}'),
    ({"m": {"1": "a", "0": "b"}}, "php", '{"m":{"1":"a","0":"b"}}'),
    ({"m": {"0": {"0": {}}}}, "php", '{"m":[[[]]]}'),
    ({"m": {"-0": 1, "01": 2, " 1": 3, "": 4}}, "php", '{"m":{"-0":1,"01":2," 1":3,"":4}}'),
    # Index-like keys: JavaScript moves them first; PHP and Ruby keep the order.
    ({"b": 1, "10": 2, "2": 3}, "javascript", '{"2":3,"10":2,"b":1}'),
    ({"b": 1, "10": 2, "2": 3}, "php", '{"b":1,"10":2,"2":3}'),
    ({"b": 1, "10": 2, "2": 3}, "ruby", '{"b":1,"10":2,"2":3}'),
    # Integers: PHP holds 64 bits and reads more as a float; Ruby is exact.
    ({"i": 2**63 - 1}, "php", '{"i":9223372036854775807}'),
    ({"i": 2**63}, "php", '{"i":9.223372036854776e+18}'),
    ({"i": -(2**63) - 1}, "php", '{"i":-9.223372036854776e+18}'),
    ({"i": 10**30}, "ruby", '{"i":1000000000000000000000000000000}'),
    # The rest of JSON.
    ({"t": True, "f": False, "n": None}, "php", '{"t":true,"f":false,"n":null}'),
    ({"t": True, "f": False, "n": None}, "ruby", '{"t":true,"f":false,"n":null}'),
    ([1, [2, {"a": "b"}]], "php", '[1,[2,{"a":"b"}]]'),
]


@pytest.mark.parametrize(("value", "serializer", "text"), TABLE)
def test_table(value: Any, serializer: serializers.Serializer, text: str) -> None:
    assert dumps(value, serializer) == text.encode("utf-8")


def test_javascript_is_the_wire_encoder_and_the_default() -> None:
    value = {"b": 1.0, "10": "é/"}
    assert dumps(value) == dumps(value, "javascript") == jsonenc.dumps(value)
    assert SERIALIZERS[0] == serializers.DEFAULT == "javascript"


@pytest.mark.parametrize("serializer", SERIALIZERS)
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_floats_are_refused(serializer: serializers.Serializer, bad: float) -> None:
    with pytest.raises(ValueError):
        dumps({"x": bad}, serializer)


def test_an_integer_beyond_a_double_has_no_php_form() -> None:
    with pytest.raises(ValueError, match="PHP"):
        dumps({"x": 10**400}, "php")


def test_unknown_serializer() -> None:
    with pytest.raises(KeyError):
        dumps({}, "perl")  # type: ignore[arg-type]


# -- properties ------------------------------------------------------------------

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
_KEYS = st.text(max_size=4) | st.integers(min_value=0, max_value=3).map(str)
JSON_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=16,
)
#: Documents PHP keeps as they are: no list-like keys, integers within 64 bits.
PHP_PLAIN = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(alphabet="abé/😀", min_size=1, max_size=3), inner, min_size=1)
    ),
    max_leaves=16,
)


@settings(max_examples=150, deadline=None)
@given(JSON_VALUES)
def test_each_serializer_is_a_fixed_point_of_its_own_reading(value: Any) -> None:
    """What the receiver re-serializes from the body is the body itself."""
    for serializer in SERIALIZERS:
        text = dumps(value, serializer)
        assert dumps(json.loads(text), serializer) == text, serializer


@settings(max_examples=150, deadline=None)
@given(JSON_VALUES)
def test_ruby_and_javascript_keep_every_value(value: Any) -> None:
    assert json.loads(dumps(value, "ruby")) == value
    assert _numbers_as_floats(dumps(value, "javascript")) == _numbers_as_floats(json.dumps(value))


@settings(max_examples=150, deadline=None)
@given(PHP_PLAIN)
def test_php_keeps_every_value_it_can_hold_and_writes_ascii(value: Any) -> None:
    text = dumps(value, "php")
    assert text.isascii()
    assert _numbers_as_floats(text) == _numbers_as_floats(json.dumps(value))


def _numbers_as_floats(text: str | bytes) -> Any:
    """A large integral float is written as digits, which read back as an int."""
    return json.loads(text, parse_int=float)


# -- against the real languages ------------------------------------------------------


def _floats() -> list[float]:
    rng = random.Random(20261201)
    out = [0.0, -0.0, 1.0, 0.0001, 0.00001, 1e14, 1e15, 1e16, 1e17, 1e21, 5e-324, 2.0**63]
    for _ in range(1500):
        out.append(struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0])
        out.append(10.0 ** rng.randint(-30, 30) * rng.random())
        out.append(rng.uniform(1e14, 1e18))
        out.append(float(rng.randint(10**14, 10**17)) + rng.choice([0, 0.5, 0.25]))
    return [x for x in out if x == x and abs(x) != float("inf")]


def _unchanged_by(language: str, texts: list[str]) -> list[tuple[str, str]]:
    """The texts the real ``language`` writes differently after parsing them:
    each would fail a receiver's verification."""
    back = reserialize(language, texts)
    return [(t, b) for t, b in zip(texts, back, strict=True) if t != b]


@pytest.mark.parametrize("language", ["php", "ruby"])
def test_thousands_of_floats_and_integers_as_the_language_writes_them(language: str) -> None:
    values: list[Any] = [[x] for x in _floats()]
    values += [[n] for n in (2**53 + 1, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64, 10**30)]
    ours = [dumps(v, language).decode() for v in values]  # type: ignore[arg-type]
    assert _unchanged_by(language, ours) == []
    # And what the language writes from the original numbers (negative zero
    # aside: PHP's "-0" is not a fixed point, see php_number).
    plain = [(json.dumps(v), o) for v, o in zip(values, ours, strict=True) if v[0] != 0]
    theirs = reserialize(language, [t for t, _ in plain])
    assert [o for _, o in plain] == theirs


@pytest.mark.parametrize("language", ["php", "ruby"])
def test_table_values_survive_the_language(language: str) -> None:
    assert _unchanged_by(language, [t for _, s, t in TABLE if s == language]) == []


@pytest.mark.parametrize("language", SERIALIZERS)
@settings(max_examples=4, deadline=None)
@given(st.lists(JSON_VALUES, min_size=80, max_size=80))
def test_documents_survive_the_language(language: str, values: list[Any]) -> None:
    if language == "javascript":  # JavaScript's numbers cannot hold these (documented)
        values = [v for v in values if not _has_int_beyond(v, 2**53)]
    ours = [dumps(v, language).decode() for v in values]  # type: ignore[arg-type]
    assert _unchanged_by(language, ours) == []


def _has_int_beyond(value: Any, bound: int) -> bool:
    if isinstance(value, dict):
        return any(_has_int_beyond(v, bound) for v in value.values())
    if isinstance(value, list):
        return any(_has_int_beyond(v, bound) for v in value)
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) > bound


@pytest.mark.parametrize(
    ("x", "php", "ruby"),
    [
        (100.0, "100", "100.0"),
        (0.1, "0.1", "0.1"),
        (-2.5e-5, "-2.5e-5", "-2.5e-05"),
        (123456789.125, "123456789.125", "123456789.125"),
        (1.7976931348623157e308, "1.7976931348623157e+308", "1.7976931348623157e+308"),
    ],
)
def test_number_layouts(x: float, php: str, ruby: str) -> None:
    assert (php_number(x), ruby_number(x)) == (php, ruby)
