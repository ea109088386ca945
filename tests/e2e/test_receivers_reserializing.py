"""End to end: the Just Wallet guide's three receivers, each in its own language,
verify real justwallet deliveries when the endpoint names that language's serializer.

The guide's receivers hash the body as their language writes it back after
parsing: Laravel's ``json_encode($request->all())`` (Debian's php-cli and
php-illuminate-http: Laravel's own Request), Sinatra's
``JSON.generate(request.params)`` (Debian's ruby, ruby-sinatra, ruby-webrick) and
Express's ``JSON.stringify(req.body)`` (Node). Each listens on 127.0.0.1; hookpost
delivers payloads holding slashes, Cyrillic and emoji, floats, empty objects and
arrays, nested arrays, negative zero, list-like keys and (PHP and Ruby)
integers beyond 64 bits; each delivery must succeed (the receiver answered 200:
verified) and the same request with one byte changed must get 401. The PHP
receiver also refuses the JavaScript form of a body with a slash in it: the
field is what makes PHP verify. A missing runtime skips its cases and says
which Debian package brings it (.ci/run installs them).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Hookpost, free_port
from tests.receivers.node import node_receiver
from tests.receivers.replay import replay

RECEIVERS = Path(__file__).resolve().parents[1] / "receivers"
SECRET = "our own webhook secret / ✓"

PAYLOADS: list[Any] = [
    {"id": "e32a", "url": "https://pay.example/r/1?x=a/b", "path": "a\\b/c"},
    {"name": "Зоя Ёлкина", "city": "Zürich", "emoji": "😀👍🏽", "note": "Төлөгдсөн"},
    {"amount": 20.15, "rate": 1.0, "tiny": 0.00001, "big": 1e21, "neg": -3.25, "e": 1.5e-7},
    {"empty_object": {}, "empty_array": [], "nested": {"a": [[], {}, [None, [1, [2.5]]]]}},
    {"meta": ["a764dd44-5e09-42d4-bbad-5dea94de57f8"], "data": {"quote": {"USD": {"total": 1617}}}},
    {
        "zero": -0.0,
        "listlike": {"0": "a", "1": "b"},
        "other": {"1": "a", "0": "b"},
        "k": {"b": 1, "2": 3},
    },
]
IDS = ["slashes", "non-ascii", "floats", "empty-and-nested", "meta", "edges"]
#: Beyond JavaScript's integers (which it cannot verify, as documented); PHP reads
#: 2^63 as a float, Ruby keeps it exact.
BIG = {"amount": 2**63, "count": 10**20}


def _need(program: str, package: str) -> str:
    path = shutil.which(program)
    if path is None:
        pytest.skip(f"{program} is not installed (Debian's {package}; .ci/run installs it)")
    return path


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextlib.asynccontextmanager
async def _serve(argv: list[str], port: int, cwd: Path) -> AsyncIterator[str]:
    """Run a receiver until it listens on ``port``; yield its webhook URL."""
    env = {"PATH": os.environ.get("PATH", ""), "SECRET": SECRET, "PORT": str(port)}
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not _listening(port):
            assert proc.returncode is None, f"{argv[0]} exited with {proc.returncode}"
            assert time.monotonic() < deadline, f"{argv[0]} did not listen on {port}"
            await asyncio.sleep(0.1)
        yield f"http://127.0.0.1:{port}/webhook"
    finally:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()


@contextlib.asynccontextmanager
async def laravel() -> AsyncIterator[str]:
    php = _need("php", "php-cli")
    if not Path("/usr/share/php/Illuminate/Http/autoload.php").exists():
        pytest.skip("Laravel's Request is not installed (Debian's php-illuminate-http)")
    port = free_port()
    argv = [php, "-S", f"127.0.0.1:{port}", str(RECEIVERS / "justwallet_laravel.php")]
    async with _serve(argv, port, RECEIVERS) as url:
        yield url


@contextlib.asynccontextmanager
async def sinatra() -> AsyncIterator[str]:
    ruby = _need("ruby", "ruby")
    probe = await asyncio.create_subprocess_exec(
        ruby, "-e", "require 'sinatra/base'; require 'webrick'", stderr=asyncio.subprocess.DEVNULL
    )
    if await probe.wait() != 0:
        pytest.skip("Sinatra or WEBrick is not installed (Debian's ruby-sinatra, ruby-webrick)")
    port = free_port()
    async with _serve([ruby, str(RECEIVERS / "justwallet_sinatra.rb")], port, RECEIVERS) as url:
        yield url


@contextlib.asynccontextmanager
async def express() -> AsyncIterator[str]:
    async with node_receiver("justwallet.js", SECRET) as node:
        yield node.url()


RUNTIMES = {"php": laravel, "ruby": sinatra, "javascript": express}


async def _deliver(hp: Hookpost, url: str, serializer: str, payload: Any) -> dict[str, Any]:
    """Publish ``payload`` to a fresh justwallet endpoint; its delivery once settled."""
    pid, _ = await hp.project()
    await hp.endpoint(pid, url, profile="justwallet", secret=SECRET, serializer=serializer)
    await hp.publish(pid, "payout", payload=payload)
    (dlv,) = await hp.deliveries(pid)
    deadline = time.monotonic() + 20
    while True:
        d = await hp.delivery(pid, dlv["id"])
        if d["attempts"] and d["status"] != "delivering":
            return d
        assert time.monotonic() < deadline, d
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("serializer", list(RUNTIMES))
async def test_the_guides_receiver_verifies_each_payload(
    hookpost: Hookpost, serializer: str
) -> None:
    async with RUNTIMES[serializer]() as url:
        cases = list(zip(PAYLOADS, IDS, strict=True))
        if serializer != "javascript":
            cases.append((BIG, "big-integers"))
        for payload, name in cases:
            d = await _deliver(hookpost, url, serializer, payload)
            (attempt, *_) = d["attempts"]
            assert attempt["status_code"] == 200, (name, attempt)
            assert d["status"] == "succeeded", (name, d)
            body = attempt["request_body"].encode()
            parsed = json.loads(body)
            assert parsed["event.type"] == "payout"
            assert await replay(url, attempt, body) == 200, name  # the replay is faithful
            changed = body.replace(b'"payout"', b'"payouT"', 1)
            assert len(changed) == len(body) and changed != body
            assert await replay(url, attempt, changed) == 401, name


async def test_php_refuses_the_javascript_form(hookpost: Hookpost) -> None:
    """What the field fixes: without it a PHP receiver cannot verify a slash or non-ASCII."""
    async with laravel() as url:
        for payload in PAYLOADS[:2]:
            d = await _deliver(hookpost, url, "javascript", payload)
            assert d["attempts"][0]["status_code"] == 401, d["attempts"][0]
