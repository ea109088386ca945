"""Chart geometry for the server-rendered SVG charts (no charting script, no CDN).

Pure functions from aggregates the store computes (bounded to the last hour)
to coordinates the ``_charts.html`` template draws. Keeping the arithmetic
here, away from markup, is what makes it testable: the tests check the bars
and percentiles, the browser test checks that the SVG is on the page.

The endpoint page's chart (:func:`series_chart`) covers a chosen range (last
hour, day or week) in fixed buckets: success rate as stacked bars and the
mean latency as a line that breaks where a bucket had no attempts -- a gap
says "nothing sent", where a drop to 0 ms would say "instant".
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


#: The endpoint page's time ranges: name -> (seconds per bucket, buckets, label).
RANGES: dict[str, tuple[int, int, str]] = {
    "1h": (60, 60, "last hour"),
    "24h": (3600, 24, "last 24 hours"),
    "7d": (6 * 3600, 28, "last 7 days"),
}
#: The endpoint page's two charts share a row: narrower, so their labels come out larger.
SERIES_WIDTH = 480
SERIES_HEIGHT = 120


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    start: str  # "2025-01-31 14:00" (UTC), the bucket's first moment
    ok: int
    failed: int
    rate: float | None  # share of attempts that succeeded; None: no attempts
    mean_ms: float | None
    x: float  # left edge of the bucket's bar
    width: float
    rate_y: float
    rate_height: float
    #: Centre of the bucket and height of its mean latency (None: no attempts).
    cx: float
    ms_y: float | None


@dataclass(frozen=True, slots=True)
class SeriesChart:
    points: list[SeriesPoint]
    #: Polylines of the mean latency: one per run of buckets that had attempts.
    lines: list[str]
    ms_axis_max: float
    ok: int
    failed: int
    ticks: list[tuple[float, str, str]]
    width: int = SERIES_WIDTH
    height: int = SERIES_HEIGHT


def series_chart(
    counts: Mapping[int, tuple[int, int, float]], last_bucket: int, bucket_seconds: int, n: int
) -> SeriesChart:
    """One endpoint's success rate (bars) and mean latency (a line) per time bucket.

    ``counts`` maps ``floor(epoch / bucket_seconds)`` to ``(ok, failed, mean ms)``;
    ``last_bucket`` is the current one, the right-most. A bucket without
    attempts has no bar and breaks the latency line (no attempts is not 0 ms).
    """
    first = last_bucket - n + 1
    slot = SERIES_WIDTH / n
    fmt = (
        "%H:%M"
        if bucket_seconds < 3600
        else ("%d %b %H:%M" if n * bucket_seconds <= 86400 * 2 else "%d %b")
    )
    per = [(first + i, counts.get(first + i)) for i in range(n)]
    ms_axis_max = nice_ceiling(max((c[2] for _, c in per if c and c[0] + c[1]), default=0))
    points: list[SeriesPoint] = []
    lines: list[str] = []
    run: list[str] = []
    ticks: list[tuple[float, str, str]] = []
    for i, (bucket, c) in enumerate(per):
        ok, bad, mean = c if c else (0, 0, 0.0)
        total = ok + bad
        rate = ok / total if total else None
        height = round(SERIES_HEIGHT * (rate or 0), 2)
        cx = round(i * slot + slot / 2, 2)
        ms_y = round(SERIES_HEIGHT - SERIES_HEIGHT * mean / ms_axis_max, 2) if total else None
        label = datetime.fromtimestamp(bucket * bucket_seconds, UTC).strftime(fmt)
        points.append(
            SeriesPoint(
                start=datetime.fromtimestamp(bucket * bucket_seconds, UTC).strftime(
                    "%Y-%m-%d %H:%M"
                ),
                ok=ok,
                failed=bad,
                rate=rate,
                mean_ms=mean if total else None,
                x=round(i * slot + slot * 0.1, 2),
                width=round(slot * 0.8, 2),
                rate_y=round(SERIES_HEIGHT - height, 2),
                rate_height=height,
                cx=cx,
                ms_y=ms_y,
            )
        )
        if ms_y is None:
            if run:
                lines.append(" ".join(run))
            run = []
        else:
            run.append(f"{cx},{ms_y}")
        if i == 0:
            ticks.append((0.0, label, "start"))
        elif i == n - 1:
            ticks.append((float(SERIES_WIDTH), label, "end"))
        elif i == n // 2:
            ticks.append((cx, label, "middle"))
    if run:
        lines.append(" ".join(run))
    return SeriesChart(
        points=points,
        lines=lines,
        ms_axis_max=ms_axis_max,
        ok=sum(p.ok for p in points),
        failed=sum(p.failed for p in points),
        ticks=ticks,
    )
