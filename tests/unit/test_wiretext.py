"""Receiver bytes as storable text, and the registered URL as the request target, value by value.

The end-to-end tables (``test_receiver_answers.py``, ``test_wire_record.py``)
go through a real receiver and both databases; these pin the pure rules.
"""

from __future__ import annotations

import codecs

import pytest

from hookpost.core.wiretext import body_text, storable, storable_headers, with_marker
from hookpost.delivery.wire import _WATCHING, HeadersSent, joined, request_url
from hookpost.domain import Outcome
from hookpost.store._record import poisoned, problem


@pytest.mark.parametrize(
    ("text", "stored", "escaped"),
    [
        ("plain ascii", "plain ascii", 0),
        ("café ✓ 日本", "café ✓ 日本", 0),
        ("\x00", "\\x00", 1),
        ("a\x00b\x00", "a\\x00b\\x00", 2),
        ("caf\udce9", "caf\\xe9", 1),  # surrogateescape of byte 0xE9
        ("\udc80\udcff", "\\x80\\xff", 2),
        ("\ud800", "\\ud800", 1),  # a lone high surrogate (from JSON, not from bytes)
        ("\udc7f", "\\udc7f", 1),  # a low surrogate below the surrogateescape range
        ("\U0001f600", "\U0001f600", 0),  # a real astral character is kept
        ("\x01\x7f\r\n\t", "\x01\x7f\r\n\t", 0),  # other controls are storable
        ("", "", 0),
    ],
)
def test_storable_escapes_only_what_no_column_holds(text: str, stored: str, escaped: int) -> None:
    assert storable(text) == (stored, escaped)
    stored.encode("utf-8")  # encodable (no surrogate left), so any column takes it
    assert storable(stored) == (stored, 0)  # escaping again changes nothing
    assert "\x00" not in stored


def test_header_names_and_values_are_both_escaped_and_order_kept() -> None:
    headers = {"X-\udce9": "v\x00", "B": "ok", "A": "caf\udce9"}
    assert storable_headers(headers) == ({"X-\\xe9": "v\\x00", "B": "ok", "A": "caf\\xe9"}, 3)


@pytest.mark.parametrize(
    ("raw", "complete", "text", "escaped"),
    [
        (b"ok", True, "ok", 0),
        (b"\x00", True, "\\x00", 1),
        (b"caf\xc3\xa9", True, "café", 0),
        (b"caf\xc3", True, "caf\\xc3", 1),  # the whole body: a truncated character is escaped
        (b"caf\xc3", False, "caf", 0),  # cut by the cap: the half character is left out
        (b"\xe6\x97", False, "", 0),
        (b"\xe6\x97\xa5", False, "日", 0),
        (b"\xed\xa0\x80", True, "\\xed\\xa0\\x80", 3),  # UTF-8-encoded surrogate
        (b"\xff\xfe", False, "\\xff\\xfe", 2),  # invalid, not merely cut
        (b"", True, "", 0),
    ],
)
def test_body_text(raw: bytes, complete: bool, text: str, escaped: int) -> None:
    assert body_text(raw, complete=complete) == (text, escaped)


#: Bodies and header sets for the fast paths (plain ASCII without NUL) and the rest.
RAW = [b"", b"ok", b'{"ok":true}', b"\x01\x7f\r\n", b"a\x00", b"caf\xc3\xa9", b"caf\xc3", b"\xff"]
HEADERS = [
    {},
    {"Content-Type": "text/plain", "Content-Length": "2", "Date": "Tue, 01 Dec 2026"},
    {"X-A": "v\x00"},
    {"X-\udce9": "ok"},
    {"A": "caf\udce9", "B": "ok"},
    {"A": "café"},
]


def _body_text_slow(raw: bytes, complete: bool) -> tuple[str, int]:
    return storable(codecs.getincrementaldecoder("utf-8")("surrogateescape").decode(raw, complete))


@pytest.mark.parametrize("raw", RAW)
@pytest.mark.parametrize("complete", [True, False])
def test_body_text_is_the_decoder_and_storable_for_every_body(raw: bytes, complete: bool) -> None:
    assert body_text(raw, complete=complete) == _body_text_slow(raw, complete)
    assert body_text(raw * 3, complete=complete) == _body_text_slow(raw * 3, complete)


@pytest.mark.parametrize("headers", HEADERS)
def test_storable_headers_is_storable_per_name_and_value(headers: dict[str, str]) -> None:
    items = [(storable(k), storable(v)) for k, v in headers.items()]
    want = ({k: v for (k, _), (v, _) in items}, sum(n + m for (_, n), (_, m) in items))
    got = storable_headers(headers)
    assert got == want
    assert list(got[0]) == [k for (k, _), _ in items]  # wire order
    assert got[0] is not headers  # a copy: the record never aliases aiohttp's


@pytest.mark.parametrize(
    ("excerpt", "escaped", "shown"),
    [
        ("ok", {"response body": 0}, "ok"),
        (
            "\\x00",
            {"response body": 1, "response headers": 0},
            "\\x00\n[hookpost: NUL or non-UTF-8 bytes were stored as \\xNN escapes: "
            "1 in the response body]",
        ),
        (
            "",
            {"response body": 0, "response headers": 2},
            "[hookpost: NUL or non-UTF-8 bytes were stored as \\xNN escapes: "
            "2 in the response headers]",
        ),
    ],
)
def test_the_marker_says_where(excerpt: str, escaped: dict[str, int], shown: str) -> None:
    assert with_marker(excerpt, escaped) == shown


