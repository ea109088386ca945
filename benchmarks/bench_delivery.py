"""Benchmark hookpost's core pipeline on this machine (everything on 127.0.0.1).

    .venv/bin/python benchmarks/bench_delivery.py --events 5000 --endpoints 1,10 --rate 500

Same as ``hookpost bench``; see :mod:`hookpost.bench` for what is measured.
"""

from __future__ import annotations

import argparse

from hookpost.bench import main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=5000, help="events per fan-out scenario")
    parser.add_argument(
        "--endpoints", default="1,10", help="comma-separated fan-outs, one scenario each"
    )
    parser.add_argument("--rate", type=int, default=500, help="events/s for the latency run")
    parser.add_argument("--output", default=None, help="write the results as JSON here")
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = parse_args()
    main(
        n_events=args.events,
        fanouts=[int(x) for x in args.endpoints.split(",") if x.strip()],
        rate=args.rate,
        output=args.output,
    )
