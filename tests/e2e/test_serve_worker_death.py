"""``hookpost serve`` stops, and exits 1, when its embedded delivery worker dies.

A worker whose side task died used to stop while ``serve`` kept answering
202 to publishes nobody would deliver, with only ``/readyz`` saying so. Now the
server shuts down gracefully and exits 1 with one line naming the task, so a
supervisor (systemd, Kubernetes) restarts the whole process. The listener is
broken here the way a dropped wake-up channel breaks it, in a real ``serve``
process on SQLite; ``--no-workers`` is the control: nothing to die, it serves.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from hookpost.store.migrate import upgrade
from tests.conftest import ADMIN, TEST_SECRET_KEY, free_port

pytestmark = pytest.mark.slow

# serve, with the store's wake-up listener replaced by one that dies 0.5 s in.
_SERVE_WITH_A_BROKEN_LISTENER = """
import asyncio
from hookpost.store import Store

class Broken:
    async def ensure(self):
        await asyncio.sleep(0.5)
        raise ConnectionResetError("the wake-up channel broke")

    async def close(self):
        pass

Store.listener = lambda self, url, on_notify: Broken()
from hookpost.cli.main import main
main()
"""


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKPOST_")}
    env.update(
        PYTHONUNBUFFERED="1",
        HOOKPOST_DATABASE_URL=url,
        HOOKPOST_ADMIN_TOKEN=ADMIN,
        HOOKPOST_SECRET_KEY=TEST_SECRET_KEY,
    )
    return env


@pytest.mark.parametrize("workers", [True, False], ids=["embedded-worker", "no-workers"])
def test_serve_exits_1_when_its_worker_dies(tmp_path: Path, workers: bool) -> None:
    url = f"sqlite:///{tmp_path}/hookpost.db"
    upgrade(url)
    port = free_port()
    args = ["serve", "--port", str(port)] + ([] if workers else ["--no-workers"])
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVE_WITH_A_BROKEN_LISTENER, *args],
        env=_env(url),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        if workers:
            out, _ = proc.communicate(timeout=60)
            assert proc.returncode == 1, out
            assert "stopped: the delivery worker died" in out, out
            assert "'listen' task raised ConnectionResetError" in out, out
            assert out.count("Traceback") == 1, out  # the task's, logged once; none from serve
        else:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # until it answers (a loaded machine is slow)
                assert proc.poll() is None, proc.communicate()[0]
                try:
                    r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            else:
                raise AssertionError("serve --no-workers never answered")
            assert r.status_code == 200
            time.sleep(2)  # long past the 0.5 s the listener would live
            assert proc.poll() is None  # nothing died: still serving
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=30)
