"""``hookpost bench``: throughput and latency of the core pipeline, on 127.0.0.1 only.

What one run does:

1. starts a fast receiver (aiohttp.web, 200 to any POST) in its own process; it
   records the arrival time and ``webhook-id`` of every request and serves them
   back on ``GET /_bench/dump``;
2. runs ``hookpost migrate`` and ``hookpost serve`` (API + workers, SQLite in a
   temporary directory, ``synchronous=FULL`` unless ``HOOKPOST_SQLITE_SYNCHRONOUS``
   says otherwise) as a subprocess;
3. for each fan-out N: a project with N endpoints, ``n_events`` events of ~1 KB
   published as fast as 32 concurrent publishers can; measures the publish rate,
   deliveries/s sustained (deliveries / first publish to last receipt),
   publish->receipt latency, peak RSS and CPU of the server, then checks that every
   delivery arrived and that the API lists every one as succeeded with its attempt;
4. a latency run: ``rate`` events/s to one endpoint for ~10 s, paced;
5. the ceiling: a bare aiohttp loop in its own process (one shared ClientSession,
   the dispatcher's concurrency) sending the same signed requests to the same
   receiver.

Every wait has a deadline; every subprocess is stopped in ``finally``.
Set ``HOOKPOST_BENCH_PYSPY=<file>`` to attach ``py-spy record`` to the server for the
whole run (raw collapsed stacks if the name ends in ``.txt``, else a flame graph;
``HOOKPOST_BENCH_PYSPY_ARGS`` adds options, default ``--rate 100``).

Every scenario reports ``other_cpu_util``: CPU (in cores) used meanwhile by processes
that are not part of the benchmark. On a 2-core machine anything above ~0.1 means
the figures are depressed by a noisy neighbour; rerun on a quiet machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

PUBLISH_CONCURRENCY = 32
PAYLOAD_BYTES = 1024
LATENCY_RUN_SECONDS = 10.0
LATENCY_RUN_MAX_EVENTS = 20_000
TARGET_DELIVERIES_PER_S = 1500.0
TARGET_P50_MS = 20.0
TARGET_P99_MS = 200.0
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=30)
STALL_SECONDS = 30.0


# -- small helpers -------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of an already sorted sequence."""
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def proc_status(pid: int, key: str) -> int | None:
    """A ``kB`` field of /proc/<pid>/status (VmRSS, VmHWM) in bytes."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def system_busy_seconds() -> float | None:
    """CPU time all processes on the machine have used so far (every core, not idle)."""
    try:
        parts = Path("/proc/stat").read_text().splitlines()[0].split()
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in parts[1:9])
        return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class CpuMeter:
    """CPU used by the server, by our own processes, and by everything else on the machine.

    The last figure flags a noisy run: on 2 cores, anything else running takes
    CPU from the server, the receiver and the publishers.
    """

    def __init__(self, serve_pid: int, own_pids: Sequence[int]) -> None:
        self.pids = [serve_pid, *own_pids]
        self._t0 = time.monotonic()
        self._busy0 = system_busy_seconds() or 0.0
        self._cpu0 = [cpu_seconds(p) or 0.0 for p in self.pids]

    def read(self) -> dict[str, float]:
        wall = max(1e-9, time.monotonic() - self._t0)
        cpu = [(cpu_seconds(p) or 0.0) - c0 for p, c0 in zip(self.pids, self._cpu0, strict=True)]
        busy = (system_busy_seconds() or 0.0) - self._busy0
        return {
            "serve_cpu_seconds": round(cpu[0], 2),
            "serve_cpu_util": round(cpu[0] / wall, 2),
            "bench_and_receiver_cpu_util": round(sum(cpu[1:]) / wall, 2),
            "other_cpu_util": round(max(0.0, busy - sum(cpu)) / wall, 2),
        }


def load_average() -> list[float] | None:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except (OSError, ValueError):
        return None


def source_revision() -> str | None:
    """The git commit hookpost was imported from, ``+dirty`` if its files (but this one) differ."""
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "-C",
                str(here),
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                ":!bench.py",
            ],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return rev + ("+dirty" if dirty else "") if rev else None


def machine_info() -> dict[str, Any]:
    model = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "load_average_at_start": load_average(),
        "hookpost_revision": source_revision(),
    }


def make_payload(i: int, tag: str) -> dict[str, Any]:
    """A ~1 KB invoice-like payload (serialized compactly it is PAYLOAD_BYTES long)."""
    base: dict[str, Any] = {
        "object": "invoice",
        "id": f"in_{tag}_{i:08d}",
        "amount_due": 1000 + i % 9000,
        "currency": "usd",
        "customer": {"id": f"cus_{i % 997:05d}", "email": f"user{i % 997}@example.com"},
        "lines": [
            {"sku": f"sku-{k}", "qty": k + 1, "unit_amount": 250 * (k + 1)} for k in range(3)
        ],
        "padding": "",
    }
    size = len(json.dumps(base, separators=(",", ":")))
    base["padding"] = "x" * max(0, PAYLOAD_BYTES - size)
    return base


def _watch_parent() -> Callable[[], bool]:
    parent = os.getppid()
    return lambda: os.getppid() != parent


# -- the receiver (its own process) --------------------------------------------


def run_receiver(port: int, hang_seconds: float = 0.0) -> None:
    """Answer 200 to any POST; record (path, webhook-id, arrival time).

    A POST under ``/hang/`` is a hanging endpoint: it is counted (not recorded)
    and answered only after ``hang_seconds``, by when the sender has given up.
    """
    from aiohttp import web

    records: list[tuple[str, str, float]] = []
    hung = Counter[str]()
    orphaned = _watch_parent()

    async def receive(request: web.Request) -> web.Response:
        t = time.time()
        await request.read()
        records.append((request.path, request.headers.get("webhook-id", ""), t))
        return web.Response(text="ok")

    async def hang(request: web.Request) -> web.Response:
        hung["requests"] += 1
        hung["open"] += 1
        try:
            await asyncio.sleep(hang_seconds)
        finally:
            hung["open"] -= 1
        return web.Response(text="too late")

    async def count(_request: web.Request) -> web.Response:
        return web.json_response(
            {"count": len(records), "hung": hung["requests"], "hanging_now": hung["open"]}
        )

    async def dump(request: web.Request) -> web.Response:
        start = int(request.query.get("start", "0"))
        return web.json_response({"records": records[start:]})

    async def reset(_request: web.Request) -> web.Response:
        records.clear()
        hung["requests"] = 0
        return web.json_response({"count": 0})

    async def watchdog(_app: web.Application) -> Any:
        async def loop() -> None:
            while True:
                await asyncio.sleep(1.0)
                if orphaned():
                    break
            os.kill(os.getpid(), signal.SIGTERM)

        task = asyncio.create_task(loop())
        yield
        task.cancel()

    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_get("/_bench/count", count)
    app.router.add_get("/_bench/dump", dump)
    app.router.add_post("/_bench/reset", reset)
    app.router.add_post("/hang/{tail:.*}", hang)
    app.router.add_post("/{tail:.*}", receive)
    app.cleanup_ctx.append(watchdog)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None, backlog=4096)


# -- the ceiling (its own process) ---------------------------------------------


def run_ceiling(spec_json: str) -> None:
    """Send the same signed requests hookpost sends, as fast as aiohttp can; print JSON."""
    spec = json.loads(spec_json)
    print(json.dumps(asyncio.run(_ceiling(spec))), flush=True)


async def _ceiling(spec: dict[str, Any]) -> dict[str, Any]:
    from hookpost.core.signing import generate_secret
    from hookpost.delivery.sender import USER_AGENT
    from hookpost.profiles import EventData, get_profile

    profile = get_profile("standard")
    secret = generate_secret()
    urls: list[str] = spec["urls"]
    n_events: int = spec["events"]
    concurrency: int = spec["concurrency"]
    deadline = time.monotonic() + float(spec["deadline"])
    now = time.time()
    # Bodies serialized once per event, as the dispatcher does; signed per request.
    bodies = [
        (
            f"ceil-{i:08d}",
            profile.body(
                EventData(
                    id=f"ceil-{i:08d}",
                    type="bench.event",
                    created_at=now,
                    payload=make_payload(i, "ceil"),
                )
            ),
        )
        for i in range(n_events)
    ]
    jobs = [(url, msg_id, body) for msg_id, body in bodies for url in urls]
    next_job = 0
    ok = errors = 0
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=0, ttl_dns_cache=60)
    async with aiohttp.ClientSession(
        connector=connector,
        headers={"User-Agent": USER_AGENT},
        cookie_jar=aiohttp.DummyCookieJar(),
    ) as session:

        async def worker() -> None:
            nonlocal next_job, ok, errors
            while next_job < len(jobs) and time.monotonic() < deadline:
                url, msg_id, body = jobs[next_job]
                next_job += 1
                ts = time.time()
                headers = {"Content-Type": "application/json"}
                headers.update(
                    profile.sign(msg_id=msg_id, timestamp=ts, body=body, secrets=[secret])
                )
                try:
                    async with session.post(
                        url,
                        data=body,
                        headers=headers,
                        allow_redirects=False,
                        timeout=aiohttp.ClientTimeout(total=15),
                    ) as resp:
                        await resp.content.read(4096)
                        if 200 <= resp.status < 300:
                            ok += 1
                        else:
                            errors += 1
                except (aiohttp.ClientError, TimeoutError):
                    errors += 1

        cpu0 = cpu_seconds(os.getpid()) or 0.0
        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
        cpu = (cpu_seconds(os.getpid()) or 0.0) - cpu0
    return {
        "requests": len(jobs),
        "ok": ok,
        "errors": errors,
        "seconds": elapsed,
        "requests_per_s": ok / elapsed if elapsed > 0 else 0.0,
        "concurrency": concurrency,
        "cpu_seconds": cpu,
    }


# -- the orchestration (this process) ------------------------------------------


@dataclass
class Procs:
    """Subprocesses to stop at the end, in reverse order of start."""

    started: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def add(self, name: str, proc: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
        self.started.append((name, proc))
        return proc

    def stop_all(self) -> None:
        """SIGTERM (SIGINT for py-spy, so it writes its profile), then SIGKILL after a grace."""
        for name, proc in reversed(self.started):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGINT if name == "py-spy" else signal.SIGTERM)
            try:
                proc.wait(timeout=60 if name == "py-spy" else 20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=10)


def _pdeathsig() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the server gets SIGTERM if the benchmark dies without cleaning up."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def _python(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", code, *args]


_HOOKPOST_CLI = (
    "import sys; from hookpost.cli import main; main(sys.argv[1:], prog_name='hookpost')"
)


def start_receiver(procs: Procs, port: int, hang_seconds: float = 0.0) -> subprocess.Popen[bytes]:
    """The receiver (:func:`run_receiver`) in its own process."""
    return procs.add(
        "receiver",
        subprocess.Popen(
            _python(
                "import sys; from hookpost.bench import run_receiver; "
                "run_receiver(int(sys.argv[1]), float(sys.argv[2]))",
                str(port),
                repr(hang_seconds),
            ),
            preexec_fn=_pdeathsig,
        ),
    )


def hookpost_env(
    database_url: str, *, admin_token: str, port: int, data_dir: str, **extra: str
) -> dict[str, str]:
    """The environment of every hookpost process of a run (loopback destinations allowed)."""
    return {
        **os.environ,
        "HOOKPOST_DATABASE_URL": database_url,
        "HOOKPOST_ADMIN_TOKEN": admin_token,
        "HOOKPOST_HOST": "127.0.0.1",
        "HOOKPOST_PORT": str(port),
        "HOOKPOST_ALLOWED_NETWORKS": "127.0.0.0/8",
        "HOOKPOST_LOG_LEVEL": os.environ.get("HOOKPOST_LOG_LEVEL", "warning"),
        "HOOKPOST_DATA_DIR": data_dir,
        **extra,
    }


def run_migrate(env: dict[str, str]) -> None:
    subprocess.run(
        _python(_HOOKPOST_CLI, "migrate"),
        env=env,
        check=True,
        timeout=300,
        stdout=subprocess.DEVNULL,
    )


def start_hookpost(
    procs: Procs, name: str, args: Sequence[str], env: dict[str, str], log_path: Path
) -> subprocess.Popen[bytes]:
    """``hookpost <args>`` as a subprocess, its output appended to ``log_path``."""
    with log_path.open("ab") as log:
        return procs.add(
            name,
            subprocess.Popen(
                _python(_HOOKPOST_CLI, *args),
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_pdeathsig,
            ),
        )


def stop_process(proc: subprocess.Popen[bytes], grace: float = 30.0) -> int | None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; the exit code."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
    return proc.returncode


def pyspy_start(
    procs: Procs, pid: int, out: str, rate: int = 100, *, nonblocking: bool = False
) -> subprocess.Popen[bytes] | None:
    """``py-spy record`` (raw collapsed stacks) attached to ``pid`` until :func:`pyspy_stop`.

    ``nonblocking`` does not pause the target to sample it (less overhead, a few
    torn stacks).
    """
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(exe).exists():
        return None
    cmd = [exe, "record", "--pid", str(pid), "--rate", str(rate), "--format", "raw", "-o", out]
    if nonblocking:
        cmd.append("--nonblocking")
    return procs.add(
        "py-spy", subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    )


def pyspy_stop(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGINT makes py-spy write its profile; wait (bounded) until it has."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)


def pids_named(comm: str) -> list[int]:
    """Processes whose command name is ``comm`` (e.g. every ``postgres`` backend)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            with contextlib.suppress(OSError):
                if (d / "comm").read_text().strip() == comm:
                    out.append(int(d.name))
    return out


