"""Healthy-endpoint throughput while some endpoints hang (everything on 127.0.0.1).

    .venv/bin/python benchmarks/bench_isolation.py --events 500 --endpoints 100 --hanging 10

See :mod:`hookpost.bench_isolation` for what is measured.
"""

from __future__ import annotations

import argparse

from hookpost.bench_isolation import main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=500, help="events per phase")
    parser.add_argument("--endpoints", type=int, default=100, help="endpoints per project")
    parser.add_argument("--hanging", type=int, default=10, help="endpoints that hang")
    parser.add_argument(
        "--timeout", type=float, default=5.0, help="timeout_seconds of the hanging endpoints"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="run the healthy/hanging pair this many times"
    )
    parser.add_argument("--output", default=None, help="write the results as JSON here")
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = parse_args()
    main(
        n_events=args.events,
        endpoints=args.endpoints,
        hanging=args.hanging,
        timeout=args.timeout,
        output=args.output,
        repeat=args.repeat,
    )
