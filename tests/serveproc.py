"""A real ``hookpost serve`` (or ``worker``) process, for tests that kill or multiply it.

Every process of one test shares the database and the secret key; each gets
its own port and appends to one log file, shown when a process fails to start.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import LOOPBACK, TEST_SECRET_KEY, free_port

HOOKPOST = str(Path(sys.executable).parent / "hookpost")
TOKEN = "crash-test-admin"


class Server:
    """``hookpost <args>`` (``serve`` by default) with ``env`` on top of the test settings."""

    def __init__(
        self, db_url: str, workdir: Path, *args: str, env: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        self.args = list(args) or ["serve"]
        self.env = {
            **os.environ,
            "HOOKPOST_DATABASE_URL": db_url,
            "HOOKPOST_ADMIN_TOKEN": TOKEN,
            "HOOKPOST_PORT": str(self.port),
            "HOOKPOST_LEASE_SECONDS": "2",
            "HOOKPOST_POLL_INTERVAL": "0.1",
            "HOOKPOST_DATA_DIR": str(workdir),
            "HOOKPOST_ALLOWED_NETWORKS": LOOPBACK,
            "HOOKPOST_SECRET_KEY": TEST_SECRET_KEY,
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "serve.log"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, timeout: float = 30) -> httpx.AsyncClient:
        """An admin client of this process's API."""
        return httpx.AsyncClient(
            base_url=self.base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=timeout
        )

    def spawn(self) -> None:
        """Start the process without waiting for it (a worker has no API to ask)."""
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [HOOKPOST, *self.args], env=self.env, stdout=out, stderr=out
            )

    async def start(self) -> None:
        self.spawn()
        assert self.proc is not None
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient() as c:
            while time.monotonic() < deadline:
                try:
                    up = (await c.get(self.base + "/healthz")).status_code == 200
                except httpx.TransportError:
                    up = False
                # Alive after the answer, too: a process that could not bind its port
                # has exited, and whoever answered is not this server.
                assert self.proc.poll() is None, self.log.read_text()
                if up:
                    assert listening(self.proc.pid, self.port), (
                        f"another process answers on port {self.port}: " + self.log.read_text()
                    )
                    return
                await asyncio.sleep(0.05)
        raise AssertionError("server did not start: " + self.log.read_text())

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def listening(pid: int, port: int) -> bool:
    """Does process ``pid`` hold a socket listening on TCP ``port`` (Linux ``/proc``)?

    A ``/healthz`` answer on the port says some server is up there, not which: this
    says it is the one the test started.
    """
    inodes = set()
    fds = Path(f"/proc/{pid}/fd")
    for fd in fds.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            next(rows)  # the header line
            for row in rows:
                fields = row.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == port and fields[3] == _LISTEN and fields[9] in inodes:
                    return True
    return False


#: A listening socket's state in ``/proc/net/tcp``.
_LISTEN = "0A"


def interrupt(proc: subprocess.Popen[bytes], grace: float = 15) -> None:
    """Ctrl-C, as a person stops it; killed if it has not exited after ``grace`` seconds."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
