"""The spec as integrators use it: linted, and turned into clients that run the publish flow.

Against a real ``hookpost serve`` on 127.0.0.1 (SQLite, workers on) and a
receiver, with each tool at its default settings:

- Redocly CLI's ``lint`` with its built-in recommended rules: no error, and no
  warning but the two of :data:`ACCEPTED_WARNINGS`. Redocly rather than
  openapi-spec-validator + Spectral: one well-kept npm package that validates
  OpenAPI 3.1 (webhooks included) and carries the style rules the issue was
  measured with; Spectral would be a second toolchain for the same checks.
- ``openapi-typescript`` + ``openapi-fetch``: the generated types compile with
  ``tsc --strict`` together with a script that creates a project and an
  endpoint, publishes an event, lists its deliveries and reads a 422's typed
  detail -- then node runs it against the server;
- ``openapi-python-client``: the same flow type-checks (``mypy --strict``) against
  the generated package, then runs.

The npm tools come from ``tests/e2e/openapi_clients/package-lock.json``
(``npm ci``, which ``.ci/run`` does first); the test installs them itself when
they are missing and skips, saying why, only when node/npm is not there or the
install fails. openapi-python-client comes with the dev extra.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hookpost.api.app import create_app
from hookpost.config import Settings
from hookpost.profiles import get_profile
from tests.conftest import Receiver
from tests.serveproc import TOKEN, Server

TOOLS = Path(__file__).parent / "openapi_clients"
BIN = TOOLS / "node_modules" / ".bin"
#: Redocly's recommended warnings the spec keeps, with why: (rule, JSON pointer).
ACCEPTED_WARNINGS = {
    # Liveness and readiness take no input and no token: no 4xx can happen.
    ("operation-4xx-response", "#/paths/~1healthz/get/responses"),
    ("operation-4xx-response", "#/paths/~1readyz/get/responses"),
}
#: No telemetry, no update check: the tools talk to nothing but the local server.
QUIET = {
    **os.environ,
    "REDOCLY_TELEMETRY": "off",
    "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
    "NO_UPDATE_NOTIFIER": "1",
}


@pytest.fixture(scope="module")
def npm_tools() -> Path:
    """The npm tools of package-lock.json, installed with ``npm ci`` if not yet there."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed: the generated-client tests need them")
    wanted = ("redocly", "openapi-typescript", "tsc")
    if not all((BIN / name).exists() for name in wanted):
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=TOOLS,
            capture_output=True,
            text=True,
            timeout=600,
            env=QUIET,
        )
        if done.returncode != 0 or not all((BIN / name).exists() for name in wanted):
            pytest.skip(f"npm ci in {TOOLS} failed: {done.stderr.strip()[-500:]}")
    return BIN


def _spec() -> dict[str, Any]:
    return create_app(Settings(admin_token="unused")).openapi()


def test_redocly_recommended_rules_pass(npm_tools: Path, tmp_path: Path) -> None:
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(_spec()))
    done = subprocess.run(
        [str(npm_tools / "redocly"), "lint", str(spec), "--format=json"],
        capture_output=True,
        text=True,
        timeout=300,
        env=QUIET,
        cwd=tmp_path,
    )
    report = json.loads(done.stdout)
    problems = {
        (p["ruleId"], p["severity"], p["location"][0]["pointer"]) for p in report["problems"]
    }
    errors = {p for p in problems if p[1] == "error"}
    assert not errors, errors
    warnings = {(rule, where) for rule, _, where in problems}
    assert warnings == ACCEPTED_WARNINGS
    assert done.returncode == 0, done.stderr


@pytest.fixture
async def server(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Server]:
    proc = Server(sqlite_url, tmp_path, env={"HOOKPOST_LOG_LEVEL": "warning"})
    await proc.start()
    yield proc
    proc.stop()


