"""The receiver's ``Retry-After`` against the schedule, pinned value by value (``make mutation``).

The rule: the wait is the larger of the scheduled step (jitter, and twice the
step for 429/502/503/504) and ``Retry-After`` clamped to 1 s .. 1 h. A
``Retry-After`` never shortens the schedule; garbage is ignored.
"""

from __future__ import annotations

import random
import time
from email.utils import formatdate

import pytest

from hookpost.domain import (
    OVERLOADED,
    RETRY_AFTER_MAX,
    RETRY_AFTER_MIN,
    parse_retry_after,
    retry_delay,
)

NOW = 1_800_000_000.0


class Edge(random.Random):
    """An rng that always picks one end of the jitter range."""

    def __init__(self, high: bool) -> None:
        super().__init__(0)
        self.high = high

    def uniform(self, a: float, b: float) -> float:
        return b if self.high else a


def test_constants() -> None:
    assert frozenset({429, 502, 503, 504}) == OVERLOADED
    assert (RETRY_AFTER_MIN, RETRY_AFTER_MAX) == (1.0, 3600.0)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, None),
        ("", None),
        ("0", 0.0),
        ("1", 1.0),
        ("120", 120.0),
        ("  3  ", 3.0),
        ("1.5", 1.5),
        ("007", 7.0),
        ("1.", None),
        (".5", None),
        ("-5", None),
        ("+5", None),
        ("3x", None),
        ("1e3", None),
        ("inf", None),
        ("nan", None),
        ("9" * 400, None),  # a float that overflows to infinity
        ("soon", None),
        ("Mon, 32 Jan 2026 00:00:00 GMT", None),
        ("Mon, 01 Jan 99999999999999999999 00:00:00 GMT", None),  # OverflowError
        ("Mon, 01 Jan 2026 00:00:00 +9999999999999999999999", None),
        (formatdate(NOW + 120, usegmt=True), 120.0),
        (formatdate(NOW - 30, usegmt=True), -30.0),  # the caller clamps it
        (formatdate(NOW + 7, usegmt=False), 7.0),  # a numeric zone
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    got = parse_retry_after(value, NOW)
    if seconds is None:
        assert got is None
    else:
        assert got == pytest.approx(seconds)


#: (status, Retry-After or None, endpoint schedule or None, attempts made, lo, hi)
#: lo/hi: the wait with the jitter at its low and its high end.
DELAYS: list[tuple[int | None, str | None, list[float] | None, int, float, float]] = [
    (503, "1", None, 1, 10, 12),  # the reported case: twice the 5 s step
    (429, "1", None, 1, 10, 12),
    (502, "1", None, 1, 10, 12),
    (504, "0", None, 1, 10, 12),
    (500, "1", None, 1, 5, 6),  # not an overload: the plain step
    (501, None, None, 1, 5, 6),
    (505, None, None, 1, 5, 6),
    (428, None, None, 1, 5, 6),
    (430, None, None, 1, 5, 6),
    (None, "1", None, 1, 5, 6),  # no answer at all (timeout, reset)
    (503, None, None, 1, 10, 12),
    (503, "1", None, 2, 600, 720),  # later steps too
    (503, "1", None, 7, 72000, 86400),
    (503, "1", None, 30, 72000, 86400),  # past the end the last step repeats
    (503, formatdate(NOW + 2, usegmt=True), None, 1, 10, 12),  # an HTTP date
    (503, formatdate(NOW - 3600, usegmt=True), None, 1, 10, 12),  # in the past
    (503, "  3  ", None, 1, 10, 12),
    (503, "1.5", None, 1, 10, 12),
    (503, "soon", None, 1, 10, 12),  # garbage is ignored
    (503, "-5", None, 1, 10, 12),
    (503, "120", None, 1, 120, 120),  # a longer Retry-After wins
    (503, "11", None, 1, 11, 12),  # ... over the low end of the jitter only
    (503, formatdate(NOW + 300, usegmt=True), None, 1, 300, 300),
    (429, "3599", None, 1, 3599, 3599),
    (429, "3600", None, 1, 3600, 3600),
    (429, "3601", None, 1, 3600, 3600),  # ... clamped to an hour
    (429, "999999", None, 1, 3600, 3600),
    (503, "1", None, 4, 14400, 17280),  # a step longer than the clamp stays
    (500, "1", [60], 1, 60, 72),  # the endpoint's own schedule
    (503, "1", [60], 1, 120, 144),
    (500, "100", [60], 1, 100, 100),
    (500, None, [60, 90], 2, 90, 108),
    (500, None, [60, 90], 5, 90, 108),
    (500, None, [], 1, 5, 6),  # an empty schedule is the default one
    (503, "1", [0.3], 1, 1, 1),  # Retry-After's 1 s floor still lengthens
    (503, "0.5", [0.3], 1, 1, 1),
    (500, None, [0.3], 1, 0.3, 0.36),
    (503, None, [0.3], 1, 0.6, 0.72),
    (503, "1", [0.3, 90], 2, 180, 216),
    (500, "1", None, 0, 1, 1),  # the immediate first step
    (500, None, None, 0, 0, 0),
    (500, None, [60], 0, 0, 0),  # a custom schedule starts immediately too
]


@pytest.mark.parametrize(("status", "after", "schedule", "made", "lo", "hi"), DELAYS)
def test_retry_delay_never_below_the_schedule(
    status: int | None,
    after: str | None,
    schedule: list[float] | None,
    made: int,
    lo: float,
    hi: float,
) -> None:
    headers = {} if after is None else {"retry-after": after}
    for high, want in ((False, lo), (True, hi)):
        got = retry_delay(made, schedule, status, headers, now=NOW, rng=Edge(high))
        assert got == pytest.approx(want, abs=0.01), (high, got)


def test_header_name_is_lower_case_retry_after() -> None:
    args = (1, None, 500)
    assert retry_delay(*args, {"retry-after": "100"}, now=NOW, rng=Edge(False)) == 100
    assert retry_delay(*args, {"x-retry-after": "100"}, now=NOW, rng=Edge(False)) == 5


def test_an_http_date_is_read_against_now() -> None:
    headers = {"retry-after": formatdate(NOW + 600, usegmt=True)}
    assert retry_delay(1, None, 503, headers, now=NOW, rng=Edge(False)) == pytest.approx(600)
    later = retry_delay(1, None, 503, headers, now=NOW + 300, rng=Edge(False))
    assert later == pytest.approx(300)


def test_without_now_the_system_time_is_used() -> None:
    headers = {"retry-after": formatdate(time.time() + 600, usegmt=True)}
    assert 598 <= retry_delay(1, None, 503, headers, rng=Edge(False)) <= 601


def test_module_random_is_used_without_an_rng(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(random, "uniform", lambda a, b: b)
    assert retry_delay(1, None, 503, {}) == pytest.approx(12)
    assert retry_delay(1, [50], 500, {"retry-after": "1"}) == pytest.approx(60)
