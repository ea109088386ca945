"""The dashboard's list queries on a PostgreSQL database seeded with 1M events / ~3M attempts.

    .venv/bin/python benchmarks/bench_pg_queries.py --events 1000000 --runs 200

See :mod:`hookpost.bench_queries` for what is seeded and measured. A fresh
database is created on the server ``--pg-admin-url`` points at and dropped at
the end (``--keep`` keeps it for a look with psql).
"""

from __future__ import annotations

import argparse

from hookpost.bench_queries import main
from hookpost.bench_scale import DEFAULT_PG_ADMIN_URL


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--endpoints", type=int, default=100)
    parser.add_argument("--fanout", type=int, default=2, help="deliveries per event")
    parser.add_argument("--runs", type=int, default=200, help="timed runs of each query")
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    parser.add_argument("--output", default=None, help="write the results as JSON here")
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = parse_args()
    main(
        events=args.events,
        endpoints=args.endpoints,
        fanout=args.fanout,
        runs=args.runs,
        output=args.output,
        pg_admin_url=args.pg_admin_url,
        keep=args.keep,
    )
