"""The ``hookpost-client`` wheel installs without the server and works against a live one.

Built by scripts/build_client.py, installed with ``--no-deps`` into a fresh
venv (``--without-pip`` is not possible: pip installs it) next to exactly its
declared dependencies, then a script in that venv imports the client and the
receiver library, checks that no server module or dependency is importable,
and runs create endpoint -> publish -> read the delivery's attempt -> verify
its signature against a hookpost started by the test.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ADMIN, Hookpost, Receiver

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: the wheel's contents are under test, not the storage backend."""
    return sqlite_url


SCRIPT = r"""
import importlib.util, json, sys, time
from hookpost import Client, NotFound
from hookpost.verify import verify
import hookpost.receiver

base, token, hook = sys.argv[1:4]
server_parts = ["hookpost.api", "hookpost.store", "hookpost.web", "hookpost.delivery",
                "hookpost.cli", "fastapi", "sqlalchemy", "uvicorn", "aiohttp", "pydantic"]
present = []
for name in server_parts:
    try:
        if importlib.util.find_spec(name) is not None:
            present.append(name)
    except ModuleNotFoundError:
        pass
with Client(base, token=token) as admin:
    project = admin.create_project("light")
pid = project["id"]
with Client(base, token=project["api_key"], user_agent="light-install/1") as hp:
    ep = hp.create_endpoint(pid, hook, retry_schedule=[1, 2], success_rule="2xx")
    hp.publish(pid, "user.created", {"light": True}, event_id="evt_light")
    for _ in range(300):
        (dlv,) = hp.list_deliveries(pid)["data"]
        if dlv["status"] == "succeeded":
            break
        time.sleep(0.05)
    attempt = hp.get_delivery(pid, dlv["id"])["attempts"][0]
    try:
        hp.get_event(pid, "evt_nope")
        missing = False
    except NotFound:
        missing = True
event = verify(attempt["request_body"], attempt["request_headers"], ep["secret"], tolerance=10**9)
print(json.dumps({"present": present, "status": dlv["status"], "data": event["data"],
                  "missing": missing, "schedule": ep["retry_schedule"]}))
"""


@pytest.mark.skipif(os.environ.get("HOOKPOST_SKIP_WHEEL") == "1", reason="HOOKPOST_SKIP_WHEEL=1")
async def test_light_wheel_in_a_fresh_venv(
    tmp_path: Path, hookpost: Hookpost, receiver: Receiver
) -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts/build_client.py"), "--out", str(tmp_path / "dist")],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    wheel = Path(out.stdout.strip())
    with zipfile.ZipFile(wheel) as whl:
        names = whl.namelist()
    assert not [
        n for n in names if n.startswith(("hookpost/store", "hookpost/api", "hookpost/web"))
    ]
    declared = tomllib.loads((ROOT / "clients/python/pyproject.toml").read_text())["project"][
        "dependencies"
    ]
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "--no-deps", str(wheel)], check=True, timeout=300)
    subprocess.run([*pip, *declared], check=True, timeout=600)
    freeze = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "freeze"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.lower()
    assert "fastapi" not in freeze and "sqlalchemy" not in freeze
    packages = len(freeze.splitlines())

    run = await asyncio.to_thread(
        subprocess.run,
        [str(venv / "bin" / "python"), "-c", SCRIPT, hookpost.base_url, ADMIN, receiver.url()],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,  # not the repository: nothing of src/ on the path
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.splitlines()[-1])
    assert result == {
        "present": [],
        "status": "succeeded",
        "data": {"light": True},
        "missing": True,
        "schedule": [1.0, 2.0],
    }
    # Measured: 11 with itself (httpx, httpcore, h11, anyio, idna, certifi,
    # cryptography, cffi, pycparser, typing_extensions); the server's wheel brings 51.
    assert packages <= 15, freeze
