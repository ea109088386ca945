"""The ``hookpost`` CLI as real subprocesses: migrate, serve, send, listen, verify."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from hookpost.store.migrate import upgrade
from tests.conftest import Hookpost, free_port
from tests.helpers.cli import BIN, cli_env, run, spawn, wait_port


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: the CLI talks to the server over HTTP, so the storage backend
    is not what is under test here (test_api_input.py covers both backends)."""
    return sqlite_url


SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_HEADERS = {
    "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "webhook-timestamp": "1614265330",
    "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
}
SPEC_BODY = b'{"test": 2432232314}'
FOREVER = str(10**10)  # seconds of tolerance: the spec vector is from 2021


def test_binary_exists() -> None:
    assert BIN.exists(), BIN


# -- migrate / serve ---------------------------------------------------------------


async def test_migrate_then_serve(tmp_path: Path) -> None:
    db = tmp_path / "fresh.db"
    url = f"sqlite:///{db}"
    port, refused_port = free_port(), free_port()
    env = cli_env(HOOKPOST_DATABASE_URL=url, HOOKPOST_ADMIN_TOKEN="cli-admin")
    unmigrated = cli_env(
        HOOKPOST_DATABASE_URL=f"sqlite:///{tmp_path}/empty.db", HOOKPOST_ADMIN_TOKEN="cli-admin"
    )

    # at the same time: serve on an unmigrated database refuses, migrate a fresh one
    (refused, refused_out), (code, out) = await asyncio.gather(
        run("serve", "--port", str(refused_port), env=unmigrated, cwd=tmp_path),
        run("migrate", env=env, cwd=tmp_path),
    )
    assert refused != 0, refused_out
    assert "hookpost migrate" in refused_out
    assert "Traceback" not in refused_out
    with socket.socket() as s:  # and it never started listening
        assert s.connect_ex(("127.0.0.1", refused_port)) != 0
    assert code == 0, out
    assert db.exists()

    async with spawn("serve", "--port", str(port), env=env, cwd=tmp_path) as srv:
        await wait_port(port, timeout=20)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
            r = await c.get("/healthz")
            assert r.status_code == 200, r.text
            assert r.json()["status"] == "ok"
            assert (await c.get("/api/v1/projects")).status_code == 401
            r = await c.post(
                "/api/v1/projects",
                json={"name": "cli"},
                headers={"Authorization": "Bearer cli-admin"},
            )
            assert r.status_code == 201, r.text
        assert f"127.0.0.1:{port}" in srv.output
        assert "cli-admin" not in srv.output  # a configured token is not printed
        code = await srv.stop()
    assert code == 0, srv.output  # Ctrl-C is a clean shutdown
    # no generated token when one is given (the secret-encryption key is generated)
    assert not (tmp_path / ".hookpost" / "admin_token").exists()
    assert (tmp_path / ".hookpost" / "secret_key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_serve_stopped_by_a_signal_exits_0_after_its_graceful_shutdown(
    tmp_path: Path, sig: int
) -> None:
    """What a supervisor sends (systemd, Docker, Kubernetes: SIGTERM) or a person types
    (Ctrl-C) is a clean stop: exit 0, like gunicorn's -- not death by the signal
    (uvicorn re-raises it after its shutdown, which read as a crash: exit 143)."""
    url = f"sqlite:///{tmp_path}/s.db"
    env = cli_env(HOOKPOST_DATABASE_URL=url, HOOKPOST_ADMIN_TOKEN="cli-admin")
    code, out = await run("migrate", env=env, cwd=tmp_path)
    assert code == 0, out
    port = free_port()
    async with spawn("serve", "--port", str(port), env=env, cwd=tmp_path) as srv:
        await wait_port(port, timeout=20)
        code = await srv.stop(sig)
    assert code == 0, srv.output
    assert "Traceback" not in srv.output


