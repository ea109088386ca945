"""The checks every verifying profile shares, at their boundaries (``make mutation``)."""

from __future__ import annotations

import json

import pytest

from hookpost.core.signing import InvalidSecretError, WebhookVerificationError
from hookpost.profiles._base import MalformedWebhookError
from hookpost.profiles._checks import (
    ASYMMETRIC_PREFIXES,
    KEY_PREFIXES,
    any_digest_matches,
    check_fresh,
    key_problem,
    parse_json,
    parse_uint,
    raw_key,
    require_header,
    usable_keys,
    validate_raw_secret,
)


@pytest.mark.parametrize(
    ("headers", "name", "expected"),
    [
        ({"x-sig": "abc"}, "X-Sig", "abc"),
        ({"x-sig": "  abc \t"}, "x-sig", "abc"),
        ({"x-sig": "a b"}, "X-SIG", "a b"),
    ],
)
def test_require_header_finds_lower_cased_names(
    headers: dict[str, str], name: str, expected: str
) -> None:
    assert require_header(headers, name) == expected


@pytest.mark.parametrize("headers", [{}, {"x-sig": ""}, {"x-sig": "   "}, {"X-Sig": "abc"}])
def test_require_header_missing_or_blank(headers: dict[str, str]) -> None:
    with pytest.raises(MalformedWebhookError) as info:
        require_header(headers, "X-Sig")
    assert str(info.value) == "missing X-Sig header"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("42", 42),
        (" 42 ", 42),
        ("007", 7),
        ("9" * 19, int("9" * 19)),
        ("1" + "0" * 18, 10**18),
        ("9" * 20, None),  # 20 digits: beyond the 19-digit limit
        ("", None),
        ("+1", None),
        ("-1", None),
        ("1_000", None),
        ("1.0", None),
        ("1e3", None),
        ("0x1f", None),
        ("\u0661\u0662", None),  # Arabic-Indic digits: int() takes them, a header must not
        ("\uff11\uff12", None),  # fullwidth digits
        ("12a", None),
        ("a12", None),
    ],
)
def test_parse_uint_is_strict(text: str, expected: int | None) -> None:
    assert parse_uint(text) == expected


@pytest.mark.parametrize(
    ("timestamp", "ok"),
    [
        (1000.0, True),
        (700.0, True),  # exactly at the tolerance, in the past
        (1300.0, True),  # exactly at the tolerance, in the future
        (699.999, False),
        (1300.001, False),
        (0.0, False),
        (float("nan"), False),
        (float("inf"), False),
        (float("-inf"), False),
    ],
)
def test_check_fresh_boundaries(timestamp: float, ok: bool) -> None:
    if ok:
        check_fresh(timestamp, 1000.0, 300.0)
        return
    with pytest.raises(WebhookVerificationError) as info:
        check_fresh(timestamp, 1000.0, 300.0)
    assert str(info.value) == "timestamp outside the tolerance window"


def test_check_fresh_nan_now_or_tolerance_fails_closed() -> None:
    for now, tol in [(float("nan"), 300.0), (1000.0, float("nan"))]:
        with pytest.raises(WebhookVerificationError):
            check_fresh(1000.0, now, tol)


@pytest.mark.parametrize(
    ("body", "value"),
    [(b'{"a": 1}', {"a": 1}), (b"[1, 2]", [1, 2]), (b'"x"', "x"), (b"null", None)],
)
def test_parse_json(body: bytes, value: object) -> None:
    assert parse_json(body) == value


@pytest.mark.parametrize(
    "body", [b"", b"{", b"not json", b"\xff\xfe{}", b"[" * 100_000 + b"]" * 100_000]
)
def test_parse_json_refuses_what_is_not_json(body: bytes) -> None:
    with pytest.raises(MalformedWebhookError) as info:
        parse_json(body)
    assert str(info.value) == "body is not JSON"
    assert info.value.__cause__ is None or isinstance(info.value.__cause__, ValueError) is False
    assert info.value.__suppress_context__ is True


@pytest.mark.parametrize(
    ("expected", "given", "found"),
    [
        ([b"a"], [b"a"], True),
        ([b"a"], [b"b"], False),
        ([b"a", b"b"], [b"x", b"b"], True),  # any expected against any given
        ([b"a", b"b"], [b"b", b"x"], True),
        ([b"a"], [None, b"a"], True),  # undecodable signatures are skipped
        ([b"a"], [None], False),
        ([b"a"], [], False),
        ([], [b"a"], False),
        ([b"abc"], [b"ab"], False),
    ],
)
def test_any_digest_matches(expected: list[bytes], given: list[bytes | None], found: bool) -> None:
    assert any_digest_matches(expected, given) is found
    assert any_digest_matches(iter(expected), iter(given)) is found  # iterables, consumed once


