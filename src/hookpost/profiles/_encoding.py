"""Text encodings of a signature digest: hex, base64 and base64url.

Signatures are compared as decoded bytes, never as text, so a verifier accepts
upper- or lower-case hex and base64(url) with or without ``=`` padding -- the
details that differ between a provider's sender and its customers' code.
"""

from __future__ import annotations

import base64
import re
from typing import Final, Literal

Encoding = Literal["hex", "base64", "base64url"]
ENCODINGS: Final[tuple[Encoding, ...]] = ("hex", "base64", "base64url")

_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")
_B64 = re.compile(r"[A-Za-z0-9+/\-_]+={0,2}")


def encode_digest(raw: bytes, encoding: Encoding) -> str:
    """The digest as it goes on the wire (base64url is sent unpadded, like a JWT)."""
    if encoding == "hex":
        return raw.hex()
    if encoding == "base64":
        return base64.b64encode(raw).decode("ascii")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_digest(text: str, encoding: Encoding) -> bytes | None:
    """The digest bytes, or None when ``text`` is not valid in ``encoding``.

    Both base64 flavours accept either alphabet and optional padding: a
    receiver that re-encodes with the "wrong" helper still matches.
    """
    text = text.strip()
    if encoding == "hex":
        return bytes.fromhex(text) if _HEX.fullmatch(text) else None
    if not _B64.fullmatch(text):
        return None
    unpadded = text.rstrip("=").replace("-", "+").replace("_", "/")
    if len(unpadded) % 4 == 1:
        return None
    try:
        return base64.b64decode(unpadded + "=" * (-len(unpadded) % 4), validate=True)
    except ValueError:
        return None