async def test_migrate_says_what_it_did(tmp_path: Path) -> None:
    """Created, already current, upgraded from an older revision, or refused as too new."""
    from hookpost.store.migrate import head_revision

    head = head_revision()
    url = f"sqlite:///{tmp_path}/m.db"
    env = cli_env(HOOKPOST_DATABASE_URL=url)
    code, out = await run("migrate", "--check", env=env, cwd=tmp_path)
    assert code == 1 and "no hookpost schema yet" in out and "Traceback" not in out
    code, out = await run("migrate", env=env, cwd=tmp_path)
    assert code == 0, out
    assert out.strip() == f"created the schema at revision {head} in {url}"
    code, out = await run("migrate", "--check", env=env, cwd=tmp_path)
    assert (code, out.strip()) == (0, f"the schema is current ({url})")
    code, out = await run("migrate", env=env, cwd=tmp_path)
    assert code == 0, out
    assert f"already at revision {head}, the current schema: nothing to do" in out

    older = f"sqlite:///{tmp_path}/old.db"
    await asyncio.to_thread(upgrade, older, "0005")
    code, out = await run(
        "migrate", "--check", env=cli_env(HOOKPOST_DATABASE_URL=older), cwd=tmp_path
    )
    assert code == 1 and "is behind" in out, out
    code, out = await run("migrate", env=cli_env(HOOKPOST_DATABASE_URL=older), cwd=tmp_path)
    assert code == 0, out
    assert out.strip() == f"upgraded the schema from revision 0005 to {head} in {older}"

    import sqlite3

    with contextlib.closing(sqlite3.connect(tmp_path / "m.db")) as db, db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
    code, out = await run("migrate", env=env, cwd=tmp_path)
    assert code == 1, out
    assert "newer than this hookpost" in out and "Traceback" not in out


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_replicas_migrating_together_do_not_race(tmp_path: Path, backend: str) -> None:
    """Six ``hookpost migrate`` started at once on a fresh database (replicas of one
    deployment): every one exits 0, exactly one creates the schema, the others find it
    current, and the database holds one revision row at head. Without the lock two
    runners both see no schema and the second's CREATE TABLE fails."""
    from sqlalchemy import text

    from hookpost.store._backend import create_engine
    from hookpost.store.migrate import current_revision, head_revision
    from tests.conftest import _pg_admin, _pg_exec, _pg_state, _pg_url

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path}/replicas.db"
    else:
        if not await asyncio.to_thread(_pg_admin):
            pytest.skip(f"PostgreSQL not reachable: {_pg_state.get('error')}")
        name = f"hookpost_replicas_{os.getpid()}"
        await asyncio.to_thread(_pg_exec, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await asyncio.to_thread(_pg_exec, f"CREATE DATABASE {name}")
        url = _pg_url(name)
    try:
        env = cli_env(HOOKPOST_DATABASE_URL=url)
        results = await asyncio.gather(
            *(run("migrate", env=env, cwd=tmp_path, timeout=120) for _ in range(6))
        )
        for code, out in results:
            assert code == 0, out
        outs = [out for _, out in results]
        assert sum("created the schema" in out for out in outs) == 1, outs
        assert sum("nothing to do" in out for out in outs) == 5, outs
        head = head_revision()
        assert await current_revision(url) == head
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                rows = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
        finally:
            await engine.dispose()
        assert [r[0] for r in rows] == [head]
    finally:
        if backend == "postgres":
            await asyncio.to_thread(_pg_exec, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# -- send ------------------------------------------------------------------------------


async def test_send_publishes_an_event(hookpost_noworkers: Hookpost, tmp_path: Path) -> None:
    hp = hookpost_noworkers
    pid, key = await hp.project()
    await hp.endpoint(pid, "http://127.0.0.1:9/hook")
    env = cli_env(HOOKPOST_URL=hp.base_url, HOOKPOST_TOKEN=key, HOOKPOST_PROJECT=pid)

    good = ("--type", "invoice.paid", "--data", '{"amount": 42, "who": "Zoë"}')
    (code, out), not_json, bad_type, bad_token = await asyncio.gather(
        run("send", *good, "--event-id", "evt_cli_1", "--json", env=env, cwd=tmp_path),
        # bad input: a clear message, non-zero exit, nothing published
        run("send", "--type", "user.created", "--data", "{oops", env=env, cwd=tmp_path),
        run("send", "--type", "not a type", env=env, cwd=tmp_path),
        run("send", *good, env={**env, "HOOKPOST_TOKEN": "wrong"}, cwd=tmp_path),
    )
    assert code == 0, out
    printed = json.loads(out)
    assert printed["id"] == "evt_cli_1" and printed["deliveries"] == 1
    r = await hp.http.get(f"/api/v1/projects/{pid}/events/evt_cli_1")
    assert r.status_code == 200, r.text
    assert r.json()["event_type"] == "invoice.paid"
    assert r.json()["payload"] == {"amount": 42, "who": "Zoë"}
    (dlv,) = await hp.deliveries(pid)
    assert dlv["event_id"] == "evt_cli_1"

    assert not_json[0] != 0 and "--data" in not_json[1], not_json
    assert bad_type[0] != 0 and "422" in bad_type[1] and "event_type" in bad_type[1], bad_type
    assert bad_token[0] != 0 and "401" in bad_token[1], bad_token
    assert "Traceback" not in not_json[1] + bad_type[1] + bad_token[1]
    r = await hp.http.get(f"/api/v1/projects/{pid}/events")
    assert [e["id"] for e in r.json()["data"]] == ["evt_cli_1"]


async def test_send_file_publishes_every_line_through_the_batch_endpoint(
    hookpost_noworkers: Hookpost, tmp_path: Path
) -> None:
    """``send --file``: 1,003 lines in three batch requests; a bad line is refused alone."""
    hp = hookpost_noworkers
    pid, key = await hp.project()
    await hp.endpoint(pid, "http://127.0.0.1:9/hook")
    env = cli_env(HOOKPOST_URL=hp.base_url, HOOKPOST_TOKEN=key, HOOKPOST_PROJECT=pid)
    lines = [{"event_type": "order.paid", "payload": {"i": i}, "event_id": f"o-{i}"}
             for i in range(1000)]  # fmt: skip
    lines.insert(500, {"event_type": "not a type", "payload": {}})  # line 501
    lines.append({"event_type": "order.paid", "payload": {"i": 0}, "event_id": "o-0"})
    lines.append({"event_type": "order.paid", "payload": {"i": 1}, "event_id": "o-0"})
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n", encoding="utf-8")

    code, out = await run("send", "--file", str(events), env=env, cwd=tmp_path)
    assert code == 1, out  # one line was refused
    said = out.strip().splitlines()
    assert said[0] == "line 1: 202 o-0" and said[1000] == "line 1001: 202 o-999"
    assert said[500].startswith("line 501: 422 event_type:"), said[500]
    assert said[1001] == "line 1002: 200 o-0"
    assert said[1002].startswith("line 1003: 409 event_id: 'o-0' was already used"), said[1002]
    assert said[-1] == "1000 created, 1 repeated (nothing created), 2 refused"
    listed = await hp.http.get(f"/api/v1/projects/{pid}/events", params={"limit": 1})
    assert listed.json()["data"][0]["id"] == "o-999"
    assert len(await hp.deliveries(pid, limit=250)) == 250  # (a page of the 1,000)

    # --json: each line the batch answer's item with its line number; totals on stderr.
    again = tmp_path / "again.jsonl"
    again.write_text("\n".join(json.dumps(x) for x in lines[499:502]) + "\n", encoding="utf-8")
    done = await asyncio.to_thread(
        subprocess.run,
        [str(BIN), "send", "--file", str(again), "--json"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    items = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(i["line"], i["status"]) for i in items] == [(1, 200), (2, 422), (3, 200)]
    assert items[0]["id"] == "o-499" and items[1]["detail"][0]["field"] == "event_type"
    assert done.stderr.strip().endswith("0 created, 2 repeated (nothing created), 1 refused")

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"event_type": "a.b", "payload": {}}\n[1, 2]\n', encoding="utf-8")
    code, out = await run("send", "--file", str(bad), env=env, cwd=tmp_path)
    assert code != 0 and "line 2 is not a JSON object" in out and "Traceback" not in out
    code, out = await run("send", "--file", str(bad), "--type", "a.b", env=env, cwd=tmp_path)
    assert code != 0 and "--file" in out
    r = await hp.http.get(f"/api/v1/projects/{pid}/events", params={"event_type": "a.b"})
    assert r.json()["data"] == []  # nothing of a file with a bad line is sent


# -- listen ----------------------------------------------------------------------------


async def test_listen_verifies_a_real_delivery(hookpost: Hookpost, tmp_path: Path) -> None:
    hp = hookpost
    port = free_port()
    args = ("listen", "--secret", SPEC_SECRET, "--port", str(port))
    async with spawn(*args, env=cli_env(), cwd=tmp_path) as listener:
        await wait_port(port)
        pid, _ = await hp.project()
        await hp.endpoint(pid, f"http://127.0.0.1:{port}/hook", secret=SPEC_SECRET)
        await hp.publish(pid, "user.created", payload={"hello": "listener"}, event_id="evt_L1")
        (dlv,) = await hp.deliveries(pid)
        done = await hp.wait_status(pid, dlv["id"], "succeeded")
        (att,) = done["attempts"]
        assert att["status_code"] == 200
        await listener.wait_output("verified")
        await listener.wait_output("listener")
        assert "evt_L1" in listener.output

        headers = {
            k: v
            for k, v in att["request_headers"].items()
            if k.lower() in ("webhook-id", "webhook-timestamp", "webhook-signature")
        }
        assert len(headers) == 3
        body = att["request_body"].encode()
        hook = f"http://127.0.0.1:{port}/hook"
        async with httpx.AsyncClient(timeout=10) as c:
            tampered = body.replace(b"listener", b"attacker")
            assert tampered != body
            r = await c.post(hook, content=tampered, headers=headers)
            assert r.status_code == 401, r.text
            r = await c.post(hook, content=b'{"type":"x"}')  # unsigned
            assert r.status_code == 401, r.text
            r = await c.post(hook, content=body, headers=headers)  # the genuine one again
            assert r.status_code == 200, r.text
        await listener.wait_output("rejected")
        assert listener.output.count("verified") == 2, listener.output


# -- verify ----------------------------------------------------------------------------


async def test_verify_command_on_the_spec_vector(tmp_path: Path) -> None:
    headers = tmp_path / "headers.json"
    headers.write_text(json.dumps(SPEC_HEADERS))
    lines = tmp_path / "headers.txt"
    lines.write_text("".join(f"{k}: {v}\n" for k, v in SPEC_HEADERS.items()))
    body = tmp_path / "body.json"
    body.write_bytes(SPEC_BODY)
    bad = tmp_path / "tampered.json"
    bad.write_bytes(SPEC_BODY.replace(b"2432232314", b"2432232315"))
    env = cli_env()

    async def verify(
        secret: str, headers_file: Path, body_file: Path, *extra: str
    ) -> tuple[int, str]:
        return await run(
            "verify",
            "--secret",
            secret,
            "--headers",
            str(headers_file),
            "--body",
            str(body_file),
            *extra,
            env=env,
            cwd=tmp_path,
        )

    results = await asyncio.gather(
        verify(SPEC_SECRET, headers, body, "--tolerance", FOREVER),
        verify(SPEC_SECRET, lines, body, "--tolerance", FOREVER),
        verify(SPEC_SECRET, headers, bad, "--tolerance", FOREVER),
        verify("whsec_" + "B" * 32, headers, body, "--tolerance", FOREVER),
        verify(SPEC_SECRET, headers, body),  # default tolerance: a 2021 timestamp is too old
    )
    (ok, ok_out), (lines_ok, lines_out), tampered, wrong_secret, stale = results
    assert ok == 0, ok_out
    assert "valid" in ok_out and "2432232314" in ok_out
    assert lines_ok == 0, lines_out
    for code, out in (tampered, wrong_secret, stale):
        assert code == 1, out
        assert "invalid" in out


#: Loaded by the worker subprocess at start-up (PYTHONPATH): a bug in its jobs loop.
BROKEN_JOBS_LOOP = """
import hookpost.delivery._tasks as tasks

async def jobs(self):
    raise RuntimeError("injected: the jobs loop broke")

tasks.Maintenance.jobs = jobs
"""


async def test_worker_exits_non_zero_when_a_side_task_dies(db_url: str, tmp_path: Path) -> None:
    """A worker whose side task dies logs an error naming it and exits 1, instead of
    running on half alive (here: no bulk jobs would ever run again)."""
    inject = tmp_path / "inject"
    inject.mkdir()
    (inject / "sitecustomize.py").write_text(BROKEN_JOBS_LOOP)
    env = cli_env(HOOKPOST_DATABASE_URL=db_url, PYTHONPATH=str(inject))
    code, out = await run("worker", env=env, cwd=tmp_path, timeout=30)
    assert code == 1, out
    assert "the worker's 'jobs' task ended; stopping the worker" in out
    assert "RuntimeError: injected: the jobs loop broke" in out
    assert "Error: the worker's 'jobs' task raised RuntimeError" in out
