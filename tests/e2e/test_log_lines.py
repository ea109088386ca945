"""One log format per run, read from a real ``hookpost serve`` process.

stderr that is not a terminal gets JSON lines -- all of them: the start-up
lines and uvicorn's own included -- and stdout stays empty. Health probes
(/healthz, /readyz) add no line at info: before, each /readyz wrote two Alembic
lines. ``HOOKPOST_LOG_FORMAT=text`` gives text lines to a pipe, and a terminal
gets text unless told otherwise.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hookpost.store.migrate import upgrade
from tests.conftest import free_port
from tests.serveproc import interrupt

HOOKPOST = str(Path(sys.executable).parent / "hookpost")


@contextlib.contextmanager
def serve(tmp_path: Path, *, stderr: int | None = None, **env: str) -> Iterator[tuple[str, Path]]:
    """``hookpost serve`` on a fresh SQLite file; stdout and stderr to files (or ``stderr``)."""
    url = f"sqlite:///{tmp_path}/logs.db"
    upgrade(url)
    port = free_port()
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOOKPOST_")}
    with open(out, "wb") as o, open(err, "wb") as e:
        proc = subprocess.Popen(
            [HOOKPOST, "serve", "--port", str(port)],
            env={**clean, "HOOKPOST_DATABASE_URL": url, "HOOKPOST_DATA_DIR": str(tmp_path), **env},
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=o,
            stderr=stderr if stderr is not None else e,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, err.read_text()
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(base + "/readyz", timeout=5).status_code == 200:
                    break
            assert time.monotonic() < deadline, "serve did not become ready"
            time.sleep(0.1)
        yield base, err
    finally:
        interrupt(proc, 20)
        assert out.read_text() == "", "stdout is for nothing: every line is a log record"


def _settled(path: Path) -> list[str]:
    """The lines written so far, once no new one has arrived for half a second."""
    lines = path.read_text().splitlines()
    for _ in range(40):
        time.sleep(0.5)
        now = path.read_text().splitlines()
        if now == lines:
            return lines
        lines = now
    return lines


def test_every_line_is_json_and_probes_log_nothing(tmp_path: Path) -> None:
    with serve(tmp_path, HOOKPOST_PUBLIC_URL="https://hooks.example.com") as (base, err):
        before = _settled(err)
        for _ in range(20):
            assert httpx.get(base + "/readyz", timeout=5).status_code == 200
            assert httpx.get(base + "/healthz", timeout=5).status_code == 200
        after = _settled(err)
        assert after == before, "probes wrote:\n" + "\n".join(after[len(before) :])
    lines = err.read_text().splitlines()
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not a JSON line: {line!r}\nall of stderr:\n" + "\n".join(lines))
    for record in records:
        assert {"ts", "level", "logger", "msg"} <= set(record), record
        assert "color_message" not in record
        assert not record["logger"].startswith("alembic"), record
    messages = [r["msg"] for r in records]
    loggers = {r["logger"] for r in records}
    # The start-up banner and uvicorn's own lines are among them, as JSON.
    assert any(m.startswith("hookpost API + workers on http://127.0.0.1:") for m in messages)
    banner = next(r for r in records if r["msg"].startswith("hookpost API"))
    # Links in it start with the public URL; the listening address is said as it is.
    assert banner["docs"] == "https://hooks.example.com/docs", banner
    assert banner["database"].startswith("sqlite:")
    assert any("Uvicorn running on" in m for m in messages), messages
    assert any(m == "Shutting down" for m in messages), messages
    assert "uvicorn.error" in loggers
    # A generated admin token is not written to a log stream; its file is named.
    token = (tmp_path / ".hookpost" / "admin_token").read_text().strip()
    assert token not in err.read_text()
    assert any("admin token kept in" in m for m in messages)


def test_log_format_text_is_forced_on_a_pipe(tmp_path: Path) -> None:
    with serve(tmp_path, HOOKPOST_LOG_FORMAT="text") as (_base, err):
        _settled(err)
    lines = err.read_text().splitlines()
    assert lines
    for line in lines:
        assert not line.startswith("{"), line
        assert " INFO " in line or " WARNING " in line, line
    assert any("uvicorn.error: Uvicorn running on" in line for line in lines)


def test_a_terminal_gets_text_lines(tmp_path: Path) -> None:
    """stderr a terminal (a pseudo-terminal here) and no format set: text."""
    leader, follower = pty.openpty()
    got = b""
    try:
        with serve(tmp_path, stderr=follower):
            deadline = time.monotonic() + 10
            while b"Uvicorn running" not in got and time.monotonic() < deadline:
                import select

                ready, _, _ = select.select([leader], [], [], 0.5)
                if ready:
                    got += os.read(leader, 65536)
    finally:
        os.close(follower)
        os.close(leader)
    text = got.decode(errors="replace")
    assert "Uvicorn running" in text, text
    assert '{"ts"' not in text
    # A person at a terminal is shown the generated token once.
    token = (tmp_path / ".hookpost" / "admin_token").read_text().strip()
    assert f"admin token: {token}" in text


def test_a_refused_start_is_one_json_line(tmp_path: Path) -> None:
    """No schema yet, or no database at all: one error record saying what to do.

    Exit codes as docs/cli.md's table has them: 1 for a schema to migrate, 3 for a
    database that cannot be reached.
    """
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOOKPOST_")}
    cases = {
        f"sqlite:///{tmp_path}/empty.db": ("hookpost migrate", 1),
        f"postgresql://hookpost:pw@127.0.0.1:{free_port()}/nothing": ("cannot use the database", 3),
    }
    for url, (says, code) in cases.items():
        for command in ("serve", "worker"):
            done = subprocess.run(
                [HOOKPOST, command, *(["--port", str(free_port())] if command == "serve" else [])],
                env={**clean, "HOOKPOST_DATABASE_URL": url, "HOOKPOST_DATA_DIR": str(tmp_path)},
                cwd=tmp_path,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == code, (url, command, done.stderr)
            assert done.stdout == ""
            records = [json.loads(line) for line in done.stderr.splitlines()]
            errors = [r for r in records if r["level"] == "error"]
            assert len(errors) == 1 and says in errors[0]["msg"], (url, command, records)
            assert ":pw@" not in done.stderr and "Traceback" not in done.stderr
