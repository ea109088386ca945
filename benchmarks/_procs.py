"""Processes of a benchmark run: starting hookpost, the receiver and py-spy, and
stopping every one of them, whatever happens.

:class:`Procs` keeps what was started and stops it in reverse order (SIGTERM, then
SIGKILL after a grace); each child also gets SIGTERM from the kernel if the
benchmark dies without cleaning up (:func:`_pdeathsig`). Ports are picked on
127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


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
                _IMPORTABLE + "from benchmarks._peers import run_receiver; "
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
