"""Where the secret-encryption key comes from: the environment, or a file made on first run.

``HOOKPOST_SECRET_KEY`` (plus ``HOOKPOST_SECRET_KEY_OLD`` after a rotation)
wins; that is what a multi-machine deployment sets, since every process must
hold the same key. Otherwise the key lives in ``<data_dir>/.hookpost/secret_key``
(mode 0600): first line the current key, further lines former keys still
accepted for decryption. The file is created on first run, atomically, so
``hookpost serve`` and ``hookpost worker`` started together agree on one key.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Protocol

from hookpost.core.crypto import SecretBox, generate_key
from hookpost.core.private_files import private_dir

log = logging.getLogger("hookpost")


class KeySettings(Protocol):
    """What this module reads of the settings (``hookpost.config.Settings`` has it all).

    A protocol rather than the settings class, so ``core`` imports nothing above it.
    """

    @property
    def data_dir(self) -> str: ...

    @property
    def secret_key(self) -> str | None: ...

    @property
    def secret_key_old(self) -> str | None: ...


def key_path(settings: KeySettings) -> Path:
    return Path(settings.data_dir) / ".hookpost" / "secret_key"


def _split(text: str | None) -> list[str]:
    return [k.strip() for k in (text or "").replace("\n", ",").split(",") if k.strip()]


def _write_tmp(path: Path, lines: list[str]) -> Path:
    """Write ``lines`` (0600) beside ``path``, to be linked or renamed into place whole."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(lines) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return tmp


def _write_new(path: Path, lines: list[str]) -> bool:
    """Create ``path`` with ``lines`` unless it exists; never leaves a partial file."""
    tmp = _write_tmp(path, lines)
    try:
        os.link(tmp, path)  # fails if another process got there first
        return True
    except FileExistsError:
        return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _replace(path: Path, lines: list[str]) -> None:
    os.replace(_write_tmp(path, lines), path)


def _file_keys(path: Path) -> list[str]:
    if not path.exists() and _write_new(path, [generate_key()]):
        log.warning("generated a secret-encryption key in %s: back it up", path)
    keys = _split(path.read_text())
    if not keys:
        raise ValueError(f"{path} holds no key")
    return keys


def load_secret_box(settings: KeySettings) -> SecretBox:
    """The key ring for ``settings``; creates the key file if neither it nor the env has one."""
    if settings.secret_key:
        return SecretBox.from_text(settings.secret_key, _split(settings.secret_key_old))
    current, *old = _file_keys(key_path(settings))
    return SecretBox.from_text(current, [*old, *_split(settings.secret_key_old)])


def add_key_to_file(settings: KeySettings) -> str:
    """Make a new current key in the key file, keeping the former ones for decryption.

    Returns the new key's id. Only for the file mode: with HOOKPOST_SECRET_KEY
    set, the operator changes the environment instead.
    """
    path = key_path(settings)
    keys = _file_keys(path)
    new = generate_key()
    _replace(path, [new, *keys])
    return SecretBox.from_text(new).key_id
