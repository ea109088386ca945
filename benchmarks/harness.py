"""The shared harness of every benchmark: processes, the receiver, meters, the report.

Every scenario (:mod:`benchmarks.core`, :mod:`benchmarks.isolation`,
:mod:`benchmarks.scale`, :mod:`benchmarks.queries`) starts its processes
through :class:`Procs` (each stopped in ``finally``; the server gets SIGTERM if
the benchmark dies), the fast receiver :func:`run_receiver`, hookpost itself
(:func:`start_stack` / :func:`start_hookpost`), meters of CPU, RSS and the
machine's other load, and prints its table with :func:`write_report`.
Nothing is sent anywhere but 127.0.0.1, and every wait has a deadline.
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


#: Prefix of ``python -c`` code that imports this package whatever the working directory.
_IMPORTABLE = f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r}); "


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
                _IMPORTABLE + "from benchmarks.harness import run_receiver; "
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


async def list_ids(ctx: Ctx, path: str, key: str, deadline: float = 120.0) -> list[str]:
    """The ids of every item a list route answers, page by page (bounded by ``deadline`` s)."""
    ids: list[str] = []
    cursor = None
    sep = "&" if "?" in path else "?"
    until = time.monotonic() + deadline
    while time.monotonic() < until:
        q = f"{sep}limit=250" + (f"&cursor={cursor}" if cursor else "")
        page = await ctx.api("GET", path + q, key)
        ids.extend(d["id"] for d in page["data"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    return ids


async def _verify_api(
    ctx: Ctx, pid: str, key: str, expected: int, *, status_code: int | None = 200
) -> dict[str, Any]:
    """Every delivery listed as succeeded, none left over, and a sample has its attempt
    (answered ``status_code``: None for a broker, which answers no HTTP status)."""
    deadline = time.monotonic() + 120
    ids: list[str] = []
    while time.monotonic() < deadline:
        ids = await list_ids(ctx, f"/api/v1/projects/{pid}/deliveries?status=succeeded", key)
        if len(ids) >= expected:
            break
        await asyncio.sleep(0.5)  # the last batch of attempts may still be being recorded
    succeeded = len(ids)
    ids = ids[:2000]
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
            and tries[-1].get("status_code") == status_code
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


def wide_console() -> Any:
    """A rich console; when output is not a terminal, wide enough for the report tables."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=max(console.width, 150))


def write_report(console: Any, report: dict[str, Any], output: str | None) -> None:
    """Write a benchmark's JSON report where asked."""
    if output:
        Path(output).write_text(json.dumps(report, indent=2) + "\n")
        console.print(f"results written to {output}")


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


def _fmt(v: Any, suffix: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.1f}{suffix}"
    return f"{v:,}{suffix}" if isinstance(v, int) else f"{v}{suffix}"
