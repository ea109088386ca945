"""The wire encoder against JavaScript itself, value for value (``make mutation``).

``dumps(payload)`` must equal ``JSON.stringify(JSON.parse(json.dumps(payload)))``
computed by real Node.js from the *original* payload -- not from hookpost's own
output, which would hide a lost minus sign or a value turned to null -- and
``json.loads`` of it must give the payload back.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from hookpost.core import jsonenc
from hookpost.core.jsonenc import compact, dumps, js_number, loads
from tests.receivers.node import HERE, node_binary

FLOATS = [
    1.0, -1.0, -3.5, 0.5, -0.5, 0.1, -0.0, 1.5e-7, -1.5e-7, 1e-7, 1e-6, 1.5e-6, 0.000001,
    0.00001, 123456.789, -123456.789, 1e16, 1e20, 1e21, -1e21, 1.2345678901234568e20,
    1.7976931348623157e308, 5e-324, -5e-324, 2.5e-5, 100.0, 1e100, -2.2250738585072014e-308,
    9007199254740993.0, 0.1 + 0.2, 1 / 3, 123e-20, 4.35, 1234567.0, 1e15 + 0.5,
]  # fmt: skip

PAYLOADS: list[Any] = [{"f": x} for x in FLOATS] + [
    {"list": [1.5, -2.0, [3.25, {"x": -0.125}]]},  # floats inside lists
    [0.5, "a", None, True, False, -7],
    {"b": 1, "10": 2, "2": 3, "01": 4, "4294967295": 5, "4294967294": 6, "0": 7, "00": 8},
    {"z": 1, "\u0661": 2, "+1": 3, "-1": 4, "1.0": 5, " 1": 6, "1 ": 7},
    {"x": {"5": 1, "a": 2, "1": 3}},
    {"k": [{"3": "c", "1": "a"}], "n": -1},  # index keys only deep inside
    {"é": 1.5, "t": "ü ✓ 😀 \u2028", "2": "z"},  # non-ASCII on the JavaScript path
    {"a": 1, "b": [1, 2, {"c": "d"}], "é": "ü ✓ 😀", "nul": "\x00", "t": True, "n": None},
    {"neg": -3, "big": 2**53 - 1, "negbig": -(2**53 - 1)},
    {"": 0.25, "nested": {"deep": {"deeper": [1e-7, {"9": -1e21}]}}},
    {},
    [],
    [{}, [], [[]], {"a": {}}],
]


def _javascript(texts: list[str]) -> list[str]:
    out = subprocess.run(
        [node_binary(), str(HERE / "stringify.js")],
        input="\n".join(texts).encode() + b"\n",
        capture_output=True,
        check=True,
        timeout=60,
    )
    return out.stdout.decode().split("\n")[:-1]  # not splitlines(): U+2028 is in a body


def test_dumps_equals_javascript_of_the_original_payload() -> None:
    originals = [json.dumps(p, ensure_ascii=True) for p in PAYLOADS]
    expected = _javascript(originals)
    got = [dumps(p).decode("utf-8") for p in PAYLOADS]
    mismatches = [(p, g, e) for p, g, e in zip(PAYLOADS, got, expected, strict=True) if g != e]
    assert mismatches == []


def _same(got: Any, want: Any) -> bool:
    """Equal as JSON carries values: a float may come back as an integer of its value."""
    if isinstance(want, float):
        return isinstance(got, int | float) and not isinstance(got, bool) and float(got) == want
    if isinstance(want, dict):
        return (
            isinstance(got, dict)
            and set(got) == set(want)
            and all(_same(got[k], want[k]) for k in want)
        )
    if isinstance(want, list):
        return (
            isinstance(got, list)
            and len(got) == len(want)
            and all(_same(g, w) for g, w in zip(got, want, strict=True))
        )
    return type(got) is type(want) and bool(got == want)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_dumps_round_trips(payload: Any) -> None:
    assert _same(loads(dumps(payload)), payload)
    assert _same(loads(dumps(payload).decode()), payload)
    assert loads(compact(payload)) == payload


def test_js_number_against_javascript() -> None:
    expected = _javascript([json.dumps(x) for x in FLOATS])
    assert [js_number(x) for x in FLOATS] == expected


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (1.0, "1"),
        (-3.5, "-3.5"),
        (-0.0, "0"),
        (0.5, "0.5"),
        (1.5e-7, "1.5e-7"),
        (-1.5e-7, "-1.5e-7"),
        (1e-7, "1e-7"),
        (0.000001, "0.000001"),
        (1.5e-6, "0.0000015"),
        (1e21, "1e+21"),
        (-1e21, "-1e+21"),
        (1e20, "100000000000000000000"),
        (1.2345678901234568e20, "123456789012345680000"),
        (123456.789, "123456.789"),
        (1e100, "1e+100"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (5e-324, "5e-324"),
    ],
)
def test_js_number_table(x: float, text: str) -> None:
    assert js_number(x) == text


def test_compact_is_python_compact_json() -> None:
    assert compact({"a": [1.0, "é"], "b": None}) == '{"a":[1.0,"é"],"b":null}'


def test_common_case_keeps_key_order_and_text() -> None:
    payload = {"z": 1, "a": "é", "m": [True, None]}
    assert dumps(payload) == '{"z":1,"a":"é","m":[true,null]}'.encode()


def test_a_string_that_looks_like_a_placeholder_is_left_alone() -> None:
    fake = "\x000123456789abcdef:0\x00"
    body = dumps({"f": 1.5, "s": fake})
    assert loads(body) == {"f": 1.5, "s": fake}
    assert body == b'{"f":1.5,"s":"\\u00000123456789abcdef:0\\u0000"}'


@pytest.mark.parametrize(
    ("key", "is_index"),
    [
        ("0", True),
        ("7", True),
        ("4294967294", True),  # 2**32 - 2, the largest array index
        ("4294967295", False),
        ("00", False),
        ("01", False),
        ("\u0661", False),
        ("+1", False),
        ("-1", False),
        ("1.0", False),
        ("", False),
        ("a", False),
    ],
)
def test_index_keys(key: str, is_index: bool) -> None:
    assert jsonenc._is_index_key(key) is is_index
    body = dumps({"x": 0, key: 1})
    assert body.startswith(f'{{"{key}"'.encode()) is is_index


@pytest.mark.parametrize(
    ("value", "needs"),
    [
        (1.5, True),
        (1, False),
        (True, False),
        ("1.5", False),
        (None, False),
        ({"a": [1, {"b": 2.0}]}, True),
        ({"a": [1, {"b": 2}]}, False),
        ({"a": {"3": 1}}, True),
        ([[{"0": None}]], True),
        ({"a": "3"}, False),
        ([], False),
    ],
)
def test_which_values_need_the_javascript_form(value: Any, needs: bool) -> None:
    assert jsonenc._needs_js_form(value) is needs


#: Stored payload texts beyond PAYLOADS' compact forms: escaped digits, digit-first
#: strings that are values, whitespace, scalars.
STORED_TEXTS = [compact(p) for p in PAYLOADS] + [
    '{"\\u0031":1,"a":2}',
    '{"a":"\\u0031"}',
    '{"a":"1st","b":[1,2]}',
    '{ "2" : 1 }',
    '{"a":1e5}',
    '{"a":"x.5e3"}',
    '"a string"',
    "7",
    "null",
    '[{"1":2}]',
    '{"a":"12","3"\n:1}',
    '{"a":"12","b":{"45"\t :[1]}}',
    '{"a":"\\"9\\":","b":1}',
    '{"at":"2026-12-01","amount":"100","n":[{"01":1}]}',
]


@pytest.mark.parametrize("text", STORED_TEXTS)
def test_a_stored_payload_encodes_as_its_parsed_value_does(text: str) -> None:
    """``loads_stored`` marks a value that needs no JavaScript form so ``dumps`` skips
    looking for one: the value and its wire bytes are ``json.loads``'s, every time."""
    value, stored = json.loads(text), jsonenc.loads_stored(text)
    assert stored == value and isinstance(stored, type(value))
    assert dumps(stored) == dumps(value)
    envelope = {"type": "t", "data": value, "f": 0.5}  # another part needs the form
    assert dumps({**envelope, "data": stored}) == dumps(envelope)
    marked = type(stored) is not type(value)
    assert not marked or not jsonenc._needs_js_form(value)


