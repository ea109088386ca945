"""What an answer means and where the delivery goes next, row by row (``domain/_outcome.py``).

Each row is one answer (status, headers, transport error), the endpoint's
success rule and the profile's, the attempt's number and limit; the columns
are the verdict (success, abort, 410) and the decision (next state, and for
``pending`` the exact wait with the jitter pinned to its low end).
"""

from __future__ import annotations

import random
from email.utils import formatdate
from typing import Any

import pytest

from hookpost.domain import (
    DEFAULT_MAX_ATTEMPTS,
    Answer,
    DeliveryStatus,
    attempt_limit,
    classify,
    decide,
    is_success,
)

NOW = 1_800_000_000.0
P, F, H, S = (
    DeliveryStatus.PENDING,
    DeliveryStatus.FAILED,
    DeliveryStatus.HELD,
    DeliveryStatus.SUCCEEDED,
)


class Low(random.Random):
    """No jitter: the scheduled step exactly."""

    def uniform(self, a: float, b: float) -> float:
        return a


def two_xx(code: int) -> bool:
    return 200 <= code < 300


def only_200(code: int) -> bool:
    return code == 200


ABORT = {"Webhook-Delivery": " Abort "}

# (answer, success_rule, profile rule, number, limit,
#  success, aborted, gone, error, status, wait in seconds or None)
ROWS: list[tuple[Any, ...]] = [
    # Success follows the endpoint's rule, else the profile's.
    (Answer(200, {}), None, two_xx, 1, 8, True, False, False, None, S, None),
    (Answer(204, {}), None, two_xx, 1, 8, True, False, False, None, S, None),
    (Answer(204, {}), None, only_200, 1, 8, False, False, False, "unsuccessful status 204", P, 5),
    (Answer(204, {}), "2xx", only_200, 1, 8, True, False, False, None, S, None),
    (Answer(204, {}), "200", two_xx, 1, 8, False, False, False, "unsuccessful status 204", P, 5),
    (Answer(200, {}), "200", two_xx, 1, 8, True, False, False, None, S, None),
    (Answer(299, {}), "2xx", None, 1, 8, False, False, False, "unsuccessful status 299", P, 5),
    (Answer(300, {}), "2xx", two_xx, 1, 8, False, False, False, "unsuccessful status 300", P, 5),
    (Answer(199, {}), None, two_xx, 1, 8, False, False, False, "unsuccessful status 199", P, 5),
    # The last attempt fails for good; the one before it is still retried.
    (Answer(500, {}), None, two_xx, 8, 8, False, False, False, "unsuccessful status 500", F, None),
    (Answer(500, {}), None, two_xx, 9, 8, False, False, False, "unsuccessful status 500", F, None),
    (Answer(500, {}), None, two_xx, 7, 8, False, False, False, "unsuccessful status 500", P, 36000),
    (Answer(500, {}), None, two_xx, 3, 8, False, False, False, "unsuccessful status 500", P, 1800),
    # Overload answers wait twice the step.
    (Answer(429, {}), None, two_xx, 2, 8, False, False, False, "unsuccessful status 429", P, 600),
    (Answer(502, {}), None, two_xx, 2, 8, False, False, False, "unsuccessful status 502", P, 600),
    (Answer(503, {}), None, two_xx, 2, 8, False, False, False, "unsuccessful status 503", P, 600),
    (Answer(504, {}), None, two_xx, 2, 8, False, False, False, "unsuccessful status 504", P, 600),
    (Answer(500, {}), None, two_xx, 2, 8, False, False, False, "unsuccessful status 500", P, 300),
    # Retry-After lengthens, never shortens; any case of the header name.
    (
        Answer(503, {"Retry-After": "2000"}),
        *(None, two_xx, 2, 8),
        *(False, False, False, "unsuccessful status 503", P, 2000),
    ),
    (
        Answer(503, {"RETRY-AFTER": "10"}),
        *(None, two_xx, 2, 8),
        *(False, False, False, "unsuccessful status 503", P, 600),
    ),
    # 410 disables the endpoint and holds the delivery, unless no attempts are left.
    (Answer(410, {}), None, two_xx, 1, 8, False, False, True, "unsuccessful status 410", H, None),
    (Answer(410, {}), None, two_xx, 8, 8, False, False, True, "unsuccessful status 410", F, None),
    # The receiver's abort stops a failure for good, and means nothing on a success.
    (
        Answer(500, ABORT),
        *(None, two_xx, 1, 8),
        *(
            False,
            True,
            False,
            "unsuccessful status 500; receiver asked to stop retrying (webhook-delivery: abort)",
            F,
            None,
        ),
    ),
    (
        Answer(410, {"webhook-delivery": "abort"}),
        *(None, two_xx, 1, 8),
        *(
            False,
            True,
            True,
            "unsuccessful status 410; receiver asked to stop retrying (webhook-delivery: abort)",
            F,
            None,
        ),
    ),
    (Answer(200, ABORT), None, two_xx, 1, 8, True, False, False, None, S, None),
    (
        Answer(500, {"webhook-delivery": "aborted"}),
        *(None, two_xx, 1, 8),
        *(False, False, False, "unsuccessful status 500", P, 5),
    ),
    # No answer at all: the transport's words, on the schedule.
    (
        Answer(None, {}, "timeout after 30s"),
        *(None, two_xx, 1, 8),
        *(False, False, False, "timeout after 30s", P, 5),
    ),
    (
        Answer(None, {}, "blocked destination"),
        *(None, two_xx, 8, 8),
        *(False, False, False, "blocked destination", F, None),
    ),
    # A message broker answers no status: its confirmation is the success.
    (Answer(None, {}, None, True), None, two_xx, 1, 8, True, False, False, None, S, None),
    (Answer(None, {}, None, True), "200", only_200, 1, 8, True, False, False, None, S, None),
    (
        Answer(None, {}, "broker refused: no route"),
        *(None, two_xx, 1, 8),
        *(False, False, False, "broker refused: no route", P, 5),
    ),
    (
        Answer(None, {}, None, True),
        *(None, None, 1, 8),
        *(False, False, False, "unsuccessful status None", P, 5),
    ),
    # A request that could not be built (no profile) fails like any other attempt.
    (
        Answer(None, {}, "the request could not be built: KeyError: 'x'"),
        *("2xx", None, 1, 8),
        *(False, False, False, "the request could not be built: KeyError: 'x'", P, 5),
    ),
]


