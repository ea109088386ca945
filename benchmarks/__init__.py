"""hookpost's benchmarks: developer tooling, not part of the installed package.

Run from the repository root with the project's venv::

    .venv/bin/python -m benchmarks core --events 5000 --endpoints 1,10 --rate 500
    .venv/bin/python -m benchmarks isolation --events 500 --endpoints 100 --hanging 10
    .venv/bin/python -m benchmarks scale --database postgres --workers 1,2,4
    .venv/bin/python -m benchmarks queries --events 1000000

Every scenario shares :mod:`benchmarks.harness` (a running stack, workloads,
the report table), ``_procs`` (processes), ``_peers`` (the receiver and the bare
sender) and ``_meters`` (CPU, RSS, the machine); figures go to docs/benchmarks.md
with command, commit, machine and date.
"""
