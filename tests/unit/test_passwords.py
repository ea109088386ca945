"""Operator passwords (``hookpost.core.passwords``): the rules, and the dummy hash an
unknown account is checked against."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hookpost.core import passwords


def test_the_dummy_hash_has_todays_parameters() -> None:
    """An unknown account costs what a known one costs only if the dummy hash is made
    with the hasher's own parameters (memory, passes, lanes)."""
    assert not passwords._hasher.check_needs_rehash(passwords._DUMMY)
    assert passwords.verify(None, "hookpost: no such operator") is False


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("short", False),
        (" " * 20, False),
        ("x" * (passwords.MAX_LENGTH + 1), False),
        ("correct horse battery", True),
    ],
)
def test_strength_and_round_trip(password: str, ok: bool) -> None:
    assert (passwords.check_strength(password) is None) is ok
    if ok:
        stored = passwords.hash_password(password)
        assert passwords.verify(stored, password)
        assert not passwords.verify(stored, password + "!")


def test_importing_does_not_hash() -> None:
    """Import allocates no Argon2 memory (64 MiB): it was a third of serve's peak RSS."""
    # VmHWM, not ru_maxrss: the child's ru_maxrss starts at the forking pytest's.
    code = (
        "import hookpost.core.passwords, pathlib;"
        "print(next(l.split()[1] for l in pathlib.Path('/proc/self/status').read_text()"
        ".splitlines() if l.startswith('VmHWM')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    peak_kib = int(out.stdout)
    assert peak_kib < 50 * 1024, f"importing peaked at {peak_kib} KiB"
