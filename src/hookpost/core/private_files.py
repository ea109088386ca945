"""What hookpost writes to disk is the service user's alone: files 0600, directories 0700.

The SQLite database holds every payload, attempt and (sealed) secret, and the
``.hookpost/`` directory holds the keys. Left to SQLite and the default umask
the database would be created 0644 -- readable by every local user. So
hookpost creates the database file itself, empty and 0600, before SQLite
first opens it; SQLite gives the ``-wal`` and ``-shm`` files it makes the
database file's mode. A directory hookpost has to create (the data
directory, ``.hookpost/``, the database's ``-wake/`` and ``-workers/``
directories, a missing parent of the database) is made 0700.

A database that already exists but that others may read (made by an earlier
version) is narrowed to 0600 when hookpost opens it, with its ``-wal``,
``-shm`` and ``-journal`` files. Directories that already exist -- the
working directory, say -- are the operator's, and are left as they are.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parents 0700; an existing directory is left alone."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another process
            directory.mkdir(mode=PRIVATE_DIR)
            os.chmod(directory, PRIVATE_DIR)  # exact, whatever the umask
    return path


def narrow(path: Path) -> None:
    """Take away every permission of group and others on ``path``, if it exists and is ours."""
    with contextlib.suppress(OSError):  # absent, or another user's: not ours to change
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            os.chmod(path, mode & 0o700)


def private_file(path: Path) -> Path:
    """Create ``path`` empty and 0600 unless it exists; an existing one is narrowed."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        narrow(path)
    else:
        os.close(fd)
    return path


def private_sqlite_database(database: str | None) -> None:
    """Prepare the file of a SQLite database (and its companions) before SQLite opens it."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = private_file(Path(database))
    for suffix in ("-wal", "-shm", "-journal"):
        narrow(path.with_name(path.name + suffix))
