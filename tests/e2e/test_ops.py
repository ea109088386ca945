"""Operability: metrics that move, readiness that tells the truth, JSON logs, packaging."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import platform
import re
import subprocess
import sys
import time
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from hookpost.core.clock import ManualClock
from hookpost.domain import Claim
from hookpost.logs import JsonFormatter
from tests.conftest import (
    Hookpost,
    Receiver,
    _pg_exec,
    _pg_url,
    free_port,
    start_hookpost,
)


def _metric(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    pattern = rf"^{re.escape(name)}{{{re.escape(want)}}} (\S+)$" if want else rf"^{name} (\S+)$"
    m = re.search(pattern, text, re.M)
    return float(m.group(1)) if m else 0.0


async def test_metrics_move_after_deliveries(hookpost: Hookpost, receiver: Receiver) -> None:
    before = (await hookpost.http.get("/metrics")).text
    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, receiver.url(), event_types=["ok.*"])
    await hookpost.endpoint(pid, receiver.on("/bad", [500]), event_types=["bad.*"])
    closed = f"http://127.0.0.1:{free_port()}/nobody"  # connection refused: no answer
    await hookpost.endpoint(pid, closed, event_types=["gone.*"])
    await hookpost.publish(pid, "ok.x")
    await hookpost.publish(pid, "bad.x")
    await hookpost.publish(pid, "gone.x")
    await receiver.wait_for(2)
    for d in await hookpost.deliveries(pid):
        for _ in range(200):
            if (await hookpost.delivery(pid, d["id"]))["attempt_count"]:
                break
            await asyncio.sleep(0.02)
    await asyncio.sleep(5.1)  # the queue gauges are cached for 5 s
    after = (await hookpost.http.get("/metrics")).text
    name = "hookpost_delivery_attempts_total"
    # ``result`` is what each attempt did, not the delivery's next state (both failed
    # deliveries are "pending" again, waiting for their retry).
    for result in ("success", "http_error", "error"):
        grew = _metric(after, name, result=result, profile="standard") - _metric(
            before, name, result=result, profile="standard"
        )
        assert grew == 1, (result, after)
    assert 'result="pending"' not in after and 'result="succeeded"' not in after
    assert _metric(after, "hookpost_events_published_total") >= 3
    assert _metric(after, "hookpost_queue_deliveries", state="scheduled") == 2  # both retries
    assert "hookpost_delivery_attempt_seconds_bucket" in after
    assert _metric(after, "hookpost_endpoints", state="failing") == 2


async def test_metrics_names_requests_and_build(hookpost: Hookpost, receiver: Receiver) -> None:
    """OpenMetrics-clean names, the renamed fan-out counter beside its old name, API
    requests by route template and status, and the build; scraped from a real server."""
    from hookpost import __version__

    before = (await hookpost.http.get("/metrics")).text
    pid, _ = await hookpost.project()
    for path in ("/a", "/b"):
        await hookpost.endpoint(pid, receiver.url(path))
    await hookpost.publish(pid, "a.b")
    assert (await hookpost.http.get(f"/nothing/here/{pid}")).status_code == 404
    await receiver.wait_for(2)
    after = (await hookpost.http.get("/metrics")).text

    # No family or series ends in OpenMetrics' reserved _created (prometheus_client's
    # per-counter *_created timestamps are off).
    assert not re.findall(r"^\w+_created[{ ]", after, re.M)
    assert "# TYPE hookpost_deliveries_created " not in after

    def grew(name: str, **labels: str) -> float:
        return _metric(after, name, **labels) - _metric(before, name, **labels)

    assert grew("hookpost_deliveries_enqueued_total") == 2
    assert grew("hookpost_deliveries_created_total") == 2  # the old name, one more release
    assert "Deprecated: use hookpost_deliveries_enqueued_total" in after

    publish = "/api/v1/projects/{project_id}/events"
    assert grew("hookpost_http_requests_total", method="POST", route=publish, status="202") == 1
    assert grew("hookpost_http_request_duration_seconds_count", method="POST", route=publish) == 1
    assert grew("hookpost_http_requests_total", method="GET", route="<other>", status="404")
    # Templates, never raw paths: a project's id makes no series of its own.
    assert not [
        line for line in after.splitlines() if line.startswith("hookpost_http_") and pid in line
    ]
    assert (
        _metric(after, "hookpost_build_info", python=platform.python_version(), version=__version__)
        == 1
    )


@pytest.fixture
async def metrics_behind_token(db_url: str, clock: ManualClock) -> AsyncIterator[Hookpost]:
    async for hp in start_hookpost(db_url, clock, metrics_token="scrape-me"):
        yield hp


async def test_metrics_token(metrics_behind_token: Hookpost) -> None:
    hp = metrics_behind_token
    async with httpx.AsyncClient(base_url=hp.base_url) as anonymous:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "scrape-me"}):
            r = await anonymous.get("/metrics", headers=headers)
            assert r.status_code == 401, (headers, r.text)
            assert "HOOKPOST_METRICS_TOKEN" in r.text and "scrape-me" not in r.text
            assert r.headers["www-authenticate"].startswith("Bearer")
        r = await anonymous.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert r.status_code == 200 and "hookpost_build_info" in r.text
        # The other probes stay open.
        assert (await anonymous.get("/readyz")).status_code == 200


@pytest.fixture
async def stallable(db_url: str, clock: ManualClock) -> AsyncIterator[Hookpost]:
    async for hp in start_hookpost(db_url, clock, stall_seconds=0.5):
        yield hp


async def test_readiness_reports_a_stalled_worker(stallable: Hookpost) -> None:
    hp = stallable
    for _ in range(50):  # the first call may find the loop busy starting up
        r = await hp.http.get("/readyz")
        if r.status_code == 200:
            break
        await asyncio.sleep(0.05)
    assert r.status_code == 200, r.text
    assert r.json()["checks"] == {"database": "ok", "schema": "ok", "workers": "ok"}
    release = asyncio.Event()
    real_claim = hp.store.claim

    async def stuck_claim(*args: object, **kwargs: object) -> Claim:
        await release.wait()  # a worker wedged on something (a lock, a dead socket)
        return Claim([], more=False, capped=set())

    hp.store.claim = stuck_claim  # type: ignore[method-assign]
    hp.wake()
    await asyncio.sleep(1.0)
    r = await hp.http.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["workers"].startswith("stalled")
    assert (await hp.http.get("/healthz")).status_code == 200  # alive, but not ready
    hp.store.claim = real_claim  # type: ignore[method-assign]
    release.set()
    for _ in range(100):
        if (await hp.http.get("/readyz")).status_code == 200:
            break
        await asyncio.sleep(0.05)
    assert (await hp.http.get("/readyz")).status_code == 200


async def test_readiness_when_the_database_goes_away(pg_template: str) -> None:
    name = f"hookpost_ready_{os.getpid()}"
    await asyncio.to_thread(_pg_exec, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await asyncio.to_thread(_pg_exec, f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    try:
        async for hp in start_hookpost(_pg_url(name), ManualClock(), workers=False):
            assert (await hp.http.get("/readyz")).status_code == 200
            await asyncio.to_thread(_pg_exec, f"DROP DATABASE {name} WITH (FORCE)")
            r = await hp.http.get("/readyz")
            assert r.status_code == 503
            assert r.json()["checks"]["database"] == "unreachable"
    finally:
        await asyncio.to_thread(_pg_exec, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_json_log_lines_carry_ids_not_secrets() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("hookpost.dispatcher")
    log.addHandler(handler)
    old = log.level
    log.setLevel(logging.INFO)
    try:
        from hookpost.delivery._recorder import log_outcomes
        from hookpost.domain import Outcome

        outcome = Outcome(
            delivery_id="dlv_1",
            lease="l",
            number=2,
            started_at=0,
            url="http://x/",
            request_headers={"webhook-signature": "v1,sig"},
            request_body='{"secret":"s3"}',
            status_code=500,
            response_headers={},
            response_body="",
            duration_ms=12.5,
            error="unsuccessful status 500",
            status="pending",
            next_attempt_at=1.0,
            endpoint_id="ep_1",
            event_id="evt_1",
        )
        log_outcomes([outcome])
    finally:
        log.removeHandler(handler)
        log.setLevel(old)
    (line,) = stream.getvalue().splitlines()
    rec = json.loads(line)
    assert rec["level"] == "info" and rec["delivery_id"] == "dlv_1" and rec["endpoint_id"] == "ep_1"
    assert rec["event_id"] == "evt_1" and rec["attempt"] == 2 and rec["status_code"] == 500
    assert "s3" not in line and "sig" not in line  # no bodies, no signatures


def test_python_dash_m() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "hookpost", "--help"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and "serve" in out.stdout and "worker" in out.stdout


@pytest.mark.skipif(os.environ.get("HOOKPOST_SKIP_WHEEL") == "1", reason="HOOKPOST_SKIP_WHEEL=1")
async def test_wheel_in_a_fresh_venv_serves_and_delivers(
    tmp_path: Path, receiver: Receiver
) -> None:
    """The built wheel is complete: migrations and package data included."""
    root = Path(__file__).resolve().parents[2]
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(root)],
        check=True,
        timeout=300,
    )
    (wheel,) = dist.glob("hookpost-*.whl")
    with zipfile.ZipFile(wheel) as whl:
        names = whl.namelist()
        (license_path,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        assert whl.read(license_path) == (root / "LICENSE").read_bytes()
        (meta_path,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = whl.read(meta_path).decode()
    assert "License-Expression: Apache-2.0" in meta and "License-File: LICENSE" in meta
    for classifier in (
        "Framework :: FastAPI",
        "Topic :: Internet :: WWW/HTTP",
        "Typing :: Typed",
        "Programming Language :: Python :: 3 :: Only",
        f"Programming Language :: Python :: {sys.version_info.major}.{sys.version_info.minor}",
    ):
        assert f"Classifier: {classifier}\n" in meta, classifier
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", str(wheel)], check=True, timeout=600
    )
    bin_ = venv / "bin" / "hookpost"
    work = tmp_path / "work"
    work.mkdir()
    port = free_port()
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOOKPOST_DATABASE_URL": f"sqlite:///{work}/h.db",
        "HOOKPOST_ADMIN_TOKEN": "wheel-admin",
        "HOOKPOST_PORT": str(port),
        "HOOKPOST_ALLOWED_NETWORKS": "127.0.0.0/8",
        "HOOKPOST_DATA_DIR": str(work),
    }
    subprocess.run([str(bin_), "migrate"], check=True, env=env, cwd=work, timeout=120)
    log = open(work / "serve.log", "wb")
    proc = subprocess.Popen([str(bin_), "serve"], env=env, cwd=work, stdout=log, stderr=log)
    try:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": "Bearer wheel-admin"}
        ) as c:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if (await c.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, (work / "serve.log").read_text()
                await asyncio.sleep(0.2)
            pid = (await c.post("/api/v1/projects", json={"name": "w"})).json()["id"]
            r = await c.post(f"/api/v1/projects/{pid}/endpoints", json={"url": receiver.url()})
            assert r.status_code == 201, r.text
            r = await c.post(
                f"/api/v1/projects/{pid}/events", json={"event_type": "a.b", "payload": {"x": 1}}
            )
            assert r.status_code == 202
            (req,) = await receiver.wait_for(1, timeout=30)
            assert json.loads(req.body)["data"] == {"x": 1}
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def test_api_reference_is_current() -> None:
    from hookpost.api.app import create_app
    from hookpost.api.reference import markdown_reference
    from hookpost.config import Settings

    committed = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    spec = create_app(Settings(admin_token="unused")).openapi()
    assert committed == markdown_reference(spec), "run: hookpost openapi --markdown > docs/api.md"
