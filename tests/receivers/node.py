"""Run a provider-style Node.js receiver (tests/receivers/*.js) as a subprocess.

The script prints ``listening <port>`` once bound to 127.0.0.1, then one JSON
line per request it judged; the lines are collected so a test can see what the
receiver thought, not only its status code.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent


@dataclass
class NodeReceiver:
    port: int
    verdicts: list[dict[str, Any]] = field(default_factory=list)

    def url(self, path: str = "/webhook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def node_binary() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    return node


@contextlib.asynccontextmanager
async def node_receiver(script: str, secret: str) -> AsyncIterator[NodeReceiver]:
    env = {"PATH": os.environ.get("PATH", ""), "SECRET": secret, "PORT": "0"}
    proc = await asyncio.create_subprocess_exec(
        node_binary(),
        str(HERE / script),
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    reader: asyncio.Task[None] | None = None
    try:
        first = await asyncio.wait_for(proc.stdout.readline(), 10)
        word, _, port = first.decode().partition(" ")
        assert word == "listening", first
        receiver = NodeReceiver(int(port))

        async def collect() -> None:
            assert proc.stdout is not None
            async for line in proc.stdout:
                receiver.verdicts.append(json.loads(line))

        reader = asyncio.create_task(collect())
        yield receiver
    finally:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()
        if reader is not None:
            await reader
