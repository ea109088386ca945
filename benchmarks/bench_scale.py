"""Deliveries/s with 1, 2, 4 ``hookpost worker`` processes on one database (127.0.0.1 only).

    .venv/bin/python benchmarks/bench_scale.py --database postgres --workers 1,2,4 --rates 50,100

See :mod:`hookpost.bench_scale` for what is measured. On PostgreSQL a fresh
database is created on the server ``--pg-admin-url`` points at and dropped at the end.
"""

from __future__ import annotations

import argparse

from hookpost.bench_scale import DEFAULT_PG_ADMIN_URL, main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)
    parser.add_argument(
        "--workers", default="1,2,4", help="worker counts, one drain each ('' for none)"
    )
    parser.add_argument("--events", type=int, default=5000, help="events per drain")
    parser.add_argument("--endpoints", type=int, default=10, help="fan-out of each event")
    parser.add_argument("--rates", default="50,100", help="latency runs, events/s each")
    parser.add_argument("--latency-workers", type=int, default=1)
    parser.add_argument("--profile-dir", default=None, help="py-spy the API and a worker")
    parser.add_argument("--output", default=None, help="write the results as JSON here")
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = parse_args()
    main(
        database=args.database,
        workers=[int(x) for x in args.workers.split(",") if x.strip()],
        n_events=args.events,
        fanout=args.endpoints,
        rates=[int(x) for x in args.rates.split(",") if x.strip()],
        latency_workers=args.latency_workers,
        output=args.output,
        profile_dir=args.profile_dir,
        pg_admin_url=args.pg_admin_url,
    )
