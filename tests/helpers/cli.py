"""The ``hookpost`` command as a real subprocess, for the tests of every tier that run it.

:func:`run` runs one command to completion; :func:`spawn` starts a long-lived
one (``serve``, ``listen``) whose output is collected as it arrives
(:class:`Proc`) and which is stopped with SIGINT on the way out;
:func:`wait_port` waits until something listens on a loopback port.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

BIN = Path(sys.executable).parent / "hookpost"
if not BIN.exists():
    BIN = Path(shutil.which("hookpost") or "hookpost")


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKPOST_")}
    env.update(PYTHONUNBUFFERED="1", COLUMNS="200", NO_COLOR="1", **extra)
    return env


class Proc:
    """A subprocess whose combined output is collected as it arrives."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.output = ""
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while chunk := await self.proc.stdout.read(4096):
            self.output += chunk.decode(errors="replace")

    async def wait_output(self, text: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if self.proc.returncode is not None and self._reader.done():
                raise AssertionError(
                    f"exited {self.proc.returncode} before {text!r}:\n{self.output}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} within {timeout}s:\n{self.output}")
            await asyncio.sleep(0.05)

    async def stop(self, sig: int = signal.SIGINT) -> int:
        """Send ``sig`` (Ctrl-C by default), wait up to 10 s; the exit code (-N: killed by N)."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._reader, 5)
        return self.proc.returncode if self.proc.returncode is not None else -1


@contextlib.asynccontextmanager
async def spawn(*args: str, env: dict[str, str], cwd: Path) -> AsyncIterator[Proc]:
    proc = await asyncio.create_subprocess_exec(
        str(BIN),
        *args,
        env=env,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    p = Proc(proc)
    try:
        yield p
    finally:
        await p.stop()


async def run(*args: str, env: dict[str, str], cwd: Path, timeout: float = 30) -> tuple[int, str]:
    """Run to completion; (exit code, stdout + stderr)."""
    async with spawn(*args, env=env, cwd=cwd) as p:
        try:
            await asyncio.wait_for(p.proc.wait(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"hookpost {' '.join(args)} still running after {timeout}s"
            ) from None
        await asyncio.wait_for(p._reader, 5)
        return p.proc.returncode or 0, p.output


async def wait_port(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing listening on {port} after {timeout}s") from None
            await asyncio.sleep(0.05)
        else:
            writer.close()
            await writer.wait_closed()
            return
