"""Digest text encodings: what each decoder accepts and refuses (``make mutation``)."""

from __future__ import annotations

import pytest

from hookpost.profiles._encoding import ENCODINGS, Encoding, decode_digest, encode_digest

RAW = bytes(range(250, 256)) + b"\x00\x01a"  # has bytes that differ between alphabets


def test_encodings() -> None:
    assert ENCODINGS == ("hex", "base64", "base64url")


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("hex", "fafbfcfdfeff000161"),
        ("base64", "+vv8/f7/AAFh"),
        ("base64url", "-vv8_f7_AAFh"),
    ],
)
def test_encode_digest(encoding: Encoding, text: str) -> None:
    assert encode_digest(RAW, encoding) == text
    assert decode_digest(text, encoding) == RAW


@pytest.mark.parametrize(
    ("raw", "encoding", "text"),
    [
        (b"a", "base64", "YQ=="),
        (b"a", "base64url", "YQ"),  # sent unpadded
        (b"ab", "base64url", "YWI"),
        (b"\xfb\xff", "base64url", "-_8"),
        (b"\x00\x00\x17", "base64url", "AAAX"),  # only "=" is stripped, not a final "X"
        (b"\x00\x00\x17", "base64", "AAAX"),
    ],
)
def test_padding_on_the_wire(raw: bytes, encoding: Encoding, text: str) -> None:
    assert encode_digest(raw, encoding) == text


@pytest.mark.parametrize(
    ("text", "encoding", "expected"),
    [
        ("FAFBFCFDFEFF000161", "hex", RAW),  # upper case
        ("FaFb", "hex", b"\xfa\xfb"),
        (" fafb ", "hex", b"\xfa\xfb"),
        ("fafbf", "hex", None),  # odd length
        ("", "hex", None),
        ("zz", "hex", None),
        ("0x00", "hex", None),
        ("YQ==", "base64", b"a"),
        ("YQ", "base64", b"a"),  # padding optional
        ("YQ=", "base64", b"a"),
        ("YQ===", "base64", None),  # over-padded
        ("YWJj=", "base64", b"abc"),  # a spare "=" after a whole quantum is ignored
        ("YWJjZA", "base64", b"abcd"),
        ("YWJjZGVmZw", "base64url", b"abcdefg"),
        ("AAAX", "base64url", b"\x00\x00\x17"),
        ("AAAX=", "base64", b"\x00\x00\x17"),
        ("Y", "base64", None),  # one char of a quantum cannot be a byte
        ("YWJjZ", "base64", None),
        ("", "base64", None),
        ("YQ==YQ==", "base64", None),
        ("Y Q==", "base64", None),
        ("-vv8_f7_AAFh", "base64", RAW),  # either alphabet in either flavour
        ("+vv8/f7/AAFh", "base64url", RAW),
        ("-vv8_f7_AAFh==", "base64url", RAW),  # up to two "=" are ignored, even spare ones
        ("YWI=", "base64url", b"ab"),
        (" YWI ", "base64url", b"ab"),
        ("YW!=", "base64url", None),
    ],
)
def test_decode_digest(text: str, encoding: Encoding, expected: bytes | None) -> None:
    assert decode_digest(text, encoding) == expected
