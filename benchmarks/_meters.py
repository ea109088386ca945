"""Meters of a benchmark run: CPU (per process, per group, the rest of the machine), RSS,
the machine itself, and percentiles of what was measured.

Every figure comes from ``/proc`` on Linux; a process that is gone reads as None,
never as an error, so a meter can be read after its process has exited.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import subprocess
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


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
