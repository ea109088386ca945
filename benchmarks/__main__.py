"""``python -m benchmarks <scenario> [options]``: one entry point for every scenario."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from benchmarks.scale import DEFAULT_PG_ADMIN_URL


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def _core(args: argparse.Namespace) -> None:
    from benchmarks.core import main

    main(n_events=args.events, fanouts=_ints(args.endpoints), rate=args.rate, output=args.output)


def _isolation(args: argparse.Namespace) -> None:
    from benchmarks.isolation import main

    main(
        n_events=args.events,
        endpoints=args.endpoints,
        hanging=args.hanging,
        timeout=args.timeout,
        output=args.output,
        repeat=args.repeat,
    )


def _scale(args: argparse.Namespace) -> None:
    from benchmarks.scale import main

    main(
        database=args.database,
        workers=_ints(args.workers),
        n_events=args.events,
        fanout=args.endpoints,
        rates=_ints(args.rates),
        latency_workers=args.latency_workers,
        output=args.output,
        profile_dir=args.profile_dir,
        pg_admin_url=args.pg_admin_url,
    )


def _queries(args: argparse.Namespace) -> None:
    from benchmarks.queries import main

    main(
        events=args.events,
        endpoints=args.endpoints,
        fanout=args.fanout,
        runs=args.runs,
        output=args.output,
        pg_admin_url=args.pg_admin_url,
        keep=args.keep,
    )


def _destinations(args: argparse.Namespace) -> None:
    from benchmarks.destinations import main

    main(n_events=args.events, only=[k for k in args.only.split(",") if k], output=args.output)


def _hotpath(args: argparse.Namespace) -> None:
    from benchmarks.hotpath import Sizes, main

    sizes = Sizes(
        events=args.events,
        e2e_events=args.e2e_events,
        rate=args.rate,
        sequential=args.sequential,
        batch_events=args.batch_events,
        batch_size=args.batch_size,
        postgres=not args.no_postgres,
        baseline=args.baseline,
        parts=tuple(k for k in args.parts.split(",") if k),
    )
    main(sizes, args.output, pg_admin_url=args.pg_admin_url)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    sub = top.add_subparsers(dest="scenario", required=True)

    def scenario(name: str, run: Callable[[argparse.Namespace], None], what: str) -> Any:
        p = sub.add_parser(name, help=what, description=what)
        p.set_defaults(run=run)
        p.add_argument("--output", default=None, help="write the results as JSON here")
        return p

    p = scenario("core", _core, "publish and delivery throughput and latency, one serve")
    p.add_argument("--events", type=int, default=5000, help="events per fan-out scenario")
    p.add_argument("--endpoints", default="1,10", help="comma-separated fan-outs, one each")
    p.add_argument("--rate", type=int, default=500, help="events/s for the latency run")

    p = scenario("hotpath", _hotpath, "issue 15: every hot-path target against its reference")
    p.add_argument("--events", type=int, default=3000, help="events per publish burst")
    p.add_argument("--e2e-events", type=int, default=2000, help="events per end-to-end run")
    p.add_argument("--rate", type=int, default=500, help="events/s for the latency run")
    p.add_argument("--sequential", type=int, default=300, help="publishes one at a time")
    p.add_argument("--batch-events", type=int, default=20_000, help="events sent in batches")
    p.add_argument("--batch-size", type=int, default=500, help="events per batch request")
    p.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL part")
    p.add_argument(
        "--parts",
        default="publish,e2e,pg",
        help="which parts run: publish (SQLite --no-workers, R_route), e2e (SQLite serve, "
        "R_bare), pg; the targets of a part left out are not reported",
    )
    p.add_argument(
        "--baseline",
        default=None,
        help="another checkout's src folder: the publish part and the e2e part's latency "
        "run on both, in turns",
    )
    p.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)

    p = scenario("isolation", _isolation, "healthy throughput while some endpoints hang")
    p.add_argument("--events", type=int, default=500, help="events per phase")
    p.add_argument("--endpoints", type=int, default=100, help="endpoints per project")
    p.add_argument("--hanging", type=int, default=10, help="endpoints that hang")
    p.add_argument("--timeout", type=float, default=5.0, help="timeout of the hanging endpoints")
    p.add_argument("--repeat", type=int, default=1, help="healthy/hanging pairs to run")

    p = scenario("scale", _scale, "API + worker processes on PostgreSQL or SQLite")
    p.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    p.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)
    p.add_argument("--workers", default="1,2,4", help="worker counts, one drain each")
    p.add_argument("--events", type=int, default=5000, help="events per drain")
    p.add_argument("--endpoints", type=int, default=10, help="fan-out of each event")
    p.add_argument("--rates", default="50,100", help="latency runs, events/s each")
    p.add_argument("--latency-workers", type=int, default=1)
    p.add_argument("--profile-dir", default=None, help="py-spy the API and a worker")

    p = scenario("destinations", _destinations, "deliveries/s to each broker beside HTTP")
    p.add_argument("--events", type=int, default=3000, help="events per destination")
    p.add_argument("--only", default="", help="comma-separated: http,amqp,redis,nats,mqtt,sqs")

    p = scenario("queries", _queries, "dashboard list queries on a large PostgreSQL database")
    p.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--endpoints", type=int, default=100)
    p.add_argument("--fanout", type=int, default=2, help="deliveries per event")
    p.add_argument("--runs", type=int, default=200, help="timed runs of each query")
    p.add_argument("--keep", action="store_true", help="do not drop the database")
    return top


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main(sys.argv[1:])