@pytest.mark.parametrize(
    (
        "answer",
        "rule",
        "accepts",
        "number",
        "limit",
        "ok",
        "aborted",
        "gone",
        "error",
        "status",
        "wait",
    ),
    ROWS,
)
def test_answer_to_next_state(
    answer: Answer,
    rule: str | None,
    accepts: Any,
    number: int,
    limit: int,
    ok: bool,
    aborted: bool,
    gone: bool,
    error: str | None,
    status: DeliveryStatus,
    wait: float | None,
) -> None:
    verdict = classify(answer, success_rule=rule, profile_accepts=accepts)
    assert (verdict.success, verdict.aborted, verdict.gone, verdict.error) == (
        ok,
        aborted,
        gone,
        error,
    )
    assert verdict.disable_reason == ("receiver answered 410 Gone" if gone else None)
    decision = decide(
        verdict, answer, number=number, limit=limit, schedule=None, now=NOW, rng=Low()
    )
    assert decision.status is status
    assert decision.next_attempt_at == (None if wait is None else NOW + wait)


def test_an_endpoint_schedule_replaces_the_default() -> None:
    answer = Answer(500, {})
    verdict = classify(answer, success_rule=None, profile_accepts=two_xx)
    waits = [
        decide(verdict, answer, number=n, limit=9, schedule=[1, 2, 3], now=NOW, rng=Low())
        for n in range(1, 6)
    ]
    assert [d.next_attempt_at - NOW for d in waits if d.next_attempt_at] == [1, 2, 3, 3, 3]


def test_a_retry_after_date_is_read_against_the_attempts_own_clock() -> None:
    # NOW is years away from the real clock: a date read against time.time() would be
    # clamped to 1 s or 1 h, not the 2 minutes the receiver asked for.
    answer = Answer(503, {"Retry-After": formatdate(NOW + 120, usegmt=True)})
    verdict = classify(answer, success_rule=None, profile_accepts=two_xx)
    d = decide(verdict, answer, number=1, limit=5, schedule=None, now=NOW, rng=Low())
    assert d.next_attempt_at == NOW + 120


def test_jitter_only_lengthens_the_wait() -> None:
    answer = Answer(500, {})
    verdict = classify(answer, success_rule=None, profile_accepts=two_xx)
    rng = random.Random(7)
    for _ in range(200):
        d = decide(verdict, answer, number=2, limit=8, schedule=None, now=NOW, rng=rng)
        assert d.next_attempt_at is not None
        assert 300 <= d.next_attempt_at - NOW <= 360


@pytest.mark.parametrize(
    ("code", "rule", "accepts", "expected"),
    [
        (None, None, two_xx, False),
        (200, None, None, False),
        (200, "200", None, False),
        (201, "2xx", only_200, True),
        (201, "bogus", only_200, False),
        (201, "bogus", two_xx, True),
        # The "2xx" rule at both edges of the range, whatever the profile says.
        (199, "2xx", two_xx, False),
        (200, "2xx", only_200, True),
        (299, "2xx", only_200, True),
        (300, "2xx", two_xx, False),
    ],
)
def test_is_success(code: int | None, rule: str | None, accepts: Any, expected: bool) -> None:
    assert is_success(code, rule, accepts) is expected


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        ((3, 5, 7), 3),
        ((None, 5, 7), 5),
        ((0, None, 7), 7),
        ((None, None, None), DEFAULT_MAX_ATTEMPTS),
        ((), DEFAULT_MAX_ATTEMPTS),
    ],
)
def test_attempt_limit_takes_the_first_set(limits: tuple[int | None, ...], expected: int) -> None:
    assert attempt_limit(*limits) == expected


def test_answer_headers_are_lower_cased() -> None:
    assert dict(Answer(200, {"Retry-After": "1", "X-A": "b"}).headers) == {
        "retry-after": "1",
        "x-a": "b",
    }
