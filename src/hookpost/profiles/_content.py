"""Signed-content templates of custom profiles: ``"{timestamp}.{body}"`` and the like.

Parsed once into literal and placeholder parts, then joined as bytes, so a
body containing braces never meets ``str.format``. ``{{`` and ``}}`` are
literal braces, as in Python format strings.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

FIELDS: tuple[str, ...] = ("body", "timestamp", "id")


@dataclass(frozen=True, slots=True)
class SignedContent:
    parts: tuple[tuple[str, str | None], ...]  # (literal text, field or None)

    @classmethod
    def parse(cls, template: str) -> SignedContent:
        """``ValueError`` naming the problem for unknown fields or stray braces."""
        parts: list[tuple[str, str | None]] = []
        try:
            parsed = list(string.Formatter().parse(template))
        except ValueError:
            raise ValueError("unbalanced brace; write {{ or }} for a literal brace") from None
        for literal, field, spec, conversion in parsed:
            if field is not None and (spec or conversion or field not in FIELDS):
                raise ValueError(
                    f"unknown placeholder {{{field}}}; known: "
                    + ", ".join(f"{{{f}}}" for f in FIELDS)
                )
            parts.append((literal, field))
        return cls(tuple(parts))

    @property
    def fields(self) -> set[str]:
        return {f for _, f in self.parts if f is not None}

    def build(self, *, body: bytes, timestamp: str, msg_id: str) -> bytes:
        values = {"body": body, "timestamp": timestamp.encode(), "id": msg_id.encode()}
        return b"".join(lit.encode() + (values[f] if f else b"") for lit, f in self.parts)
