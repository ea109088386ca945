"""Where the key that signs dashboard sessions and portal links comes from.

In order of preference:

1. ``HOOKPOST_DASHBOARD_KEY`` -- what a deployment sets when it wants links to
   survive a change of admin token.
2. Derived from the admin token (HMAC with a fixed label). Every API process of
   a deployment already shares that token, so every process agrees on the key
   without another file to copy between machines, and rotating the admin
   token signs everyone out and voids outstanding portal links -- which is what
   an operator rotating a leaked token wants.
3. Only when neither is set (an API that serves project keys alone): a random
   key generated once into ``<data_dir>/.hookpost/dashboard_key``, like the
   admin token that ``hookpost serve`` generates.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from hookpost.config import Settings
from hookpost.core.private_files import private_dir

_LABEL = b"hookpost dashboard signing key v1"


def dashboard_key(settings: Settings) -> bytes:
    """The signing key for ``settings`` (creates the key file only in case 3)."""
    if settings.dashboard_key:
        return settings.dashboard_key.encode("utf-8")
    if settings.admin_token:
        return hmac.new(settings.admin_token.encode("utf-8"), _LABEL, hashlib.sha256).digest()
    return _file_key(Path(settings.data_dir) / ".hookpost" / "dashboard_key")


def _file_key(path: Path) -> bytes:
    if not path.exists():
        # Written whole beside the target, then linked into place: a process
        # starting at the same moment never reads a half-written key.
        private_dir(path.parent)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(32) + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            tmp.unlink(missing_ok=True)
    key = path.read_text().strip()
    if not key:
        raise ValueError(f"{path} holds no key")
    return key.encode("utf-8")