def kernel_thread_pids() -> list[int]:
    """Kernel threads (no command line): journal commits, block I/O, ... on our behalf."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            with contextlib.suppress(OSError):
                if not (d / "cmdline").read_bytes():
                    out.append(int(d.name))
    return out


class GroupCpuMeter:
    """CPU (in cores) used by named groups of processes, and by everything else.

    A group is a fixed list of pids or a function returning the current ones
    (PostgreSQL backends come and go); a pid first seen at :meth:`read` counts
    from zero.
    """

    def __init__(self, groups: dict[str, Sequence[int] | Callable[[], Sequence[int]]]) -> None:
        self._groups = groups
        self._t0 = time.monotonic()
        self._busy0 = system_busy_seconds() or 0.0
        self._cpu0 = {pid: cpu_seconds(pid) or 0.0 for pid in self._all_pids()}

    def _pids(self, name: str) -> Sequence[int]:
        g = self._groups[name]
        return g() if callable(g) else g

    def _all_pids(self) -> set[int]:
        return {pid for name in self._groups for pid in self._pids(name)}

    def read(self) -> dict[str, float]:
        wall = max(1e-9, time.monotonic() - self._t0)
        busy = (system_busy_seconds() or 0.0) - self._busy0
        out: dict[str, float] = {}
        counted = 0.0
        seen: set[int] = set()
        for name in self._groups:
            used = 0.0
            for pid in self._pids(name):
                if pid in seen:
                    continue
                seen.add(pid)
                now = cpu_seconds(pid)
                if now is not None:
                    used += now - self._cpu0.get(pid, 0.0)
            counted += used
            out[f"{name}_cpu_seconds"] = round(used, 2)
            out[f"{name}_cpu_util"] = round(used / wall, 2)
        out["other_cpu_util"] = round(max(0.0, busy - counted) / wall, 2)
        out["wall_seconds"] = round(wall, 2)
        return out


@dataclass
class Ctx:
    base: str
    admin_token: str
    receiver: str
    serve_pid: int
    receiver_pid: int
    serve: subprocess.Popen[bytes]
    session: aiohttp.ClientSession
    console: Any
    log_path: Path
    #: Other hookpost processes that must stay up meanwhile (``hookpost worker``s).
    others: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def check_alive(self) -> None:
        for name, proc in [("hookpost serve", self.serve), *self.others]:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with {proc.returncode}; log tail:\n{tail(self.log_path)}"
                )

    async def api(
        self, method: str, path: str, token: str, body: Any = None, expect: int = 200
    ) -> Any:
        async with self.session.request(
            method,
            self.base + path,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=HTTP_TIMEOUT,
        ) as resp:
            data = await resp.json(content_type=None)
            if resp.status != expect:
                raise RuntimeError(f"{method} {path}: {resp.status} {data}")
            return data

    async def received(self) -> int:
        async with self.session.get(self.receiver + "/_bench/count", timeout=HTTP_TIMEOUT) as r:
            n: int = (await r.json())["count"]
            return n

    async def hung(self) -> int:
        """Requests the receiver has taken on its hanging paths (``/hang/...``)."""
        async with self.session.get(self.receiver + "/_bench/count", timeout=HTTP_TIMEOUT) as r:
            n: int = (await r.json())["hung"]
            return n

    async def records(self) -> list[tuple[str, str, float]]:
        async with self.session.get(
            self.receiver + "/_bench/dump", timeout=aiohttp.ClientTimeout(total=120)
        ) as r:
            return [(p, i, float(t)) for p, i, t in (await r.json())["records"]]

    async def reset_receiver(self) -> None:
        async with self.session.post(self.receiver + "/_bench/reset", timeout=HTTP_TIMEOUT) as r:
            r.raise_for_status()


def tail(path: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


class RssSampler:
    """Peak VmRSS of a process, sampled every 100 ms while running."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = proc_status(pid, "VmRSS") or 0
        self._task: asyncio.Task[None] | None = None

    async def _loop(self) -> None:
        while True:
            self.peak = max(self.peak, proc_status(self.pid, "VmRSS") or 0)
            await asyncio.sleep(0.1)

    def __enter__(self) -> RssSampler:
        self._task = asyncio.get_running_loop().create_task(self._loop())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
        self.peak = max(self.peak, proc_status(self.pid, "VmRSS") or 0)


