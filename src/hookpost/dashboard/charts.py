"""Chart geometry for the server-rendered SVG charts (no charting script, no CDN).

Pure functions from aggregates the store computes (bounded to the last hour)
to coordinates the ``_charts.html`` template draws. Keeping the arithmetic
here, away from markup, is what makes it testable: the tests check the bars
and percentiles, the browser test checks that the SVG is on the page.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

#: Drawing areas in SVG user units (each SVG scales to its box): the per-minute
#: chart spans the page; the bar charts share a row, so they are narrower and
#: their labels come out larger.
WIDTH = 960
HEIGHT = 160
BAR_WIDTH = 360
BAR_ROW = 40
PERCENTILES = (50, 95, 99)


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 5 x 10^k that is >= value (axis maximum); 1 for nothing."""
    if value <= 1:
        return 1.0
    exp = math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        candidate = step * 10.0**exp
        if candidate >= value:
            return candidate
    return 10.0 ** (exp + 1)  # pragma: no cover - the loop always returns


@dataclass(frozen=True, slots=True)
class MinuteBar:
    minute: str  # "14:05" (UTC)
    ok: int
    failed: int
    x: float
    width: float
    ok_y: float
    ok_height: float
    failed_y: float
    failed_height: float


@dataclass(frozen=True, slots=True)
class MinuteChart:
    bars: list[MinuteBar]
    axis_max: float
    ok: int
    failed: int
    #: (x, label, text-anchor) of a few minutes along the bottom.
    ticks: list[tuple[float, str, str]]
    width: int = WIDTH
    height: int = HEIGHT


def minute_chart(
    counts: Mapping[int, tuple[int, int]], last_minute: int, minutes: int = 60
) -> MinuteChart:
    """Stacked bars (successes below, failures above) for each of the last ``minutes``.

    ``counts`` maps an absolute minute (``floor(epoch / 60)``) to ``(ok, failed)``
    attempts; ``last_minute`` is the current minute, the right-most bar.
    """
    first = last_minute - minutes + 1
    per = [counts.get(first + i, (0, 0)) for i in range(minutes)]
    axis_max = nice_ceiling(max((ok + bad for ok, bad in per), default=0))
    slot = WIDTH / minutes
    bars: list[MinuteBar] = []
    ticks: list[tuple[float, str, str]] = []
    for i, (ok, bad) in enumerate(per):
        label = datetime.fromtimestamp((first + i) * 60, UTC).strftime("%H:%M")
        ok_h = HEIGHT * ok / axis_max
        bad_h = HEIGHT * bad / axis_max
        x = round(i * slot + slot * 0.1, 2)
        bars.append(
            MinuteBar(
                minute=label,
                ok=ok,
                failed=bad,
                x=x,
                width=round(slot * 0.8, 2),
                ok_y=round(HEIGHT - ok_h, 2),
                ok_height=round(ok_h, 2),
                failed_y=round(HEIGHT - ok_h - bad_h, 2),
                failed_height=round(bad_h, 2),
            )
        )
        if i == 0:
            ticks.append((0.0, label, "start"))
        elif i == minutes - 1:
            ticks.append((float(WIDTH), label, "end"))
        elif i % 15 == 0:
            ticks.append((round(i * slot + slot / 2, 2), label, "middle"))
    return MinuteChart(
        bars=bars,
        axis_max=axis_max,
        ok=sum(ok for ok, _ in per),
        failed=sum(bad for _, bad in per),
        ticks=ticks,
    )


def percentile(ordered: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of an ascending sequence (no interpolation: a real value)."""
    if not ordered:
        raise ValueError("no values")
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return float(ordered[rank - 1])


@dataclass(frozen=True, slots=True)
class LatencyBar:
    label: str  # "p95"
    ms: float
    y: float
    width: float


@dataclass(frozen=True, slots=True)
class LatencyChart:
    bars: list[LatencyBar]
    axis_max: float
    sample: int
    width: int = BAR_WIDTH
    height: int = BAR_ROW * len(PERCENTILES)


def latency_chart(durations_ms: Sequence[float]) -> LatencyChart:
    """Horizontal bars for p50/p95/p99 of the attempts' durations (empty: no bars)."""
    ordered = sorted(durations_ms)
    if not ordered:
        return LatencyChart([], 1.0, 0)
    values = [(f"p{p}", percentile(ordered, p)) for p in PERCENTILES]
    axis_max = nice_ceiling(max(v for _, v in values))
    bars = [
        LatencyBar(label, ms, i * BAR_ROW, round(BAR_WIDTH * ms / axis_max, 2))
        for i, (label, ms) in enumerate(values)
    ]
    return LatencyChart(bars, axis_max, len(ordered))


@dataclass(frozen=True, slots=True)
class RateBar:
    endpoint_id: str
    label: str
    total: int
    ok: int
    rate: float  # 0..1
    width: float


def success_bars(rows: Sequence[tuple[str, int, int]], labels: Mapping[str, str]) -> list[RateBar]:
    """Per-endpoint share of successful attempts, worst first (where to look first)."""
    bars = [
        RateBar(
            endpoint_id=endpoint_id,
            label=labels.get(endpoint_id, endpoint_id),
            total=total,
            ok=ok,
            rate=ok / total,
            width=round(BAR_WIDTH * ok / total, 2),
        )
        for endpoint_id, total, ok in rows
        if total > 0
    ]
    return sorted(bars, key=lambda b: (b.rate, -b.total, b.endpoint_id))
