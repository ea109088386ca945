"""Endpoint secrets at rest: AES-256-GCM under the operator's key, versioned for rotation.

A stolen database file or backup must not hand out every customer's signing
secret, so the store keeps them as::

    enc:v1:<key id>:<base64url(nonce || ciphertext || tag)>

- ``v1`` names the scheme (AES-256-GCM from ``cryptography``, 96-bit random
  nonce), so a later scheme can live beside it.
- the key id (8 hex digits of SHA-256 of the key) says which key to decrypt
  with -- no trial decryption -- and lets ``hookpost rotate-key`` skip values
  already under the current key.
- the associated data is the owning row's id, so a ciphertext copied into
  another endpoint's row does not decrypt.

Values without the prefix are plaintext left by a hookpost that did not
encrypt yet; they are read as they are and re-encrypted by ``rotate-key``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "enc:v1:"
_NONCE = 12


class SecretKeyError(Exception):
    """A key is missing, malformed, or not the one a value was encrypted under."""


def generate_key() -> str:
    """A fresh 256-bit key as base64url text (the form HOOKPOST_SECRET_KEY takes)."""
    return base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode().rstrip("=")


def parse_key(text: str) -> bytes:
    raw = text.strip()
    try:
        key = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise SecretKeyError(
            "a secret key must be 32 bytes, base64url-encoded "
            "(`hookpost rotate-key --generate` prints one)"
        )
    return key


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"hookpost-secret-key:" + key).hexdigest()[:8]


def is_encrypted(value: str) -> bool:
    return value.startswith(PREFIX)


class SecretBox:
    """Encrypts under ``current``; decrypts under it or any of ``old``."""

    def __init__(self, current: bytes, old: Iterable[bytes] = ()) -> None:
        self.key_id = key_id(current)
        self._current = AESGCM(current)
        self._keys = {key_id(k): AESGCM(k) for k in old}
        self._keys[self.key_id] = self._current

    @classmethod
    def from_text(cls, current: str, old: Iterable[str] = ()) -> SecretBox:
        return cls(parse_key(current), [parse_key(k) for k in old if k.strip()])

    def encrypt(self, plaintext: str, context: str) -> str:
        nonce = os.urandom(_NONCE)
        sealed = self._current.encrypt(nonce, plaintext.encode("utf-8"), context.encode())
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{PREFIX}{self.key_id}:{body}"

    def decrypt(self, value: str, context: str) -> str:
        if not is_encrypted(value):
            return value
        kid, _, body = value[len(PREFIX) :].partition(":")
        aead = self._keys.get(kid)
        if aead is None:
            raise SecretKeyError(
                f"a secret is encrypted under key {kid}, which is not configured "
                "(every hookpost process needs the same HOOKPOST_SECRET_KEY; "
                "after a rotation keep the former one in HOOKPOST_SECRET_KEY_OLD)"
            )
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            return aead.decrypt(raw[:_NONCE], raw[_NONCE:], context.encode()).decode("utf-8")
        except (InvalidTag, binascii.Error, ValueError):
            raise SecretKeyError(f"a secret under key {kid} does not decrypt") from None

    def is_current(self, value: str) -> bool:
        """True if ``value`` is already encrypted under the current key."""
        return value.startswith(f"{PREFIX}{self.key_id}:")
