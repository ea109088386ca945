"""One configuration model: defaults < TOML file < environment < CLI flags."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hookpost.config import ConfigError, Settings

HOOKPOST = str(Path(sys.executable).parent / "hookpost")


def test_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "hookpost.toml"
    cfg.write_text('port = 7000\nhost = "0.0.0.0"\nretention_days = 7\n')
    monkeypatch.delenv("HOOKPOST_PORT", raising=False)
    monkeypatch.delenv("HOOKPOST_HOST", raising=False)
    monkeypatch.delenv("HOOKPOST_RETENTION_DAYS", raising=False)
    assert Settings.load(str(cfg)).port == 7000  # file over default
    monkeypatch.setenv("HOOKPOST_PORT", "7100")
    s = Settings.load(str(cfg))
    assert (s.port, s.host, s.retention_days) == (7100, "0.0.0.0", 7.0)  # env over file
    assert Settings.load(str(cfg), port=7200, host=None).port == 7200  # flags over env
    assert Settings(port=1).port == 1  # direct construction reads only its arguments


def test_unknown_key_names_the_nearest(tmp_path: Path) -> None:
    cfg = tmp_path / "hookpost.toml"
    cfg.write_text('databse_url = "sqlite:///x.db"\n')
    with pytest.raises(
        ConfigError, match="unknown setting 'databse_url'; did you mean 'database_url'"
    ):
        Settings.load(str(cfg))
    with pytest.raises(ConfigError, match="does not exist"):
        Settings.load(str(tmp_path / "missing.toml"))


def test_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKPOST_PORT", "eighty")
    with pytest.raises(ConfigError, match="HOOKPOST_PORT"):
        Settings.load()


def test_config_command_masks_secrets(tmp_path: Path) -> None:
    (tmp_path / "hookpost.toml").write_text('port = 7300\nlog_level = "debug"\n')
    env = {
        **os.environ,
        "HOOKPOST_ADMIN_TOKEN": "very-secret-admin",
        "HOOKPOST_DATABASE_URL": "postgresql://app:hunter2@db.internal/hookpost",
    }
    env.pop("HOOKPOST_CONFIG", None)
    out = subprocess.run(
        [HOOKPOST, "config", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    values = json.loads(out.stdout)
    assert values["port"] == 7300 and values["log_level"] == "debug"
    assert values["admin_token"] == "***"
    assert values["database_url"] == "postgresql://app:***@db.internal/hookpost"
    assert "very-secret-admin" not in out.stdout and "hunter2" not in out.stdout
    (tmp_path / "hookpost.toml").write_text("prot = 1\n")
    bad = subprocess.run(
        [HOOKPOST, "config"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert bad.returncode != 0 and "did you mean 'port'" in bad.stderr
