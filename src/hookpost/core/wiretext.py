"""Text a database can hold, made from whatever bytes a receiver sent.

An attempt's record is mostly the receiver's words: its body excerpt, its
header names and values, error text built from its status line. None of that
is promised to be text. A body can hold NUL (PostgreSQL's ``text`` refuses
``0x00``: ``invalid byte sequence for encoding "UTF8"``) or bytes that are
not UTF-8; aiohttp decodes header values with ``surrogateescape``, so a byte
like ``0xE9`` arrives as the lone surrogate ``\\udce9``, which neither SQLite
nor PostgreSQL nor a JSON answer can encode. One such attempt used to fail
its whole record batch, forever.

So every string bound for an attempt row passes :func:`storable`: NUL and
undecodable bytes become the visible escape ``\\xNN`` (other lone surrogates
``\\uDNNN``), everything else is kept as it came. An excerpt that had any
escaped says so in a line :func:`with_marker` appends, so nobody takes ``\\x00``
for what the receiver wrote.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping

__all__ = [
    "body_text",
    "storable",
    "storable_headers",
    "with_marker",
]

#: What no column holds: NUL (PostgreSQL text) and lone surrogates (UTF-8 anywhere).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code == 0:
        return "\\x00"
    return f"\\u{code:04x}"


def storable(text: str) -> tuple[str, int]:
    """``text`` with what no column can hold escaped, and how many characters were."""
    if text.isascii() and "\x00" not in text:
        return text, 0  # the common case: one C-speed scan
    return _UNSTORABLE.subn(_escape, text)


def storable_headers(headers: Mapping[str, str]) -> tuple[dict[str, str], int]:
    """Header names and values made storable (order kept), and how many characters were escaped."""
    every = "".join(headers) + "".join(headers.values())
    if every.isascii() and "\x00" not in every:
        return dict(headers), 0  # the common case: two joins and one scan, all in C
    out: dict[str, str] = {}
    escaped = 0
    for name, value in headers.items():
        safe_name, n = storable(name)
        safe_value, m = storable(value)
        escaped += n + m
        out[safe_name] = safe_value
    return out, escaped


def body_text(raw: bytes, *, complete: bool) -> tuple[str, int]:
    """A body excerpt as storable text, and how many bytes had to be escaped.

    ``complete=False`` means the excerpt was cut at its cap: a multi-byte
    character cut in half at the end is left out rather than shown as
    escaped bytes the receiver never sent.
    """
    if raw.isascii() and b"\x00" not in raw:
        return raw.decode("ascii"), 0  # the common case: no character to cut or escape
    decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
    return storable(decoder.decode(raw, final=complete))


def with_marker(excerpt: str, escaped: Mapping[str, int]) -> str:
    """``excerpt`` with a last line saying where bytes were escaped, if any were."""
    places = [f"{n} in the {place}" for place, n in escaped.items() if n]
    if not places:
        return excerpt
    line = f"[hookpost: NUL or non-UTF-8 bytes were stored as \\xNN escapes: {', '.join(places)}]"
    return f"{excerpt}\n{line}" if excerpt else line
