"""The retry schedule and its jitter, pinned value by value (``make mutation``)."""

from __future__ import annotations

import random
import statistics

import pytest

from hookpost.domain import DEFAULT_MAX_ATTEMPTS, DEFAULT_SCHEDULE, JITTER, next_delay


class FixedRng(random.Random):
    """Answers ``uniform`` with a chosen end of the range and records the range asked for."""

    def __init__(self, pick: str) -> None:
        super().__init__(0)
        self.pick = pick
        self.asked: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.asked.append((a, b))
        return {"low": a, "high": b, "mid": (a + b) / 2}[self.pick]


def test_default_schedule_is_svix_like() -> None:
    # the first attempt at once; retries 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h after each failure
    assert DEFAULT_SCHEDULE == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    assert DEFAULT_MAX_ATTEMPTS == 8
    assert JITTER == 0.2


@pytest.mark.parametrize(
    ("attempts_made", "base"), [*enumerate(DEFAULT_SCHEDULE), (8, 36000), (50, 36000)]
)
def test_each_step_of_the_default_schedule(attempts_made: int, base: float) -> None:
    rng = FixedRng("mid")
    assert next_delay(attempts_made, rng=rng) == pytest.approx(base * 1.1)
    assert rng.asked == ([] if base == 0 else [(1.0, 1.2)])


@pytest.mark.parametrize(("pick", "factor"), [("low", 1.0), ("high", 1.2), ("mid", 1.1)])
def test_jitter_only_lengthens_by_up_to_twenty_percent(pick: str, factor: float) -> None:
    assert next_delay(2, rng=FixedRng(pick)) == pytest.approx(300 * factor)
    assert isinstance(next_delay(2, rng=FixedRng(pick)), float)


@pytest.mark.parametrize(
    ("schedule", "attempts_made", "base"),
    [
        ((1, 2, 3), 0, 1),
        ((1, 2, 3), 1, 2),
        ((1, 2, 3), 2, 3),
        ((1, 2, 3), 3, 3),  # past the end the last step repeats
        ((1, 2, 3), 99, 3),
        ((7,), 0, 7),
        ((7,), 5, 7),
        ((0.5, 0.25), 0, 0.5),  # steps under a second are jittered too
        ((0.5, 0.25), 4, 0.25),
    ],
)
def test_custom_schedules(schedule: tuple[float, ...], attempts_made: int, base: float) -> None:
    low, high = FixedRng("low"), FixedRng("high")
    assert next_delay(attempts_made, schedule, low) == pytest.approx(base)
    assert next_delay(attempts_made, schedule, high) == pytest.approx(base * 1.2)


@pytest.mark.parametrize("base", [0, 0.0, -1])
def test_zero_or_negative_step_is_immediate_without_jitter(base: float) -> None:
    rng = FixedRng("high")
    assert next_delay(0, (base, 10), rng) == 0.0
    assert rng.asked == []


def test_jitter_really_varies_and_stays_in_bounds() -> None:
    rng = random.Random(12345)
    delays = [next_delay(1, rng=rng) for _ in range(2000)]
    assert min(delays) >= 5.0 and max(delays) <= 6.0  # never sooner than the schedule
    assert min(delays) < 5.05 and max(delays) > 5.95  # uses the whole 0..+20%
    assert statistics.mean(delays) == pytest.approx(5.5, rel=0.02)
    assert len(set(delays)) > 1900


def test_module_random_is_used_without_an_rng(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(random, "uniform", lambda a, b: b)
    assert next_delay(1) == pytest.approx(6.0)