@pytest.mark.parametrize("text", ['{"a":NaN}', "[-Infinity]", '{"a":[1,{"b":Infinity}]}'])
def test_nan_and_the_infinities_are_floats_to_loads_stored(text: str) -> None:
    assert type(jsonenc.loads_stored(text)) is type(json.loads(text))


@pytest.mark.parametrize(
    "text",
    [
        '{"object":"invoice","amount_due":1001,"lines":[{"sku":"sku-0","qty":1}],"paid":true}',
        '[{"id":"in_1","n":null},"x",-3,12345678901234567890123]',
        '{"note":"caf\\u00e9 \\"quoted\\"","a":{"b":{"c":[]}}}',
        '{"created":"2026-12-01T10:00:00Z","amount":"1001","phone":"976 9911"}',
    ],
)
def test_a_payload_without_floats_or_index_like_keys_is_marked(text: str) -> None:
    """The fast path is taken: ``dumps`` gets a value it need not walk (the test above
    holds it to the same bytes)."""
    stored = jsonenc.loads_stored(text)
    assert type(stored) is not type(json.loads(text))
    assert not jsonenc._needs_js_form(stored)


#: What attempt header columns hold, and what else ``json.dumps`` is asked to write.
DEFAULT_TEXT_VALUES: list[Any] = [
    None,
    {},
    {"Host": "127.0.0.1:8000", "Content-Type": "application/json", "webhook-id": "msg_1"},
    {"X-Quote": 'a "b" \\ c', "X-Control": "\t\r\n\x01\x7f"},
    {"X-Unicode": "caf\u00e9 \u20ac \U0001f600"},
    {"X-Escaped": "\\xff\\x00 [hookpost: NUL or non-UTF-8 bytes were stored as \\xNN escapes]"},
    {"": ""},
    [1, 2.5, -0.0, float("nan"), float("inf"), True, False, None, "s", {"n": [1e100]}],
    "text",
    12,
]


@pytest.mark.parametrize("value", DEFAULT_TEXT_VALUES)
def test_default_text_is_json_dumps(value: Any) -> None:
    assert jsonenc.default_text(value) == json.dumps(value)
