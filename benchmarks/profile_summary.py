"""Sum a ``py-spy record --format raw`` profile by component.

    .venv/bin/python benchmarks/profile_summary.py /tmp/prof/worker_drain.txt

Each sample (py-spy records only non-idle ones, so a sample is CPU time) goes
to the component of its innermost frame that belongs to one: the library (or
hookpost module) whose code was running, counting the standard-library calls
it makes as its own. Time in the event loop itself (uvloop is C) is shown
apart. Also prints the functions with the most self time.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

#: (component, path fragments of its frames), most specific first.
COMPONENTS: list[tuple[str, tuple[str, ...]]] = [
    ("database (SQLAlchemy + driver)", ("sqlalchemy/", "asyncpg/", "aiosqlite/", "sqlite3/")),
    ("signing (HMAC, profiles)", ("hookpost/profiles/", "hmac.py", "hashlib", "base64.py")),
    ("secrets at rest (AES-GCM)", ("cryptography/", "hookpost/core/crypto.py")),
    ("JSON", ("json/", "orjson", "hookpost/core/jsonenc.py")),
    ("pydantic (validation, serialization)", ("pydantic/", "pydantic_core/")),
    ("aiohttp client", ("aiohttp/",)),
    ("FastAPI routing + dependencies", ("fastapi/",)),
    ("Starlette (middleware, requests)", ("starlette/",)),
    ("uvicorn + httptools (HTTP server)", ("uvicorn/", "httptools/")),
    ("logging, metrics", ("logging/", "prometheus_client/", "hookpost/logs.py")),
]
#: Matched on the leaf frame only (every stack has the event loop at its root).
LEAF_COMPONENTS: list[tuple[str, tuple[str, ...]]] = [
    ("event loop (uvloop I/O, asyncio scheduling)", ("asyncio/", "uvloop/")),
    ("a thread waiting (idle, not CPU)", ("threading.py",)),
]

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def parse(path: Path) -> list[tuple[list[tuple[str, str]], int]]:
    """[(frames root->leaf as (function, file)), count]."""
    out = []
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = []
        for raw in stack.split(";"):
            m = _FRAME.match(raw)
            frames.append((m["func"], m["file"]) if m else (raw, ""))
        out.append((frames, int(count)))
    return out


_LOOP_ROOTS = ("asyncio/runners.py", "asyncio/base_events.py", "uvloop/__init__.py")


def component(frames: list[tuple[str, str]]) -> str:
    """The component of the frame nearest the leaf that belongs to one (self time)."""
    # Drop the start-up frames (CLI, uvicorn.run, asyncio.run): keep what runs on the loop.
    roots = [i for i, (_fn, f) in enumerate(frames) if f.endswith(_LOOP_ROOTS)]
    task = frames[roots[-1] + 1 :] if roots else frames
    for _fn, f in reversed(task):
        for name, fragments in COMPONENTS:
            if any(frag in f for frag in fragments):
                return name
        if f.startswith("hookpost/"):
            return f"hookpost ({f})"
    leaf = frames[-1][1] if frames else ""
    for name, fragments in LEAF_COMPONENTS:
        if any(frag in leaf for frag in fragments):
            return name
    return "other"


def on_loop_thread(frames: list[tuple[str, str]]) -> bool:
    """The event loop's thread, not a thread it started (aiosqlite's, a thread pool's).

    With uvloop a resumed coroutine's stack has no Python root frame, so the
    test is "not under ``Thread._bootstrap``".
    """
    return not frames or not frames[0][1].endswith("threading.py")


def summarize(path: Path, top: int, loop_thread: bool = False) -> str:
    samples = parse(path)
    every = sum(c for _s, c in samples) or 1
    if loop_thread:
        samples = [(s, c) for s, c in samples if on_loop_thread(s)]
    total = sum(c for _s, c in samples) or 1
    by_component: Counter[str] = Counter()
    by_leaf: Counter[str] = Counter()
    for frames, count in samples:
        by_component[component(frames)] += count
        if frames:
            fn, f = frames[-1]
            by_leaf[f"{fn} ({f})"] += count
    lines = [f"{path}: {total} samples"]
    if loop_thread:
        lines[0] += f" on the event loop's thread ({100 * total / every:.1f}% of all samples)"
    lines += [f"  {100 * c / total:5.1f}%  {name}" for name, c in by_component.most_common()]
    lines.append(f"  top {top} functions by self time:")
    lines += [f"  {100 * c / total:5.1f}%  {name}" for name, c in by_leaf.most_common(top)]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument(
        "--loop-thread", action="store_true", help="only the event loop's thread's samples"
    )
    args = parser.parse_args()
    for f in args.files:
        print(summarize(f, args.top, args.loop_thread))