def test_raw_key_is_the_secret_text_whole() -> None:
    assert raw_key("whsec_abc") == b"whsec_abc"
    assert raw_key("clé") == "clé".encode()


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("", "is empty"),
        ("   ", "is blank"),
        ("\u200b", "is blank"),
        ("whsec_", "has no key after 'whsec_'"),
        (" abc", "must not start or end with whitespace"),
        ("abc ", "must not start or end with whitespace"),
        ("abc\n", "must not start or end with whitespace"),
        ("a\x00b", "must not contain control characters"),
        ("a\x1fb", "must not contain control characters"),
        ("a\x7fb", "must not contain control characters"),  # DEL
        ("a\ud800b", "must be valid Unicode text"),
        ("whsk_abc", "asymmetric keys (whsk_/whpk_) only work with the standard profile"),
        ("whpk_abc", "asymmetric keys (whsk_/whpk_) only work with the standard profile"),
    ],
)
def test_validate_raw_secret_refuses(secret: str, problem: str) -> None:
    assert validate_raw_secret(secret) == problem


@pytest.mark.parametrize("secret", ["a", "a b", "a\x20b", "a\x80b", "whsec_x", "clé 🔑", "~"])
def test_validate_raw_secret_accepts(secret: str) -> None:
    assert validate_raw_secret(secret) is None


def test_asymmetric_prefixes() -> None:
    assert ASYMMETRIC_PREFIXES == ("whsk_", "whpk_")
    assert KEY_PREFIXES == ("whsec_", "whsk_", "whpk_")


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("", "is empty"),
        (" ", "is blank"),
        ("\t\n", "is blank"),
        ("\x00", "is blank"),  # control characters only
        ("\ufeff\u200b", "is blank"),  # format characters only (BOM, zero-width space)
        ("whsec_", "has no key after 'whsec_'"),
        ("whsec_ ", "has no key after 'whsec_'"),
        ("whsec_==", "has no key after 'whsec_'"),
        ("whsk_", "has no key after 'whsk_'"),
        ("whpk_\u200b", "has no key after 'whpk_'"),
        ("whsec_AAAA", "decodes to nothing but zero bytes after 'whsec_'"),
        ("whpk_AA==", "decodes to nothing but zero bytes after 'whpk_'"),
        (None, "must be text, not NoneType"),
        (b"k", "must be text, not bytes"),
        (["k"], "must be text, not list"),
    ],
)
def test_key_problem_names_what_is_no_key(secret: object, problem: str) -> None:
    assert key_problem(secret) == problem


@pytest.mark.parametrize(
    "secret",
    ["k", " k", "whsec_AAAB", "whsec_not base64!", "whsk_AQ", "Whsec_", "whsec", "x whsec_"],
)
def test_key_problem_accepts_keys(secret: str) -> None:
    assert key_problem(secret) is None


@pytest.mark.parametrize(
    ("secrets", "keys"),
    [("k", ["k"]), (["a", "b"], ["a", "b"]), (("a",), ["a"]), ("<generator>", ["a"])],
)
def test_usable_keys(secrets: object, keys: list[str]) -> None:
    if secrets == "<generator>":  # made here: a parameter iterator would be spent after one run
        secrets = (k for k in ["a"])
    assert usable_keys(secrets) == keys


@pytest.mark.parametrize(
    ("secrets", "message"),
    [
        (None, "no secret given (None)"),
        ([], "no secret to verify with"),
        (5, "secret must be text or a list of texts, not int"),
        ("", "secret is empty"),
        ([""], "secret is empty"),
        (["real", ""], "secret 2 of 2 is empty"),
        (["", "real"], "secret 1 of 2 is empty"),
        (["a", "b", "whsec_"], "secret 3 of 3 has no key after 'whsec_'"),
        (b"", "secret must be text, not bytes"),
    ],
)
def test_usable_keys_refuses_any_bad_entry(secrets: object, message: str) -> None:
    with pytest.raises(InvalidSecretError) as info:
        usable_keys(secrets)
    assert str(info.value) == message
    assert isinstance(info.value, WebhookVerificationError)


def test_usable_keys_names_the_setting() -> None:
    with pytest.raises(InvalidSecretError, match=r"^public_key 2 of 2 is empty$"):
        usable_keys(["whpk_AQ", ""], "public_key")


def test_json_module_behaviour_assumed() -> None:
    with pytest.raises(RecursionError):
        json.loads("[" * 100_000 + "]" * 100_000)