def _progress(console: Any) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        TextColumn("{task.description:<26}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


async def _setup_project(
    ctx: Ctx,
    name: str,
    fanout: int,
    endpoint: Callable[[int], dict[str, Any]] | None = None,
) -> tuple[str, str]:
    """A project with ``fanout`` endpoints at ``/r/<name>/<k>`` (or ``endpoint(k)``)."""
    project = await ctx.api("POST", "/api/v1/projects", ctx.admin_token, {"name": name}, expect=201)
    pid, key = project["id"], project["api_key"]
    for k in range(fanout):
        body = {"url": f"{ctx.receiver}/r/{name}/{k}", "description": f"bench {k}"}
        if endpoint is not None:
            body.update(endpoint(k))
        await ctx.api("POST", f"/api/v1/projects/{pid}/endpoints", key, body, expect=201)
    return pid, key


async def _publish_one(ctx: Ctx, url: str, key: str, body: bytes, errors: Counter[str]) -> bool:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    for _try in range(3):  # the same event_id makes a retry idempotent
        try:
            async with ctx.session.post(
                url, data=body, headers=headers, timeout=HTTP_TIMEOUT
            ) as resp:
                await resp.read()
                if resp.status in (200, 202):
                    return True
                errors[f"http {resp.status}"] += 1
        except (aiohttp.ClientError, TimeoutError) as exc:
            errors[type(exc).__name__] += 1
    return False


@dataclass
class Stack:
    """A receiver and one hookpost process serving the API, started for a run."""

    env: dict[str, str]
    admin_token: str
    receiver: subprocess.Popen[bytes]
    receiver_url: str
    serve: subprocess.Popen[bytes]
    base: str
    log_path: Path


def start_stack(
    procs: Procs,
    tmp: str,
    database_url: str,
    args: Sequence[str],
    *,
    hang_seconds: float = 0.0,
    **env_extra: str,
) -> Stack:
    """Start the receiver, migrate, start ``hookpost <args>``, and wait for both ports."""
    rport, hport = free_port(), free_port()
    receiver = start_receiver(procs, rport, hang_seconds=hang_seconds)
    admin_token = "hpadm_bench_" + secrets.token_urlsafe(18)
    env = hookpost_env(database_url, admin_token=admin_token, port=hport, data_dir=tmp, **env_extra)
    run_migrate(env)
    log_path = Path(tmp) / "hookpost.log"
    serve = start_hookpost(procs, "serve", args, env, log_path)
    _wait_port(rport, 30, receiver, "receiver")
    _wait_port(hport, 60, serve, "hookpost " + " ".join(args))
    return Stack(
        env=env,
        admin_token=admin_token,
        receiver=receiver,
        receiver_url=f"http://127.0.0.1:{rport}",
        serve=serve,
        base=f"http://127.0.0.1:{hport}",
        log_path=log_path,
    )


@contextlib.asynccontextmanager
async def open_ctx(stack: Stack, console: Any) -> AsyncIterator[Ctx]:
    """A run's context, with one client session sized for the publishers."""
    connector = aiohttp.TCPConnector(limit=PUBLISH_CONCURRENCY + 8)
    async with aiohttp.ClientSession(connector=connector) as session:
        yield Ctx(
            base=stack.base,
            admin_token=stack.admin_token,
            receiver=stack.receiver_url,
            serve_pid=stack.serve.pid,
            receiver_pid=stack.receiver.pid,
            serve=stack.serve,
            session=session,
            console=console,
            log_path=stack.log_path,
        )


@dataclass
class Burst:
    """What :func:`publish_burst` did: send time per event id, errors, wall-clock span."""

    sent: dict[str, float]
    errors: Counter[str]
    failed: int
    t_first: float
    t_published: float

    @property
    def rate(self) -> float:
        return round(len(self.sent) / max(1e-9, self.t_published - self.t_first), 1)


async def publish_burst(
    ctx: Ctx,
    url: str,
    key: str,
    bodies: list[tuple[str, bytes]],
    on_published: Callable[[], None] = lambda: None,
) -> Burst:
    """Publish every body as fast as PUBLISH_CONCURRENCY publishers can."""
    sent: dict[str, float] = {}
    errors: Counter[str] = Counter()
    failed = 0
    next_i = 0

    async def publisher() -> None:
        nonlocal next_i, failed
        while next_i < len(bodies):
            eid, body = bodies[next_i]
            next_i += 1
            sent[eid] = time.time()
            if not await _publish_one(ctx, url, key, body, errors):
                failed += 1
            on_published()

    t_first = time.time()
    try:
        await asyncio.wait_for(
            asyncio.gather(*(publisher() for _ in range(PUBLISH_CONCURRENCY))),
            timeout=max(300.0, len(bodies) / 10),
        )
    finally:
        t_published = time.time()
    return Burst(sent, errors, failed, t_first, t_published)


def _bodies(tag: str, n: int) -> list[tuple[str, bytes]]:
    out = []
    for i in range(n):
        eid = f"{tag}-{i:08d}"
        body = {"event_type": "bench.event", "payload": make_payload(i, tag), "event_id": eid}
        out.append((eid, json.dumps(body, separators=(",", ":")).encode()))
    return out


async def _wait_received(
    ctx: Ctx, expected: int, deadline: float, on_count: Callable[[int], None]
) -> int:
    """Poll the receiver until it has ``expected`` requests, stalls, or the deadline passes."""
    last, last_change = -1, time.monotonic()
    while True:
        n = await ctx.received()
        on_count(n)
        now = time.monotonic()
        if n >= expected or now > deadline:
            return n
        if n != last:
            last, last_change = n, now
        elif now - last_change > STALL_SECONDS:
            return n
        ctx.check_alive()
        await asyncio.sleep(0.05)


def _latencies(
    records: list[tuple[str, str, float]], prefix: str, sent: dict[str, float]
) -> tuple[list[float], int, int, float | None]:
    """Latencies (ms) of the records under ``prefix``; duplicates; unmatched; last arrival."""
    lat: list[float] = []
    seen: Counter[tuple[str, str]] = Counter()
    unmatched = 0
    last: float | None = None
    for path, msg_id, t in records:
        if not path.startswith(prefix):
            continue
        seen[(path, msg_id)] += 1
        if seen[(path, msg_id)] > 1:
            continue
        t_sent = sent.get(msg_id)
        if t_sent is None:
            unmatched += 1
            continue
        lat.append((t - t_sent) * 1000)
        last = t if last is None else max(last, t)
    lat.sort()
    duplicates = sum(c - 1 for c in seen.values())
    return lat, duplicates, unmatched, last


async def _verify_api(ctx: Ctx, pid: str, key: str, expected: int) -> dict[str, Any]:
    """Every delivery listed as succeeded, none left over, and a sample has its attempt."""
    deadline = time.monotonic() + 120
    succeeded = 0
    ids: list[str] = []
    while time.monotonic() < deadline:
        succeeded, ids, cursor = 0, [], None
        while time.monotonic() < deadline:
            q = "?status=succeeded&limit=250" + (f"&cursor={cursor}" if cursor else "")
            page = await ctx.api("GET", f"/api/v1/projects/{pid}/deliveries{q}", key)
            succeeded += len(page["data"])
            if len(ids) < 2000:
                ids.extend(d["id"] for d in page["data"])
            cursor = page["next_cursor"]
            if not cursor:
                break
        if succeeded >= expected:
            break
        await asyncio.sleep(0.5)  # the last batch of attempts may still be being recorded
    leftover = {}
    for status in ("pending", "delivering", "failed"):
        page = await ctx.api(
            "GET", f"/api/v1/projects/{pid}/deliveries?status={status}&limit=250", key
        )
        leftover[status] = len(page["data"])
    step = max(1, len(ids) // 20)
    sample = ids[::step][:20]
    logged = 0
    for did in sample:
        d = await ctx.api("GET", f"/api/v1/projects/{pid}/deliveries/{did}", key)
        tries = d.get("attempts") or []
        if (
            d["status"] == "succeeded"
            and len(tries) >= 1
            and tries[-1].get("status_code") == 200
            and tries[-1].get("request_headers")
        ):
            logged += 1
    return {
        "succeeded_listed": succeeded,
        "leftover": leftover,
        "attempts_checked": len(sample),
        "attempts_logged": logged,
        "ok": succeeded == expected
        and not any(leftover.values())
        and logged == len(sample)
        and bool(sample),
    }


def _ms(v: float | None) -> float | None:
    return None if v is None else round(v, 2)


async def publish_and_wait(
    ctx: Ctx,
    label: str,
    url: str,
    key: str,
    bodies: list[tuple[str, bytes]],
    expected: int,
    *,
    delivered_label: str = "delivered",
    min_wait: float = 120.0,
) -> tuple[Burst, int, RssSampler]:
    """Publish ``bodies`` as fast as the server takes them, then wait (bounded) for
    ``expected`` receipts, with progress bars and the server's RSS sampled throughout."""
    with _progress(ctx.console) as progress, RssSampler(ctx.serve_pid) as rss:
        pub_task = progress.add_task(f"{label}: publish", total=len(bodies))
        dlv_task = progress.add_task(f"{label}: {delivered_label}", total=expected)

        async def watcher() -> None:
            while True:
                progress.update(dlv_task, completed=await ctx.received())
                await asyncio.sleep(0.2)

        w = asyncio.create_task(watcher())
        try:
            burst = await publish_burst(ctx, url, key, bodies, lambda: progress.advance(pub_task))
        finally:
            w.cancel()
        received = await _wait_received(
            ctx,
            expected,
            time.monotonic() + max(min_wait, expected / 100),
            lambda n: progress.update(dlv_task, completed=n),
        )
    return burst, received, rss


def write_report(console: Any, report: dict[str, Any], output: str | None) -> None:
    """Write a benchmark's JSON report where asked."""
    if output:
        Path(output).write_text(json.dumps(report, indent=2) + "\n")
        console.print(f"results written to {output}")


async def _throughput(ctx: Ctx, fanout: int, n_events: int) -> dict[str, Any]:
    name = f"fanout{fanout}-{secrets.token_hex(3)}"
    pid, key = await _setup_project(ctx, name, fanout)
    await ctx.reset_receiver()
    expected = n_events * fanout
    bodies = _bodies(name, n_events)
    url = f"{ctx.base}/api/v1/projects/{pid}/events"
    meter = CpuMeter(ctx.serve_pid, [ctx.receiver_pid, os.getpid()])

    burst, received, rss = await publish_and_wait(
        ctx, f"fan-out {fanout}", url, key, bodies, expected, min_wait=120.0
    )
    sent, t_first, t_published = burst.sent, burst.t_first, burst.t_published
    cpu = meter.read()
    records = await ctx.records()
    lat, dups, unmatched, t_last = _latencies(records, f"/r/{name}/", sent)
    delivered = len(lat)
    span = (t_last - t_first) if t_last else None
    verify = await _verify_api(ctx, pid, key, expected)
    return {
        "scenario": f"throughput, fan-out {fanout}",
        "fanout": fanout,
        "events": n_events,
        "expected_deliveries": expected,
        "received_requests": received,
        "delivered_unique": delivered,
        "duplicates": dups,
        "unmatched": unmatched,
        "failed_publishes": burst.failed,
        "publish_errors": dict(burst.errors),
        "publish_seconds": round(t_published - t_first, 3),
        "publish_rate": burst.rate,
        "span_seconds": None if span is None else round(span, 3),
        "deliveries_per_s": round(delivered / span, 1) if span else None,
        "latency_p50_ms": _ms(percentile(lat, 50)),
        "latency_p99_ms": _ms(percentile(lat, 99)),
        "latency_max_ms": _ms(lat[-1] if lat else None),
        "serve_peak_rss_mb": round(rss.peak / 2**20, 1),
        **cpu,
        "verify": verify,
        "complete": delivered == expected and verify["ok"],
    }


async def _latency_run(ctx: Ctx, rate: int) -> dict[str, Any]:
    name = f"latency{rate}-{secrets.token_hex(3)}"
    pid, key = await _setup_project(ctx, name, 1)
    await ctx.reset_receiver()
    n = max(1, min(LATENCY_RUN_MAX_EVENTS, int(rate * LATENCY_RUN_SECONDS)))
    bodies = _bodies(name, n)
    url = f"{ctx.base}/api/v1/projects/{pid}/events"
    sent: dict[str, float] = {}
    api_ms: list[float] = []
    errors: Counter[str] = Counter()
    failed = 0
    max_lag = 0.0
    sem = asyncio.Semaphore(256)
    tasks: set[asyncio.Task[None]] = set()
    meter = CpuMeter(ctx.serve_pid, [ctx.receiver_pid, os.getpid()])

    with _progress(ctx.console) as progress, RssSampler(ctx.serve_pid) as rss:
        pub_task = progress.add_task(f"latency @{rate}/s: publish", total=n)
        dlv_task = progress.add_task(f"latency @{rate}/s: delivered", total=n)

        async def one(eid: str, body: bytes) -> None:
            nonlocal failed
            try:
                t = time.time()
                sent[eid] = t
                if not await _publish_one(ctx, url, key, body, errors):
                    failed += 1
                api_ms.append((time.time() - t) * 1000)
                progress.advance(pub_task)
            finally:
                sem.release()

        loop = asyncio.get_running_loop()
        t0 = loop.time() + 0.1
        t_first = time.time() + 0.1
        deadline = t0 + LATENCY_RUN_SECONDS * 3 + 30
        for i, (eid, body) in enumerate(bodies):
            due = t0 + i / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            max_lag = max(max_lag, loop.time() - due)
            if loop.time() > deadline:
                break
            await asyncio.wait_for(sem.acquire(), timeout=60)
            task = asyncio.create_task(one(eid, body))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            if i % 100 == 0:
                progress.update(dlv_task, completed=await ctx.received())
        if tasks:
            await asyncio.wait(set(tasks), timeout=60)
        t_published = time.time()
        t_first = min(sent.values(), default=t_first)
        # If the server cannot keep up, the run stops at its deadline with fewer events.
        planned, n = n, len(sent)
        progress.update(dlv_task, total=n)
        received = await _wait_received(
            ctx, n, time.monotonic() + 60, lambda c: progress.update(dlv_task, completed=c)
        )
    cpu = meter.read()
    records = await ctx.records()
    lat, dups, unmatched, t_last = _latencies(records, f"/r/{name}/", sent)
    api_ms.sort()
    verify = await _verify_api(ctx, pid, key, n)
    return {
        "scenario": f"latency, {rate} events/s, fan-out 1",
        "fanout": 1,
        "rate": rate,
        "events_planned": planned,
        "events": n,
        "expected_deliveries": n,
        "received_requests": received,
        "delivered_unique": len(lat),
        "duplicates": dups,
        "unmatched": unmatched,
        "failed_publishes": failed,
        "publish_errors": dict(errors),
        "publish_seconds": round(t_published - t_first, 3),
        "publish_rate": round(len(sent) / (t_published - t_first), 1),
        "max_schedule_lag_ms": round(max_lag * 1000, 1),
        "publish_api_p50_ms": _ms(percentile(api_ms, 50)),
        "publish_api_p99_ms": _ms(percentile(api_ms, 99)),
        "deliveries_per_s": round(len(lat) / (t_last - t_first), 1) if t_last else None,
        "latency_p50_ms": _ms(percentile(lat, 50)),
        "latency_p90_ms": _ms(percentile(lat, 90)),
        "latency_p99_ms": _ms(percentile(lat, 99)),
        "latency_max_ms": _ms(lat[-1] if lat else None),
        "serve_peak_rss_mb": round(rss.peak / 2**20, 1),
        **cpu,
        "verify": verify,
        "complete": len(lat) == n and verify["ok"],
    }


async def _ceiling_run(
    ctx: Ctx, procs: Procs, n_events: int, fanout: int, concurrency: int
) -> dict[str, Any]:
    await ctx.reset_receiver()
    name = f"ceiling-{secrets.token_hex(3)}"
    spec = {
        "urls": [f"{ctx.receiver}/r/{name}/{k}" for k in range(fanout)],
        "events": n_events,
        "concurrency": concurrency,
        "deadline": 300,
    }
    ctx.console.print(
        f"ceiling: bare aiohttp loop, {n_events * fanout} signed requests, "
        f"concurrency {concurrency} ..."
    )

    def spawn_and_wait() -> tuple[int, bytes, bytes]:
        proc = procs.add(
            "ceiling",
            subprocess.Popen(
                _python(
                    "import sys; from hookpost.bench import run_ceiling; run_ceiling(sys.argv[1])",
                    json.dumps(spec),
                ),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            ),
        )
        out, err = proc.communicate(timeout=360)
        return proc.returncode, out, err

    meter = CpuMeter(ctx.serve_pid, [ctx.receiver_pid, os.getpid()])
    code, out, err = await asyncio.get_running_loop().run_in_executor(None, spawn_and_wait)
    cpu = meter.read()
    if code != 0:
        raise RuntimeError(f"ceiling process failed: {err.decode(errors='replace')[-2000:]}")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    result["received_by_receiver"] = await ctx.received()
    wall = max(1e-9, result["seconds"])
    result["serve_cpu_util"] = cpu["serve_cpu_util"]
    result["bench_and_receiver_cpu_util"] = cpu["bench_and_receiver_cpu_util"]
    # The ceiling process is not one of the meter's pids: take it out of "other".
    result["other_cpu_util"] = round(
        max(0.0, cpu["other_cpu_util"] - result["cpu_seconds"] / wall), 2
    )
    result["scenario"] = f"ceiling: bare aiohttp, concurrency {concurrency}"
    result["fanout"] = fanout
    result["requests_per_s"] = round(result["requests_per_s"], 1)
    return result


async def _run_all(
    stack: Stack, procs: Procs, console: Any, *, n_events: int, fanouts: list[int], rate: int
) -> dict[str, Any]:
    async with open_ctx(stack, console) as ctx:
        await _wait_http(ctx, ctx.base + "/healthz", 60, ctx.check_alive)
        scenarios = []
        for fanout in fanouts:
            scenarios.append(await _throughput(ctx, fanout, n_events))
        latency = await _latency_run(ctx, rate) if rate > 0 else None
        peak_hwm = proc_status(ctx.serve_pid, "VmHWM")
        from hookpost.config import Settings

        concurrency = Settings().delivery_concurrency
        ceiling = await _ceiling_run(ctx, procs, n_events, max(fanouts), concurrency)
        ceiling_publishers = await _ceiling_run(
            ctx, procs, n_events, max(fanouts), PUBLISH_CONCURRENCY
        )
    return {
        "throughput": scenarios,
        "latency": latency,
        "ceiling": ceiling,
        "ceiling_at_publish_concurrency": ceiling_publishers,
        "serve_vm_hwm_mb": None if peak_hwm is None else round(peak_hwm / 2**20, 1),
    }


async def _wait_http(ctx: Ctx, url: str, seconds: float, check: Callable[[], None]) -> None:
    deadline = time.monotonic() + seconds
    while True:
        check()
        try:
            async with ctx.session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as r:
                if r.status == 200:
                    return
        except (aiohttp.ClientError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} not ready after {seconds:g}s")
        await asyncio.sleep(0.1)


def _wait_port(port: int, seconds: float, proc: subprocess.Popen[bytes], name: str) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} not listening on {port} after {seconds:g}s")
        time.sleep(0.05)


@contextlib.contextmanager
def _pyspy(procs: Procs, pid: int, console: Any) -> Iterator[None]:
    out = os.environ.get("HOOKPOST_BENCH_PYSPY")
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not out or not Path(exe).exists():
        yield
        return
    fmt = "raw" if out.endswith(".txt") else "flamegraph"
    extra = shlex.split(os.environ.get("HOOKPOST_BENCH_PYSPY_ARGS", "--rate 100"))
    cmd = [exe, "record", "--pid", str(pid), *extra, "--format", fmt, "-o", out]
    console.print(f"profiling the server: {' '.join(cmd)}")
    procs.add("py-spy", subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    yield


def main(n_events: int, fanouts: list[int], rate: int, output: str | None) -> None:
    """Run the benchmark and print (and optionally save) the results."""
    from rich.console import Console

    if n_events < 1 or not fanouts or any(f < 1 for f in fanouts) or rate < 0:
        raise ValueError("need events >= 1, fan-outs >= 1 and rate >= 0")
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 150))
    info = machine_info()
    synchronous = os.environ.get("HOOKPOST_SQLITE_SYNCHRONOUS") or "FULL"
    procs = Procs()
    with tempfile.TemporaryDirectory(prefix="hookpost-bench-") as tmp:
        try:
            stack = start_stack(
                procs,
                tmp,
                f"sqlite:///{tmp}/bench.db",
                ["serve"],
                HOOKPOST_SQLITE_SYNCHRONOUS=synchronous,
            )
            console.print(
                f"hookpost serve pid {stack.serve.pid} on {stack.base} "
                f"(SQLite synchronous={synchronous}); receiver pid {stack.receiver.pid} "
                f"on {stack.receiver_url}"
            )
            with _pyspy(procs, stack.serve.pid, console):
                results = asyncio.run(
                    _run_all(
                        stack,
                        procs,
                        console,
                        n_events=n_events,
                        fanouts=fanouts,
                        rate=rate,
                    )
                )
        finally:
            procs.stop_all()
    report = {
        "command": " ".join(sys.argv),
        "machine": info,
        "config": {
            "events": n_events,
            "fanouts": fanouts,
            "rate": rate,
            "payload_bytes": PAYLOAD_BYTES,
            "publish_concurrency": PUBLISH_CONCURRENCY,
            "sqlite_synchronous": synchronous,
        },
        **results,
        "targets": _targets(results),
    }
    _print_report(console, report)
    write_report(console, report, output)


