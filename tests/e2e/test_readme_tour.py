"""The README's tour runs as written, top to bottom, against a live hookpost.

The test reads README.md: the receiver command of terminal 2 and every shell
block marked ``<!-- tour ... -->``, in order. It starts what ``make run`` starts
-- ``hookpost migrate`` then ``hookpost serve`` on SQLite with loopback allowed,
an admin token generated into ``.hookpost/`` -- in a temporary folder, starts
the receiver, and runs the blocks in one ``bash -euo pipefail``, so a variable
the tour uses without setting, or a failing call, fails the test. Only the
ports (8000, 9000: free ones here) and the path of ``.venv/bin/hookpost`` are
substituted. Every wait is bounded. docs/quickstart.md must show the same tour.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.conftest import LOOPBACK, free_port
from tests.serveproc import interrupt

ROOT = Path(__file__).resolve().parents[2]
HOOKPOST = str(Path(sys.executable).parent / "hookpost")


def tour_blocks(text: str) -> list[str]:
    """The shell blocks that follow a ``<!-- tour`` marker, in order."""
    return re.findall(r"<!-- tour[^>]*-->\n```sh\n(.*?)```", text, re.S)


def _listen_command(text: str) -> str:
    (line,) = re.findall(r"^\.venv/bin/hookpost listen .*$", text, re.M)
    return line


def _local(script: str, api_port: int, listen_port: int) -> str:
    return (
        script.replace("127.0.0.1:8000", f"127.0.0.1:{api_port}")
        .replace("127.0.0.1:9000", f"127.0.0.1:{listen_port}")
        .replace("--port 9000", f"--port {listen_port}")
        .replace(".venv/bin/hookpost", HOOKPOST)
    )


@contextlib.contextmanager
def _process(args: list[str], cwd: Path, env: dict[str, str], log: Path) -> Iterator[None]:
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out
        )
    try:
        yield
    finally:
        interrupt(proc, 15)


def _wait_http(url: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            httpx.get(url, timeout=2)
            return
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout}s:\n{log.read_text()}")


def test_the_readme_tour_runs_top_to_bottom(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = tour_blocks(readme)
    assert len(blocks) >= 2, "README.md: the tour blocks are marked <!-- tour ... -->"
    api_port, listen_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKPOST_")}
    env.update(
        HOOKPOST_DATABASE_URL=f"sqlite:///{tmp_path}/hookpost.db",
        HOOKPOST_ALLOWED_NETWORKS=LOOPBACK,  # as make run sets it
        HOOKPOST_PORT=str(api_port),
        PYTHONUNBUFFERED="1",
        COLUMNS="200",
    )
    subprocess.run([HOOKPOST, "migrate"], cwd=tmp_path, env=env, check=True, timeout=60)
    serve_log, listen_log = tmp_path / "serve.log", tmp_path / "listen.log"
    listen = _local(_listen_command(readme), api_port, listen_port).split()
    with (
        _process([HOOKPOST, "serve"], tmp_path, env, serve_log),
        _process(listen, tmp_path, env, listen_log),
    ):
        _wait_http(f"http://127.0.0.1:{api_port}/healthz", serve_log)
        _wait_http(f"http://127.0.0.1:{listen_port}/", listen_log)
        script = _local("\n".join(blocks), api_port, listen_port)
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            env={k: v for k, v in env.items() if not k.startswith("HOOKPOST_")},
            capture_output=True,
            text=True,
            timeout=120,
        )
        failed = f"{done.stdout}\n{done.stderr}\nserve:\n{serve_log.read_text()}"
        assert done.returncode == 0, failed
    out = done.stdout
    # Step 5 printed the delivery: delivered once, with the listener's 200.
    delivery = next(json.loads(line) for line in out.splitlines() if '"attempts"' in line)
    assert delivery["status"] == "succeeded", delivery
    assert delivery["attempt_count"] == 1 and delivery["attempts"][0]["status_code"] == 200
    # Step 4 published the same event_id again: answered, nothing new.
    assert delivery["event_id"] == "user-42-created"
    # The portal link block ran with the tour's variables.
    portal = next(json.loads(line) for line in out.splitlines() if '"scope"' in line)
    assert portal["url"].startswith(f"http://127.0.0.1:{api_port}/portal/")
    assert re.search(r"^project proj_\w+, endpoint ep_\w+, event user-42-created", out, re.M)
    assert "verified" in listen_log.read_text(), listen_log.read_text()


def test_the_quickstart_shows_the_same_tour() -> None:
    readme = tour_blocks((ROOT / "README.md").read_text())
    quickstart = (ROOT / "docs" / "quickstart.md").read_text()
    assert readme[0] in quickstart, "docs/quickstart.md: copy the README's tour block as it is"
    assert _listen_command((ROOT / "README.md").read_text()) in quickstart
    # One token per call kind: the admin token creates the project, the key does the rest.
    for block in tour_blocks(quickstart):
        for call in re.findall(r"curl[^\n]*(?:\n  [^\n]*)*", block):
            if "/projects/$PROJECT" in call:
                assert "Bearer $KEY" in call, call
