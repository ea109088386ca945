"""Build the ``hookpost-client`` wheel: the client and the receiver library, without the server.

    python scripts/build_client.py [--out DIR]      # prints the wheel's path

Copies the modules in :data:`MODULES` from ``src/`` (the very files the
``hookpost`` wheel ships) next to ``clients/python/pyproject.toml`` in a
temporary tree, with the LICENSE, and runs ``pip wheel`` on it. The list is
what ``hookpost.client``, ``hookpost.verify`` and ``hookpost.receiver``
import; tests/e2e/test_client_dist.py installs the wheel in a fresh venv
with only its declared dependencies and uses it against a live server, so a
module missing here fails there.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Paths under src/: a directory means all its .py files.
MODULES = (
    "hookpost/__init__.py",
    "hookpost/py.typed",
    "hookpost/verify.py",
    "hookpost/client",
    "hookpost/receiver",
    "hookpost/profiles",
    "hookpost/core/__init__.py",
    "hookpost/core/jsonenc.py",
    "hookpost/core/serializers.py",
    "hookpost/core/signing.py",
)


def stage(into: Path) -> None:
    """Lay out the distribution's source tree in ``into``."""
    shutil.copy(ROOT / "clients/python/pyproject.toml", into / "pyproject.toml")
    shutil.copy(ROOT / "clients/python/README.md", into / "README.md")
    shutil.copy(ROOT / "LICENSE", into / "LICENSE")
    for name in MODULES:
        src = ROOT / "src" / name
        dest = into / "src" / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            dest.mkdir(exist_ok=True)
            for py in src.glob("*.py"):
                shutil.copy(py, dest / py.name)
        else:
            shutil.copy(src, dest)


def build(out: Path) -> Path:
    """Build the wheel into ``out``; its path."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hookpost-client-") as tmp:
        stage(Path(tmp))
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), tmp],
            check=True,
        )
    (wheel,) = sorted(out.glob("hookpost_client-*.whl"))
    return wheel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    print(build(parser.parse_args().out))


if __name__ == "__main__":
    main()