def _targets(results: dict[str, Any]) -> dict[str, Any]:
    best = max(
        (s["deliveries_per_s"] or 0.0 for s in results["throughput"]),
        default=0.0,
    )
    lat = results["latency"] or {}
    ceiling = results["ceiling"]["requests_per_s"] or 0.0
    p50, p99 = lat.get("latency_p50_ms"), lat.get("latency_p99_ms")
    return {
        "best_deliveries_per_s": best,
        "deliveries_per_s_target": TARGET_DELIVERIES_PER_S,
        "deliveries_per_s_met": best >= TARGET_DELIVERIES_PER_S,
        "ceiling_ratio": round(best / ceiling, 3) if ceiling else None,
        "latency_p50_ms": p50,
        "latency_p50_target": TARGET_P50_MS,
        "latency_p50_met": p50 is not None and p50 <= TARGET_P50_MS,
        "latency_p99_ms": p99,
        "latency_p99_target": TARGET_P99_MS,
        "latency_p99_met": p99 is not None and p99 <= TARGET_P99_MS,
        "all_delivered": all(s["complete"] for s in results["throughput"])
        and (not lat or bool(lat.get("complete"))),
    }


def _fmt(v: Any, suffix: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.1f}{suffix}"
    return f"{v:,}{suffix}" if isinstance(v, int) else f"{v}{suffix}"


