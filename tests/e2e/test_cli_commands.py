"""The ``hookpost`` resource commands, trigger, tail and ``listen --forward-to`` as real
subprocesses against a live hookpost on 127.0.0.1, and the exit-code table of docs/cli.md
over a table of failures (none may print a traceback)."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from hookpost.verify import verify
from tests.conftest import Hookpost, free_port
from tests.helpers.cli import BIN, cli_env, spawn, wait_port

#: The Standard Webhooks spec's example secret.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: the CLI talks to the server over HTTP (as in test_cli.py)."""
    return sqlite_url


async def run_split(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 30
) -> tuple[int, str, str]:
    """Run to completion; (exit code, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        str(BIN),
        *args,
        env=env,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"hookpost {' '.join(args)} still running after {timeout}s") from None
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def api_env(hp: Hookpost, project_id: str, key: str, **extra: str) -> dict[str, str]:
    return cli_env(
        HOOKPOST_URL=hp.base_url, HOOKPOST_TOKEN=key, HOOKPOST_PROJECT=project_id, **extra
    )


# -- resources -----------------------------------------------------------------------------


async def test_endpoints_events_deliveries(hookpost_noworkers: Hookpost, tmp_path: Path) -> None:
    hp = hookpost_noworkers
    pid, key = await hp.project()
    env = api_env(hp, pid, key)

    code, out, err = await run_split(
        "endpoints", "create", "http://127.0.0.1:9/a", "--events", "user.*,order.paid",
        "--description", "from the CLI", "--json", env=env, cwd=tmp_path,
    )  # fmt: skip
    assert code == 0, err
    created = json.loads(out)
    ep = created["id"]
    assert created["secret"].startswith("whsec_")
    assert created["event_types"] == ["user.*", "order.paid"]
    second = await hp.endpoint(pid, "http://127.0.0.1:9/b")

    (code, listed, err), (_, table, _), (_, one, _), (_, text, _) = await asyncio.gather(
        run_split("endpoints", "list", "--json", env=env, cwd=tmp_path),
        run_split("endpoints", "list", env=env, cwd=tmp_path),
        run_split("endpoints", "get", ep, "--json", env=env, cwd=tmp_path),
        run_split("endpoints", "get", ep, env=env, cwd=tmp_path),
    )
    assert code == 0, err
    assert [e["id"] for e in json.loads(listed)] == [second["id"], ep]  # newest first
    lines = table.splitlines()
    assert lines[0].split() == ["ID", "URL", "ENABLED", "PROFILE", "EVENT_TYPES"]
    assert lines[2].split() == [ep, "http://127.0.0.1:9/a", "yes", "standard", "user.*,order.paid"]
    assert json.loads(one)["description"] == "from the CLI" and "secret" not in json.loads(one)
    assert re.search(rf"^id:\s+{ep}$", text, re.M), text
    assert re.search(r"^url:\s+http://127.0.0.1:9/a$", text, re.M), text

    code, out, err = await run_split("endpoints", "list", "--limit", "1", "--json", env=env,
                                     cwd=tmp_path)  # fmt: skip
    assert [e["id"] for e in json.loads(out)] == [second["id"]]

    code, out, _ = await run_split("endpoints", "disable", ep, env=env, cwd=tmp_path)
    assert (code, out.strip()) == (0, f"{ep} disabled")
    assert (await hp.http.get(f"/api/v1/projects/{pid}/endpoints/{ep}")).json()["enabled"] is False
    code, out, _ = await run_split("endpoints", "enable", ep, "--json", env=env, cwd=tmp_path)
    assert code == 0 and json.loads(out)["enabled"] is True

    code, out, err = await run_split(
        "send", "--type", "user.created", "--data", '{"who": "Zoë"}', "--event-id", "evt_1",
        env=env, cwd=tmp_path,
    )  # fmt: skip
    assert (code, out.strip()) == (0, "event evt_1 (user.created): 2 deliveries"), err
    (_, events, _), (_, event, _), (_, dlvs, _), (_, dtable, _) = await asyncio.gather(
        run_split("events", "list", "--json", env=env, cwd=tmp_path),
        run_split("events", "get", "evt_1", env=env, cwd=tmp_path),
        run_split("deliveries", "list", "--json", "--endpoint", ep, env=env, cwd=tmp_path),
        run_split("deliveries", "list", "--status", "pending", env=env, cwd=tmp_path),
    )
    assert [(e["id"], e["payload"]) for e in json.loads(events)] == [("evt_1", {"who": "Zoë"})]
    assert re.search(r'^payload:\s+\{"who":"Zoë"\}$', event, re.M), event
    (dlv,) = json.loads(dlvs)
    assert dlv["endpoint_id"] == ep and dlv["status"] == "pending"
    assert len(dtable.splitlines()) == 3  # header and the two endpoints' deliveries

    (code, got, err), (_, detail, _) = await asyncio.gather(
        run_split("deliveries", "get", dlv["id"], "--json", env=env, cwd=tmp_path),
        run_split("deliveries", "get", dlv["id"], env=env, cwd=tmp_path),
    )
    assert code == 0, err
    assert json.loads(got)["attempts"] == []
    assert re.search(rf"^id:\s+{dlv['id']}$", detail, re.M), detail
    code, out, err = await run_split("deliveries", "resend", dlv["id"], "--json", env=env,
                                     cwd=tmp_path)  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["id"] == dlv["id"]

    # nothing to list: a note on stderr, nothing on stdout; --json: an empty array
    code, out, err = await run_split("deliveries", "list", "--status", "failed", env=env,
                                     cwd=tmp_path)  # fmt: skip
    assert (code, out, err.strip()) == (0, "", "no deliveries")
    code, out, _ = await run_split("events", "list", "--type", "nope", "--json", env=env,
                                   cwd=tmp_path)  # fmt: skip
    assert json.loads(out) == []


async def test_trigger_sends_a_sample_of_the_catalog_schema(
    hookpost_noworkers: Hookpost, tmp_path: Path
) -> None:
    hp = hookpost_noworkers
    pid, key = await hp.project()
    env = api_env(hp, pid, key)
    schema = {
        "type": "object",
        "required": ["id", "amount", "currency", "paid_at", "lines"],
        "properties": {
            "id": {"type": "string", "minLength": 3},
            "amount": {"type": "integer", "minimum": 100},
            "currency": {"type": "string", "enum": ["EUR", "USD"]},
            "paid_at": {"type": "string", "format": "date-time"},
            "lines": {"type": "array", "items": {"type": "object", "properties": {
                "sku": {"type": "string", "examples": ["sku_42"]}}}},
            "refunded": {"type": "boolean"},
        },
        "additionalProperties": False,
    }  # fmt: skip
    r = await hp.http.post(
        f"/api/v1/projects/{pid}/event-types", json={"name": "invoice.paid", "schema": schema}
    )
    assert r.status_code == 201, r.text

    (code, out, err), (code2, out2, err2), (code3, out3, err3) = await asyncio.gather(
        run_split("trigger", "invoice.paid", "--json", env=env, cwd=tmp_path),
        run_split("trigger", "not.in.catalog", env=env, cwd=tmp_path),
        run_split("trigger", "invoice.paid", "--data", '{"id": 1}', env=env, cwd=tmp_path),
    )
    assert code == 0, err
    sent = json.loads(out)
    assert sent["payload"] == {
        "id": "string",
        "amount": 100,
        "currency": "EUR",
        "paid_at": "2026-01-15T09:30:00Z",
        "lines": [{"sku": "sku_42"}],
        "refunded": True,
    }
    import jsonschema

    jsonschema.validate(sent["payload"], schema)  # and the server accepted it too
    assert code2 == 0, err2
    assert "not.in.catalog is not in the project's catalog: sending {}" in err2
    assert re.fullmatch(r"event msg_\w+ \(not\.in\.catalog\): 0 deliveries\n", out2), out2
    # --data is sent as it is; the catalog's schema refuses it: exit 4, one line
    assert code3 == 4 and out3 == "" and err3.count("\n") == 1, err3
    assert "422" in err3 and "Traceback" not in err3


# -- tail ----------------------------------------------------------------------------------


@dataclass
class App:
    """A local app on loopback that records what it gets and answers from a plan."""

    statuses: list[int] = field(default_factory=list)
    got: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    port: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.got.append((request.path, dict(request.headers), await request.read()))
        status = self.statuses.pop(0) if self.statuses else 200
        return web.Response(status=status, text=f"app says {status}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks"


@pytest.fixture
async def app() -> AsyncIterator[App]:
    state = App(port=free_port())
    application = web.Application()
    application.router.add_route("*", "/{tail:.*}", state.handle)
    runner = web.AppRunner(application, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", state.port).start()
    yield state
    await runner.cleanup()


async def test_tail_follows_attempts(hookpost: Hookpost, app: App, tmp_path: Path) -> None:
    hp = hookpost
    pid, key = await hp.project()
    await hp.endpoint(pid, app.url)
    await hp.publish(pid, "user.created", event_id="before-tail")  # not printed: before
    (old,) = await hp.deliveries(pid)
    await hp.wait_status(pid, old["id"], "succeeded", attempts=1)
    app.statuses = [503]
    env = api_env(hp, pid, key)
    args = ("tail", "--json", "--limit", "3", "--for", "30", "--interval", "0.1")
    async with spawn(*args, env=env, cwd=tmp_path) as tail:
        await tail.wait_output("following attempts")
        await hp.publish(pid, "order.paid", event_id="e1")
        first = next(d for d in await hp.deliveries(pid) if d["event_id"] == "e1")
        await hp.wait_status(pid, first["id"], "pending", attempts=1)  # the app's 503
        await hp.advance(3600)  # the retry is due
        await hp.wait_status(pid, first["id"], "succeeded", attempts=2)
        # printed as it happens (the server's clock is frozen: both attempts of this
        # tick would have the same started_at, so wait for the line before going on)
        await tail.wait_output('"number": 2', timeout=20)
        await hp.publish(pid, "user.deleted", event_id="e2")
        await asyncio.wait_for(tail.proc.wait(), 20)  # --limit 3 ends it
        await tail.stop()
    assert tail.proc.returncode == 0, tail.output
    lines = [json.loads(x) for x in tail.output.splitlines() if x.startswith("{")]
    assert [(x["event_id"], x["number"], x["status_code"]) for x in lines] == [
        ("e1", 1, 503),
        ("e1", 2, 200),
        ("e2", 1, 200),
    ], tail.output
    assert lines[0]["delivery_id"] == first["id"] and lines[0]["url"] == app.url

    # text lines, bounded by time
    code, out, err = await run_split("tail", "--for", "0.5", env=env, cwd=tmp_path)
    assert (code, out) == (0, ""), err


# -- listen --forward-to --------------------------------------------------------------------


async def test_listen_forwards_to_the_local_app(
    hookpost: Hookpost, app: App, tmp_path: Path
) -> None:
    """A temporary endpoint is registered and its secret printed; each delivery is verified,
    forwarded with hookpost's headers, and answered with the app's status; SIGTERM removes
    the endpoint."""
    hp = hookpost
    pid, key = await hp.project()
    env = api_env(hp, pid, key)
    app.statuses = [201, 500]
    listen_port = free_port()
    args = ("listen", "--forward-to", app.url, "--port", str(listen_port), "--events", "user.*")
    async with spawn(*args, env=env, cwd=tmp_path) as listener:
        await listener.wait_output("Ctrl-C to stop")
        secret = re.search(r"signing secret: (\S+)", listener.output)
        endpoint = re.search(r"temporary endpoint (ep_\w+) delivers to (\S+)", listener.output)
        assert secret and endpoint, listener.output
        ep = endpoint.group(1)
        assert endpoint.group(2) == f"http://127.0.0.1:{listen_port}/"
        r = await hp.http.get(f"/api/v1/projects/{pid}/endpoints/{ep}")
        assert r.json()["url"] == f"http://127.0.0.1:{listen_port}/"
        assert r.json()["event_types"] == ["user.*"]

        await hp.publish(pid, "user.created", payload={"name": "Zoë"}, event_id="fw-1")
        (dlv,) = await hp.deliveries(pid, event_id="fw-1")
        done = await hp.wait_status(pid, dlv["id"], "succeeded", attempts=1)
        assert done["attempts"][0]["status_code"] == 201  # the app's answer, passed back
        assert done["attempts"][0]["response_body"] == "app says 201"
        attempt = done["attempts"][0]
        path, headers, body = app.got[0]
        received = {k.lower(): v for k, v in headers.items()}
        sent_headers = {k.lower(): v for k, v in attempt["request_headers"].items()}
        assert path == "/webhooks"
        assert body == attempt["request_body"].encode()
        for name in ("webhook-id", "webhook-timestamp", "webhook-signature", "content-type"):
            assert received[name] == sent_headers[name], name
        assert verify(body, headers, secret.group(1))["data"] == {"name": "Zoë"}

        await hp.publish(pid, "user.updated", event_id="fw-2")
        (dlv2,) = await hp.deliveries(pid, event_id="fw-2")
        retried = await hp.wait_status(pid, dlv2["id"], "pending", attempts=1)
        assert retried["attempts"][0]["status_code"] == 500  # hookpost retries it later
        await listener.wait_output("500")

        # a forged delivery straight to the listener: rejected, never forwarded
        import httpx

        async with httpx.AsyncClient() as c:
            forged = await c.post(f"http://127.0.0.1:{listen_port}/", json={"x": 1})
        assert forged.status_code == 401 and len(app.got) == 2
        await listener.wait_output("rejected")

        listener.proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(listener.proc.wait(), 15) == 0, listener.output
        await listener.wait_output(f"removed the temporary endpoint {ep}")
    out = listener.output
    assert "✓ verified" in out and '"name": "Zoë"' in out
    assert f"→ {app.url} 201" in out and f"→ {app.url} 500" in out
    assert "Traceback" not in out
    r = await hp.http.get(f"/api/v1/projects/{pid}/endpoints/{ep}")
    assert r.status_code == 404


async def test_listen_forward_with_a_given_endpoint_and_the_app_down(
    hookpost: Hookpost, tmp_path: Path
) -> None:
    """--endpoint uses an endpoint pointed at the listener (kept on exit); an app that is
    not running is a 502 to hookpost, which then retries."""
    hp = hookpost
    pid, key = await hp.project()
    listen_port, app_port = free_port(), free_port()
    endpoint = await hp.endpoint(pid, f"http://127.0.0.1:{listen_port}/", secret=SPEC_SECRET)
    env = api_env(hp, pid, key)
    args = (
        *("listen", "--forward-to", f"http://127.0.0.1:{app_port}/", "--json"),
        *("--endpoint", endpoint["id"], "--secret", SPEC_SECRET, "--port", str(listen_port)),
    )
    async with spawn(*args, env=env, cwd=tmp_path) as listener:
        await wait_port(listen_port)
        await listener.wait_output('"listening"')
        await hp.publish(pid, "user.created", event_id="down-1")
        (dlv,) = await hp.deliveries(pid)
        failed = await hp.wait_status(pid, dlv["id"], "pending", attempts=1)
        assert failed["attempts"][0]["status_code"] == 502
        await listener.wait_output('"forwarded"')
    records = [json.loads(x) for x in listener.output.splitlines() if x.startswith("{")]
    ready = records[0]
    assert ready["endpoint_id"] == endpoint["id"] and ready["temporary"] is False
    (delivered,) = [x for x in records if "forwarded" in x]
    assert delivered["verified"] is True and delivered["forwarded"]["status"] is None
    assert (await hp.http.get(f"/api/v1/projects/{pid}/endpoints/{endpoint['id']}")).is_success


# -- failures: one line, an exit code, no traceback ----------------------------------------


@pytest.fixture
async def failing_api() -> AsyncIterator[str]:
    """An 'API' on loopback answering every request 500 (a broken proxy, a crashed server)."""

    async def broken(request: web.Request) -> web.Response:
        return web.json_response({"error": "internal", "message": "boom"}, status=500)

    application = web.Application()
    application.router.add_route("*", "/{tail:.*}", broken)
    runner = web.AppRunner(application, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


NO_PG = "postgresql://hookpost:s3cret@127.0.0.1:1/hookpost"

#: (name, arguments, exit code, what the one line says). {api}: the live server,
#: {down}: a port nobody listens on, {broken}: the 500 server, {busy}: a port in use.
FAILURES: list[tuple[str, tuple[str, ...], int, str]] = [
    ("send, API down", ("send", "--url", "{down}", "--type", "a.b"), 3, "cannot reach {down}"),
    ("send --file, API down", ("send", "--url", "{down}", "--file", "{events}"), 3, "cannot reach"),
    ("recover, API down", ("recover", "--url", "{down}", "--since", "2026-01-01T00:00:00Z"), 3,
     "cannot reach"),
    ("trigger, API down", ("trigger", "--url", "{down}", "a.b"), 3, "cannot reach"),
    ("endpoints list, API down", ("endpoints", "list", "--url", "{down}"), 3, "cannot reach"),
    ("tail, API down", ("tail", "--url", "{down}", "--for", "1"), 3, "cannot reach"),
    ("listen --forward-to, API down",
     ("listen", "--url", "{down}", "--forward-to", "http://127.0.0.1:9/", "--port", "0"), 3,
     "cannot reach"),
    ("send, HTTP 500", ("send", "--url", "{broken}", "--type", "a.b"), 5, "HTTP 500: boom"),
    ("deliveries list, HTTP 500", ("deliveries", "list", "--url", "{broken}"), 5, "HTTP 500"),
    ("send, bad token", ("send", "--url", "{api}", "--token", "nope", "--type", "a.b"), 4,
     "HTTP 401"),
    ("endpoints get, no such", ("endpoints", "get", "ep_nope", "--url", "{api}"), 4, "HTTP 404"),
    ("events get, no such", ("events", "get", "evt_nope", "--url", "{api}"), 4, "HTTP 404"),
    ("deliveries resend, no such", ("deliveries", "resend", "dlv_nope", "--url", "{api}"), 4,
     "HTTP 404"),
    ("endpoints create, bad URL", ("endpoints", "create", "ftp://x", "--url", "{api}"), 4,
     "HTTP 422"),
    ("send, data not JSON", ("send", "--url", "{api}", "--type", "a.b", "--data", "{oops"), 2,
     "--data"),
    ("send --file, no such file", ("send", "--url", "{api}", "--file", "{tmp}/missing.jsonl"), 2,
     "missing.jsonl"),
    ("send --file, a line not JSON", ("send", "--url", "{api}", "--file", "{garbage}"), 2,
     "line 1 is not JSON"),
    ("listen, no secret", ("listen", "--port", "0"), 2, "--secret"),
    ("listen, port busy", ("listen", "--secret", SPEC_SECRET, "--port", "{busy}"), 1,
     "cannot listen on 127.0.0.1:{busy}"),
    ("listen --forward-to, port busy",
     ("listen", "--url", "{api}", "--forward-to", "http://127.0.0.1:9/", "--port", "{busy}"), 1,
     "cannot listen"),
    ("migrate, database down", ("migrate", "--database-url", NO_PG), 3,
     "cannot migrate postgresql://hookpost:***@127.0.0.1:1/hookpost"),
    ("migrate --check, database down", ("migrate", "--check", "--database-url", NO_PG), 3,
     "cannot read the schema"),
    ("purge, database down", ("purge", "--database-url", NO_PG), 3, "cannot use the database"),
    ("serve, database down", ("serve", "--database-url", NO_PG, "--port", "0"), 3,
     "cannot use the database"),
    ("worker, database down", ("worker", "--database-url", NO_PG), 3, "cannot use the database"),
    ("verify, no such headers file", ("verify", "--secret", SPEC_SECRET, "--headers", "{tmp}/no"),
     2, "--headers"),
]  # fmt: skip


def fill(text: str, names: dict[str, str]) -> str:
    """``text`` with each ``{name}`` of ``names`` replaced (other braces left alone)."""
    return re.sub(r"\{(\w+)\}", lambda m: names.get(m.group(1), m.group(0)), text)


async def test_expected_failures_are_one_line_and_an_exit_code(
    hookpost_noworkers: Hookpost, failing_api: str, tmp_path: Path
) -> None:
    hp = hookpost_noworkers
    pid, key = await hp.project()
    events = tmp_path / "events.jsonl"
    events.write_text('{"event_type": "a.b", "payload": {}}\n')
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text("not json\n")
    busy = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    names = {
        "api": hp.base_url,
        "down": f"http://127.0.0.1:{free_port()}",
        "broken": failing_api,
        "busy": str(busy.sockets[0].getsockname()[1]),
        "events": str(events),
        "garbage": str(garbage),
        "tmp": str(tmp_path),
    }
    env = api_env(hp, pid, key, HOOKPOST_DATA_DIR=str(tmp_path), HOOKPOST_LOG_FORMAT="text")
    gate = asyncio.Semaphore(4)  # 2 cores: a few at a time, each within its timeout

    async def one(args: tuple[str, ...]) -> tuple[int, str, str]:
        async with gate:
            return await run_split(
                *(fill(a, names) for a in args), env=env, cwd=tmp_path, timeout=90
            )

    try:
        results = await asyncio.gather(*(one(args) for _, args, _, _ in FAILURES))
    finally:
        busy.close()
    wrong = []
    for (name, _, want_code, says), (code, out, err) in zip(FAILURES, results, strict=True):
        said = [line for line in err.splitlines() if line.strip()]
        if want_code == 2:  # click's usage errors: the usage and --help hint, then the error
            said = [line for line in said if not line.startswith(("Usage:", "Try "))]
        if (
            code != want_code
            or "Traceback" in out + err
            or fill(says, names) not in err
            or len(said) != 1
        ):
            wrong.append(f"{name}: exit {code} (want {want_code}), stderr:\n{err}stdout:\n{out}")
    assert not wrong, "\n\n".join(wrong)


async def test_debug_prints_the_traceback(tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    args = ("endpoints", "list", "--url", down, "--token", "t", "--project", "p")
    (code, _, err), (code_env, _, err_env), (code_db, _, err_db) = await asyncio.gather(
        run_split(*args, "--debug", env=cli_env(), cwd=tmp_path),
        run_split(*args, env=cli_env(HOOKPOST_DEBUG="1"), cwd=tmp_path),
        run_split("migrate", "--database-url", NO_PG, "--debug", env=cli_env(), cwd=tmp_path),
    )
    for c, e in ((code, err), (code_env, err_env), (code_db, err_db)):
        assert c == 3, e
        assert e.startswith("Traceback (most recent call last):"), e
        assert e.splitlines()[-1].startswith("Error: cannot "), e


# -- help, completion ------------------------------------------------------------------------


async def test_help_names_the_environment_and_completion_works(tmp_path: Path) -> None:
    env = cli_env()
    (_, top, _), (_, sub, _), (code, script, err) = await asyncio.gather(
        run_split("--help", env=env, cwd=tmp_path),
        run_split("deliveries", "list", "--help", env=env, cwd=tmp_path),
        run_split("completion", "bash", env=env, cwd=tmp_path),
    )
    for name in ("HOOKPOST_URL", "HOOKPOST_TOKEN", "HOOKPOST_PROJECT", "Exit codes"):
        assert name in top, top
    words = " ".join(sub.split())
    for name in ("HOOKPOST_URL", "HOOKPOST_TOKEN", "HOOKPOST_PROJECT"):
        assert f"env var: {name}" in words, sub
    assert "--json" in sub and "--debug" in sub
    assert code == 0, err
    # bash itself loads the script, and asks hookpost to complete "hookpost end"
    check = subprocess.run(
        ["bash", "-c", f'{script}\ncomplete -p hookpost'], capture_output=True, text=True,
        env=env, timeout=30,
    )  # fmt: skip
    assert check.returncode == 0 and "hookpost" in check.stdout, check.stderr
    asked = {**env, "_HOOKPOST_COMPLETE": "bash_complete", "COMP_WORDS": "hookpost end",
             "COMP_CWORD": "1"}  # fmt: skip
    code, out, err = await run_split(env=asked, cwd=tmp_path)
    assert code == 0 and "endpoints" in out and "events" not in out, (out, err)
    asked.update(COMP_WORDS="hookpost deliveries ", COMP_CWORD="2")
    code, out, err = await run_split(env=asked, cwd=tmp_path)
    assert {"list", "get", "resend"} <= set(re.findall(r"plain,(\S+)", out)), out
    for shell, marker in (("zsh", "compdef"), ("fish", "complete --no-files --command hookpost")):
        code, out, err = await run_split("completion", shell, env=env, cwd=tmp_path)
        assert code == 0 and marker in out, (shell, out, err)
    code, _, err = await run_split("completion", "tcsh", env=env, cwd=tmp_path)
    assert code == 2 and "tcsh" in err
