"""docs/architecture.md lists every module of the package, one line each, and no more.

The page is the map a reader starts from (issue 14): a module added without its line, or a
line left behind by a module moved away, makes the map wrong without anyone noticing.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "hookpost"
DOC = ROOT / "docs" / "architecture.md"
# One line per module: "- `store/_queue.py`: what it does." (a folder for Alembic's revisions).
LINE = re.compile(r"^- `([\w/]+(?:\.py|/))`: \S", re.MULTILINE)


def _modules_section() -> str:
    text = DOC.read_text(encoding="utf-8")
    return text[text.index("## Modules") : text.index("\n## ", text.index("## Modules") + 1)]


def _modules() -> set[str]:
    found = {
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if "migrations" not in p.relative_to(PACKAGE).parts
    }
    return found | {"store/migrations/"}


def test_every_module_has_its_line_and_every_line_a_module() -> None:
    listed = LINE.findall(_modules_section())
    assert len(listed) == len(set(listed)), "a module is listed twice"
    assert sorted(_modules() - set(listed)) == [], "modules without a line in the doc"
    assert sorted(set(listed) - _modules()) == [], "lines naming modules that are gone"