def _print_report(console: Any, report: dict[str, Any]) -> None:
    from rich.table import Table

    m = report["machine"]
    table = Table(
        title=f"hookpost bench - {m['nproc']} cores, {m['cpu_model']}, Python {m['python']}, "
        f"SQLite synchronous={report['config']['sqlite_synchronous']}"
    )
    for col in (
        "scenario",
        "deliveries",
        "publish ev/s",
        "deliveries/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "serve RSS MB",
        "serve CPU",
        "other CPU",
        "all delivered+logged",
    ):
        table.add_column(col, justify="left" if col == "scenario" else "right")
    rows = list(report["throughput"])
    if report["latency"]:
        rows.append(report["latency"])
    for s in rows:
        table.add_row(
            s["scenario"],
            f"{s['delivered_unique']:,}/{s['expected_deliveries']:,}",
            _fmt(s["publish_rate"]),
            _fmt(s["deliveries_per_s"]),
            _fmt(s["latency_p50_ms"]),
            _fmt(s["latency_p99_ms"]),
            _fmt(s["latency_max_ms"]),
            _fmt(s["serve_peak_rss_mb"]),
            f"{s['serve_cpu_util'] * 100:.0f}%",
            f"{s['other_cpu_util'] * 100:.0f}%",
            "yes" if s["complete"] else "NO",
        )
    for c in (report["ceiling"], report["ceiling_at_publish_concurrency"]):
        table.add_row(
            c["scenario"],
            f"{c['ok']:,}/{c['requests']:,}",
            "-",
            _fmt(c["requests_per_s"]),
            "-",
            "-",
            "-",
            "-",
            f"{c['serve_cpu_util'] * 100:.0f}%",
            f"{c['other_cpu_util'] * 100:.0f}%",
            "yes" if c["ok"] == c["requests"] == c["received_by_receiver"] else "NO",
        )
    console.print(table)
    t = report["targets"]

    def mark(ok: bool) -> str:
        return "[green]met[/green]" if ok else "[red]MISSED[/red]"

    console.print(
        f"deliveries/s (best): {_fmt(t['best_deliveries_per_s'])} "
        f"(target >= {t['deliveries_per_s_target']:,.0f}) {mark(t['deliveries_per_s_met'])}; "
        f"{_fmt((t['ceiling_ratio'] or 0) * 100)}% of the bare-aiohttp ceiling "
        f"({_fmt(report['ceiling']['requests_per_s'])}/s)"
    )
    console.print(
        f"latency at {report['config']['rate']} ev/s: p50 {_fmt(t['latency_p50_ms'])} ms "
        f"(<= {t['latency_p50_target']:g}) {mark(t['latency_p50_met'])}, "
        f"p99 {_fmt(t['latency_p99_ms'])} ms (<= {t['latency_p99_target']:g}) "
        f"{mark(t['latency_p99_met'])}"
    )
    console.print(f"serve peak RSS (VmHWM): {_fmt(report['serve_vm_hwm_mb'])} MB")
