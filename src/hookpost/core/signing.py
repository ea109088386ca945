"""Signing primitives: HMAC, encodings and secret handling.

Profiles (``hookpost.profiles``) combine these into a wire format; the sender
and the receiver library call the same functions, so they cannot disagree.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import secrets as _secrets

SECRET_PREFIX = "whsec_"


class WebhookVerificationError(Exception):
    """The request is not a valid, fresh webhook signed with the given secret."""


class InvalidSecretError(WebhookVerificationError, ValueError):
    """The verifying key itself is unusable: missing, empty, blank, or a
    ``whsec_``/``whsk_``/``whpk_`` key with nothing (or only zero bytes) after
    the prefix.

    HMAC pads its key with zero bytes, so every such key is the empty key, and
    anyone can sign with the empty key: a receiver configured with one would
    accept forgeries. It is a configuration mistake, raised before any
    signature is looked at -- at set-up by the helpers and the CLI, else by
    ``verify`` -- and it is also a ``ValueError``, what a bad setting raises.
    """


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.digest(key, message, "sha256")  # OpenSSL's one-shot HMAC


def b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def b64decode(text: str) -> bytes:
    """Decode standard or url-safe base64, with or without padding."""
    t = text.strip().replace("-", "+").replace("_", "/")
    t += "=" * (-len(t) % 4)
    try:
        return base64.b64decode(t, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not valid base64") from exc


def constant_time_equal(a: bytes | str, b: bytes | str) -> bool:
    if isinstance(a, str):
        a = a.encode("utf-8", "surrogateescape")
    if isinstance(b, str):
        b = b.encode("utf-8", "surrogateescape")
    return hmac.compare_digest(a, b)


def generate_secret(nbytes: int = 24) -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of random bytes."""
    return SECRET_PREFIX + b64encode(_secrets.token_bytes(nbytes))


def secret_key_bytes(secret: str) -> bytes:
    """The HMAC key for a ``whsec_`` secret (Standard Webhooks / Svix convention).

    A secret without the prefix is used as its UTF-8 bytes, which is what
    providers that let the customer choose a plain-text secret expect.
    """
    if secret.startswith(SECRET_PREFIX):
        return b64decode(secret[len(SECRET_PREFIX) :])
    return secret.encode("utf-8")


#: :func:`secret_key_bytes` of the secrets this process signs with: every delivery to
#: an endpoint signs with the same few, and decoding one cost a third of an HMAC.
#: Bounded; a secret rotated out is dropped as others come in.
signing_key = functools.lru_cache(maxsize=1024)(secret_key_bytes)