async def _run(*argv: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a tool while this event loop keeps serving the receiver; its stdout, or fail."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=env or QUIET,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 300)
    assert proc.returncode == 0, f"{argv[0]} failed:\n{out.decode()}\n{err.decode()}"
    return out.decode()


async def _served_spec(server: Server, where: Path) -> Path:
    async with httpx.AsyncClient() as c:
        spec = (await c.get(server.base + "/openapi.json")).json()
    path = where / "openapi.json"
    path.write_text(json.dumps(spec))
    return path


async def _check_flow(server: Server, receiver: Receiver, said: dict[str, Any]) -> None:
    """What a client's flow printed is true on the server, and the receiver got the event."""
    assert said["deliveries"] == 1 and said["status"] in {"pending", "delivering", "succeeded"}
    assert said["invalid_field"] == "url"
    async with server.client() as c:
        r = await c.get(f"/api/v1/projects/{said['project_id']}/events/{said['event_id']}")
        assert r.status_code == 200 and r.json()["payload"] == {"invoice": "in_1042"}
    (got,) = await receiver.wait_for(1, timeout=20)
    now = float(got.headers["webhook-timestamp"])
    verified = get_profile("standard").verify(
        got.body, got.headers, [said["secret"]], tolerance=300, now=now
    )
    assert verified["data"] == {"invoice": "in_1042"}


FLOW_TS = """\
import createClient from "openapi-fetch";
import type { components, operations, paths } from "./schema.js";
import { BASE, RECEIVER, TOKEN } from "./config.js";

type DeliveryStatus = components["schemas"]["DeliveryStatus"];

const client = createClient<paths>({
  baseUrl: BASE,
  headers: { Authorization: `Bearer ${TOKEN}` },
});

const project = await client.POST("/api/v1/projects", { body: { name: "ts client" } });
if (!project.data) throw new Error(JSON.stringify(project.error));
const project_id: string = project.data.id;
const path = { project_id };

const endpoint = await client.POST("/api/v1/projects/{project_id}/endpoints", {
  params: { path },
  body: { url: RECEIVER },
});
if (!endpoint.data) throw new Error(JSON.stringify(endpoint.error));

const published = await client.POST("/api/v1/projects/{project_id}/events", {
  params: { path },
  body: { event_type: "invoice.paid", payload: { invoice: "in_1042" }, event_id: "ts-1" },
});
if (!published.data) throw new Error(JSON.stringify(published.error));
// 202 (created) or 200 (a repeated event_id, whose created_at only some keys read)
const created = published.data.created_at;
if (typeof created !== "string") throw new Error("no created_at");

const listed = await client.GET("/api/v1/projects/{project_id}/deliveries", {
  params: { path, query: { event_id: published.data.id } },
});
if (!listed.data) throw new Error(JSON.stringify(listed.error));
const status: DeliveryStatus = listed.data.data[0].status;

const refused = await client.POST("/api/v1/projects/{project_id}/endpoints", {
  params: { path },
  body: { url: "not a url" },
});
if (!refused.error) throw new Error("an invalid URL was accepted");
const field: string = refused.error.detail[0].field;

// The webhooks section types what a receiver of the standard profile gets.
type Standard = operations["webhooks.standard"];
const delivered: Standard["requestBody"]["content"]["application/json"] = {
  type: "invoice.paid",
  timestamp: created,
  data: { invoice: "in_1042" },
};
const signature: keyof Standard["parameters"]["header"] = "webhook-signature";

console.log(JSON.stringify({
  project_id,
  secret: endpoint.data.secret,
  event_id: published.data.id,
  created,
  deliveries: listed.data.data.length,
  status,
  invalid_field: field,
  webhook: [delivered.type, signature],
}));
"""

TSCONFIG = {
    "compilerOptions": {
        "strict": True,
        "target": "es2022",
        "module": "nodenext",
        "moduleResolution": "nodenext",
        "lib": ["es2022", "dom"],
        "outDir": "out",
    },
    "files": ["flow.ts"],
}


async def test_typescript_client_compiles_and_publishes(
    npm_tools: Path, server: Server, receiver: Receiver, tmp_path: Path
) -> None:
    work = tmp_path / "ts"
    work.mkdir()
    (work / "node_modules").symlink_to(TOOLS / "node_modules")
    (work / "package.json").write_text('{"type": "module"}')
    spec = await _served_spec(server, work)
    await _run(str(npm_tools / "openapi-typescript"), str(spec), "-o", "schema.d.ts", cwd=work)
    (work / "config.ts").write_text(
        f"export const BASE = {json.dumps(server.base)};\n"
        f"export const TOKEN = {json.dumps(TOKEN)};\n"
        f"export const RECEIVER = {json.dumps(receiver.url())};\n"
    )
    (work / "flow.ts").write_text(FLOW_TS)
    (work / "tsconfig.json").write_text(json.dumps(TSCONFIG))
    await _run(str(npm_tools / "tsc"), "-p", "tsconfig.json", cwd=work)
    said = json.loads(await _run("node", "out/flow.js", cwd=work))
    assert said["created"].endswith("Z")
    assert said["webhook"] == ["invoice.paid", "webhook-signature"]
    await _check_flow(server, receiver, said)


FLOW_PY = """\
import json
import sys

from hookpost_client import AuthenticatedClient
from hookpost_client.api.deliveries import deliveries_list
from hookpost_client.api.endpoints import endpoints_create
from hookpost_client.api.events import events_publish
from hookpost_client.api.projects import projects_create
from hookpost_client.models import (
    DeliveryStatus, EndpointCreated, EndpointIn, ErrorOut, EventAccepted, EventIn,
    EventInPayload, ProjectCreated, ProjectIn,
)

base, token, receiver = sys.argv[1:]
client = AuthenticatedClient(base_url=base, token=token)
project = projects_create.sync(client=client, body=ProjectIn(name="python client"))
assert isinstance(project, ProjectCreated), project
endpoint = endpoints_create.sync(project.id, client=client, body=EndpointIn(url=receiver))
assert isinstance(endpoint, EndpointCreated), endpoint
payload = EventInPayload.from_dict({"invoice": "in_1042"})
event = events_publish.sync(
    project.id, client=client,
    body=EventIn(event_type="invoice.paid", payload=payload, event_id="py-1"),
)
assert isinstance(event, EventAccepted), event
listed = deliveries_list.sync(project.id, client=client, event_id=event.id)
assert listed is not None and not isinstance(listed, ErrorOut), listed
assert isinstance(listed.data[0].status, DeliveryStatus)
refused = endpoints_create.sync(project.id, client=client, body=EndpointIn(url="not a url"))
assert isinstance(refused, ErrorOut), refused
print(json.dumps({
    "project_id": project.id,
    "secret": endpoint.secret,
    "event_id": event.id,
    "created": event.created_at.isoformat(),
    "deliveries": len(listed.data),
    "status": listed.data[0].status.value,
    "invalid_field": refused.detail[0].field,
}))
"""


async def test_python_client_generates_and_publishes(
    server: Server, receiver: Receiver, tmp_path: Path
) -> None:
    generator = Path(sys.executable).parent / "openapi-python-client"
    if not generator.exists():
        pytest.skip("openapi-python-client is not installed (pip install -e '.[dev]')")
    spec = await _served_spec(server, tmp_path)
    env = {**QUIET, "PATH": f"{generator.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    out = await _run(
        str(generator),
        "generate",
        "--path",
        str(spec),
        "--meta",
        "none",
        "--output-path",
        str(tmp_path / "hookpost_client"),
        cwd=tmp_path,
        env=env,
    )
    # The one thing it cannot express: the audit log's NDJSON export (no JSON schema).
    warned = [line for line in out.splitlines() if line.startswith("WARNING")]
    assert all("/audit-log/export" in line for line in warned), out
    (tmp_path / "flow.py").write_text(textwrap.dedent(FLOW_PY))
    # The flow type-checks against the generated models (the generator's own client.py
    # boilerplate is not ours to check: imports are followed silently).
    await _run(
        sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent",
        "--no-incremental", "flow.py", cwd=tmp_path, env=QUIET,
    )  # fmt: skip
    receiver_url = receiver.url()
    said = json.loads(
        await _run(
            sys.executable, "flow.py", server.base, TOKEN, receiver_url, cwd=tmp_path, env=QUIET
        )
    )
    assert said["created"].endswith("+00:00")  # parsed as a timezone-aware datetime
    await _check_flow(server, receiver, said)
