"""Asymmetric keys for the standard profile's ``v1a`` (ed25519) signatures.

With a shared secret, anyone who can verify can also forge. An endpoint
created with an ed25519 key pair keeps the signing half in hookpost and hands
its receivers only the public half.

Key format (the Standard Webhooks prefixes, libsodium's layout):

- secret key ``whsk_`` + standard base64 of 64 bytes: the 32-byte ed25519
  seed followed by the 32-byte public key. A bare 32-byte seed is accepted too.
- public key ``whpk_`` + standard base64 of the 32-byte public key.

Signatures are ``v1a,`` + base64 of the 64-byte ed25519 signature over the
same ``"{id}.{timestamp}.{body}"`` that ``v1`` signs with HMAC.

The ``whsk_`` half is the whole point of the scheme and so never leaves
hookpost once generated or received: every place that would show an
endpoint's secret shows :func:`shown_key` instead, the ``whpk_`` half.
"""

from __future__ import annotations

from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hookpost.core.signing import b64decode, b64encode

SECRET_KEY_PREFIX = "whsk_"
PUBLIC_KEY_PREFIX = "whpk_"


def _public_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def generate_keypair() -> tuple[str, str]:
    """``(whsk_..., whpk_...)``: the endpoint's secret and what its receivers get."""
    key = Ed25519PrivateKey.generate()
    seed = key.private_bytes_raw()
    pub = _public_bytes(key)
    return SECRET_KEY_PREFIX + b64encode(seed + pub), PUBLIC_KEY_PREFIX + b64encode(pub)


def load_secret_key(secret: str) -> Ed25519PrivateKey:
    """The private key of a ``whsk_`` secret; ``ValueError`` if it is not one."""
    if not secret.startswith(SECRET_KEY_PREFIX):
        raise ValueError(f"not a {SECRET_KEY_PREFIX} secret key")
    raw = b64decode(secret[len(SECRET_KEY_PREFIX) :])
    if len(raw) not in (32, 64):
        raise ValueError("a whsk_ key holds a 32-byte seed, optionally followed by its public key")
    key = Ed25519PrivateKey.from_private_bytes(raw[:32])
    if len(raw) == 64 and raw[32:] != _public_bytes(key):
        raise ValueError("the public half of the whsk_ key does not belong to its seed")
    return key


def load_public_key(key: str) -> Ed25519PublicKey:
    """The public key of a ``whpk_`` string; ``ValueError`` if it is not one."""
    if not key.startswith(PUBLIC_KEY_PREFIX):
        raise ValueError(f"not a {PUBLIC_KEY_PREFIX} public key")
    raw = b64decode(key[len(PUBLIC_KEY_PREFIX) :])
    if len(raw) != 32:
        raise ValueError("a whpk_ key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def public_key_for(secret: str) -> str | None:
    """The ``whpk_`` key for a ``whsk_`` secret; None for a symmetric secret.

    ``ValueError`` when the secret looks asymmetric but is malformed.
    """
    if not secret.startswith(SECRET_KEY_PREFIX):
        return None
    return PUBLIC_KEY_PREFIX + b64encode(_public_bytes(load_secret_key(secret)))


def is_asymmetric(key: str) -> bool:
    return key.startswith((SECRET_KEY_PREFIX, PUBLIC_KEY_PREFIX))


def signing_of(secret: str | None) -> Literal["hmac", "ed25519"] | None:
    """How an endpoint with this secret signs (None when the secret is unknown)."""
    if secret is None:
        return None
    return "ed25519" if secret.startswith(SECRET_KEY_PREFIX) else "hmac"


def shown_key(secret: str) -> str:
    """What may be shown of an endpoint's secret: a shared (HMAC) secret as it
    is, for a ``whsk_`` key only its public ``whpk_`` half."""
    public = public_key_for(secret)
    return secret if public is None else public


def sign(secret: str, message: bytes) -> bytes:
    return load_secret_key(secret).sign(message)


def verifier_for(key: str) -> Ed25519PublicKey:
    """A verifying key from either half of the pair (the receiver's ``whpk_``,
    or the ``whsk_`` when the verifier happens to hold it)."""
    if key.startswith(SECRET_KEY_PREFIX):
        return load_secret_key(key).public_key()
    return load_public_key(key)


def signature_valid(public: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        public.verify(signature, message)
    except InvalidSignature:
        return False
    return True
