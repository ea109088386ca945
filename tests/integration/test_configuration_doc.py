"""docs/configuration.md lists every setting, as it is; every CLI flag says what it does.

The table is written by hand (its meanings are prose), so this test keeps it
whole and true: one row per field of :class:`hookpost.config.Settings` and no
other, its environment variable, its default as the code has it, and in the
flag column exactly the flags that read that setting's variable. A new
setting without a row fails here, and so does a default changed in one place.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
import pytest

from hookpost.cli.main import main
from hookpost.config import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def _rows() -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for line in DOC.read_text().splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        assert len(cells) == 5, line
        key = cells[0].strip("`")
        assert key not in rows, f"{key} has two rows"
        rows[key] = cells
    return rows


def _flags_reading(env: str) -> dict[str, set[str]]:
    """Flag -> the commands whose option reads ``env``."""
    out: dict[str, set[str]] = {}
    for name, command in main.commands.items():
        for param in command.params:
            if isinstance(param, click.Option) and param.envvar == env:
                for flag in param.opts:
                    out.setdefault(flag, set()).add(name)
    return out


def _default_text(value: Any) -> str:
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, float):
        return f"`{value:g}`"
    return f"`{value}`"


def test_every_setting_has_one_row() -> None:
    rows = _rows()
    assert sorted(rows) == sorted(Settings.model_fields), (
        "docs/configuration.md: rows missing for "
        f"{sorted(set(Settings.model_fields) - set(rows))}, rows for no setting: "
        f"{sorted(set(rows) - set(Settings.model_fields))}"
    )


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_each_row_says_what_the_code_does(name: str) -> None:
    _key, env, flag, default, meaning = _rows()[name]
    assert env == f"`HOOKPOST_{name.upper()}`"
    value = Settings.model_fields[name].default
    if value is None:
        assert default.startswith("none"), default
    elif value == "":
        assert default.startswith("empty"), default
    else:
        assert default.split(" ")[0] == _default_text(value), (default, value)
    flags = _flags_reading(f"HOOKPOST_{name.upper()}")
    if name == "workers":
        flags = {"--no-workers": {"serve"}}
    if not flags:
        assert flag == "—", f"{name}: no command takes a flag for it, but the table says {flag}"
    for opt, commands in flags.items():
        assert f"`{opt}`" in flag, f"{name}: {opt} missing from {flag!r}"
        for command in commands:
            assert re.search(rf"\b{re.escape(command)}\b", flag), (name, command, flag)
    assert len(meaning) > 20, meaning


def _every_command(group: click.Group, prefix: str = "hookpost") -> dict[str, click.Command]:
    """Name -> command, through the groups (``hookpost endpoints list``)."""
    found: dict[str, click.Command] = {prefix: group}
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.update(_every_command(command, f"{prefix} {name}"))
        else:
            found[f"{prefix} {name}"] = command
    return found


def test_every_flag_has_a_help_line() -> None:
    """``hookpost X --help`` says what each option does, for every command, and every
    command takes ``--debug`` (the traceback behind an error)."""
    commands = _every_command(main)
    assert "hookpost endpoints list" in commands
    missing = [
        f"{name} {'/'.join(param.opts)}"
        for name, command in commands.items()
        for param in command.params
        if isinstance(param, click.Option) and not (param.help or "").strip()
    ]
    assert missing == []
    no_debug = [
        name
        for name, command in commands.items()
        if not any("--debug" in p.opts for p in command.params)
    ]
    assert no_debug == []


def test_serve_help_lists_its_flags_with_text() -> None:
    from click.testing import CliRunner

    out = CliRunner().invoke(main, ["serve", "--help"], terminal_width=120).output
    for flag in ("--host", "--port", "--database-url", "--admin-token", "--no-workers"):
        line = next(x for x in out.splitlines() if x.strip().startswith(flag))
        assert len(line.split(None, 2)) == 3 or flag == "--no-workers", line
    assert "docs/configuration.md" in out
