"""What ordered sequences cost publish: concurrent publishers, straight to the store.

    .venv/bin/python benchmarks/bench_publish_order.py --database postgres --readers 0

Each round publishes ``--events`` events from N concurrent publishers (asyncio tasks
sharing one :class:`~hookpost.store.Store`, as one API process does) into ``--projects``
projects whose events each fan out to ``--fanout`` endpoints (disabled, so nothing is sent).
It runs every case twice in alternation: ``ordered`` is the code as it is, ``unordered``
skips the per-project sequence lock (``_backend.sequence_locks``), i.e. publish as it was
before catch-up order was guaranteed. Rounds alternate so that the machine's drift hits
both alike; the medians of ``--rounds`` rounds are printed. No HTTP: what differs between
the two is inside the publish transaction, and the API's own cost would only blur it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.scale import (
    DEFAULT_PG_ADMIN_URL,
    create_pg_database,
    drop_pg_database,
)
from hookpost.core.crypto import SecretBox, generate_key, parse_key
from hookpost.store import Store, _backend
from hookpost.store.migrate import upgrade

_ORDERED = (_backend.sequence_locks, _backend.settle_sequences)


async def _nothing(_conn: Any, _project: Any) -> None:
    return None


def _no_locks(_projects: Any) -> list[int]:
    return []


def _use(ordered: bool) -> None:
    if ordered:
        _backend.sequence_locks, _backend.settle_sequences = _ORDERED  # type: ignore[assignment]
    else:
        _backend.sequence_locks = _no_locks  # type: ignore[assignment]
        _backend.settle_sequences = _nothing  # type: ignore[assignment]


async def _round(
    store: Store, projects: list[str], publishers: int, events: int, ordered: bool, readers: int
) -> dict[str, float]:
    _use(ordered)
    latencies: list[float] = []
    reads: list[float] = []
    per = events // publishers
    done = asyncio.Event()

    async def reader(n: int) -> None:
        project, after = projects[n % len(projects)], 0
        while not done.is_set():
            t0 = time.perf_counter()
            page = await store.list_events(
                project, limit=200, cursor=None, after=after, order="asc"
            )
            reads.append(time.perf_counter() - t0)
            after = page.data[-1]["seq"] if page.data else after
            await asyncio.sleep(0.01)

    async def publisher(n: int) -> None:
        project = projects[n % len(projects)]
        for i in range(per):
            t0 = time.perf_counter()
            await store.publish(project, "bench.order", f'{{"n":{n},"i":{i}}}')
            latencies.append(time.perf_counter() - t0)

    polling = [asyncio.create_task(reader(n)) for n in range(readers)]
    t0 = time.perf_counter()
    await asyncio.gather(*(publisher(n) for n in range(publishers)))
    elapsed = time.perf_counter() - t0
    done.set()
    await asyncio.gather(*polling)
    latencies.sort()
    reads.sort()
    return {
        "events_per_s": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "read_p50_ms": reads[len(reads) // 2] * 1000 if reads else 0.0,
    }


async def _case(
    url: str, publishers: int, fanout: int, n_projects: int, events: int, rounds: int, readers: int
) -> dict[str, dict[str, float]]:
    store = Store.from_url(url, box=SecretBox(parse_key(generate_key())), sqlite_synchronous="FULL")
    try:
        projects = [(await store.create_project(f"p{i}"))[0]["id"] for i in range(n_projects)]
        for pid in projects:
            for e in range(fanout):
                values = {
                    "url": f"http://127.0.0.1:9/{e}",
                    "event_types": [],
                    "profile": "standard",
                    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                    "headers": {},
                    "enabled": False,
                }
                await store.create_endpoint(pid, values)
        await _round(store, projects, publishers, min(events, 50), True, readers)  # warm up
        runs: dict[str, list[dict[str, float]]] = {"unordered": [], "ordered": []}
        for _ in range(rounds):
            for mode in ("unordered", "ordered"):
                runs[mode].append(
                    await _round(store, projects, publishers, events, mode == "ordered", readers)
                )
        return {
            mode: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
            for mode, rs in runs.items()
        }
    finally:
        _use(True)
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)
    parser.add_argument("--publishers", default="1,12")
    parser.add_argument("--fanout", default="0,40")
    parser.add_argument("--projects", type=int, default=1, help="publishers spread over these")
    parser.add_argument("--events", type=int, default=1200, help="events per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--readers", type=int, default=1, help="catch-up pollers (every 10 ms)")
    args = parser.parse_args()
    print(
        f"{'publishers':>10} {'fan-out':>7} {'mode':>9} {'ev/s':>8} {'p50 ms':>7} {'p99 ms':>7}"
        f" {'read p50 ms':>11}"
    )
    for publishers in [int(x) for x in args.publishers.split(",")]:
        for fanout in [int(x) for x in args.fanout.split(",")]:
            with tempfile.TemporaryDirectory() as tmp:
                if args.database == "postgres":
                    name, url = create_pg_database(args.pg_admin_url, "hookpost_bench_order")
                else:
                    name, url = "", f"sqlite:///{Path(tmp) / 'bench.db'}"
                try:
                    upgrade(url)
                    result = asyncio.run(
                        _case(
                            url,
                            publishers,
                            fanout,
                            args.projects,
                            args.events,
                            args.rounds,
                            args.readers,
                        )
                    )
                finally:
                    if name:
                        drop_pg_database(args.pg_admin_url, name)
            for mode, r in result.items():
                print(
                    f"{publishers:>10} {fanout:>7} {mode:>9} {r['events_per_s']:>8.1f}"
                    f" {r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} {r['read_p50_ms']:>11.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