@pytest.mark.parametrize(
    ("url", "target", "recorded"),
    [
        ("http://h:1/a%2Fb/../c?x=%3F%3A", "/a%2Fb/../c?x=%3F%3A", None),
        ("http://h:1/p?", "/p?", None),
        ("http://h:1/?", "/?", None),
        ("http://h:1/p?a=&&b", "/p?a=&&b", None),
        ("http://h:1/p;v=1/./x", "/p;v=1/./x", None),
        ("http://h:1", "/", "http://h:1/"),
        ("http://h:1?x=1", "/?x=1", "http://h:1/?x=1"),
        ("http://h:1/p#frag?x", "/p", "http://h:1/p"),
        ("http://h:1/café?q=é", "/caf%C3%A9?q=%C3%A9", "http://h:1/caf%C3%A9?q=%C3%A9"),
        ("https://[::1]:8443/p?", "/p?", None),
    ],
)
def test_request_url_keeps_the_target_byte_for_byte(
    url: str, target: str, recorded: str | None
) -> None:
    wire, as_recorded = request_url(url)
    assert wire.raw_path_qs == target
    assert as_recorded == (recorded or url)


def test_request_url_hands_the_connector_a_normal_host() -> None:
    wire, _ = request_url("https://Bücher.example:8443/a/../b")
    assert (wire.scheme, wire.raw_host, wire.port) == ("https", "xn--bcher-kva.example", 8443)
    assert wire.raw_path_qs == "/a/../b"
    wire, _ = request_url("http://[::1]:8080/x")
    assert (wire.host, wire.port) == ("::1", 8080)


def test_repeated_headers_join_in_wire_order() -> None:
    pairs = [("Set-Cookie", "a"), ("X", "1"), ("Set-Cookie", "b")]
    assert joined(pairs) == {"Set-Cookie": "a, b", "X": "1"}
    assert list(joined(pairs)) == ["Set-Cookie", "X"]


def outcome(**fields: object) -> Outcome:
    base: dict[str, object] = {
        "delivery_id": "dlv_1",
        "lease": "l",
        "number": 2,
        "started_at": 1.0,
        "url": "http://h/p\x00",
        "request_headers": {"a": "b"},
        "request_body": "{}",
        "status_code": 200,
        "response_headers": {"c": "d"},
        "response_body": "\x00",
        "duration_ms": 3.0,
        "error": None,
        "status": "succeeded",
        "next_attempt_at": None,
    }
    base.update(fields)
    return Outcome(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "error_starts", "code", "duration"),
    [
        ({}, "the database refused this attempt's record (X: y)", 200, 3.0),
        (
            {"error": "unsuccessful status 500", "status_code": 500},
            "unsuccessful status 500; ",
            500,
            3.0,
        ),
        ({"status_code": 1000, "duration_ms": float("nan")}, "the database refused", None, 0.0),
        ({"error": "bad \udce9"}, "bad \\xe9; the database refused", 200, 3.0),
    ],
)
def test_a_poisoned_outcome_keeps_its_state_and_drops_its_exchange(
    fields: dict[str, object], error_starts: str, code: int | None, duration: float
) -> None:
    o = outcome(**fields)
    p = poisoned(o, "X: y")
    assert p.error is not None and p.error.startswith(error_starts)
    assert "its request and response were not kept" in p.error
    assert (p.request_headers, p.request_body, p.response_headers, p.response_body) == (
        {},
        "",
        None,
        None,
    )
    assert (p.status_code, p.duration_ms, p.url) == (code, duration, "http://h/p\\x00")
    assert (p.status, p.number, p.delivery_id, p.lease) == (o.status, 2, "dlv_1", "l")


def test_problem_names_the_driver_error_without_sql() -> None:
    from sqlalchemy.exc import DBAPIError

    class CharacterNotInRepertoireError(Exception):
        pass

    orig = CharacterNotInRepertoireError(
        "<class 'asyncpg.exceptions.CharacterNotInRepertoireError'>: "
        'invalid byte sequence for encoding "UTF8": 0x00'
    )
    exc = DBAPIError("INSERT INTO attempts VALUES ($1)", {"secret": "x"}, orig)
    assert problem(exc) == (
        'CharacterNotInRepertoireError: invalid byte sequence for encoding "UTF8": 0x00'
    )
    assert problem(ValueError("line one\nline two")) == "ValueError: line one"


def test_headers_sent_is_watched_by_one_with_at_a_time_and_always_let_go() -> None:
    sent, other = HeadersSent(), HeadersSent()
    assert _WATCHING.get() is None
    with sent.watching():
        assert _WATCHING.get() is sent
        with pytest.raises(RuntimeError, match="one `with` at a time"):
            sent.watching().__enter__()
        assert _WATCHING.get() is sent  # the refused entry changed nothing
        with other.watching():
            assert _WATCHING.get() is other
        assert _WATCHING.get() is sent
    assert _WATCHING.get() is None
    with pytest.raises(ValueError), sent.watching():
        raise ValueError("the request failed")
    assert _WATCHING.get() is None
    with sent.watching():  # and it can be watched again
        assert _WATCHING.get() is sent
    assert _WATCHING.get() is None
