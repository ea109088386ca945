"""A claimed endpoint's signing secrets and health, as one attempt reads them."""

from __future__ import annotations

import dataclasses

import pytest

from hookpost.domain import UnreadableSecret
from tests.helpers.claims import CLAIMED_ENDPOINT as BASE

# (rotated-out secrets as (secret, expires_at), now, the secrets that sign)
SECRETS = [
    pytest.param((), 100.0, ["whsec_now"], id="current-only"),
    pytest.param((("old", 101.0),), 100.0, ["whsec_now", "old"], id="old-in-grace"),
    pytest.param((("old", 100.0),), 100.0, ["whsec_now"], id="old-expires-now"),
    pytest.param((("old", 99.0),), 100.0, ["whsec_now"], id="old-expired"),
    pytest.param(
        (("a", 50.0), ("b", 150.0), ("c", 200.0)), 100.0, ["whsec_now", "b", "c"], id="mixed"
    ),
]


@pytest.mark.parametrize(("old", "now", "expected"), SECRETS)
def test_live_secrets_current_first_then_those_in_grace(
    old: tuple[tuple[str, float], ...], now: float, expected: list[str]
) -> None:
    assert dataclasses.replace(BASE, old_secrets=old).live_secrets(now) == expected


def test_an_unreadable_secret_signs_nothing() -> None:
    unreadable = dataclasses.replace(BASE, secret=None, old_secrets=(("old", 1e12),))
    with pytest.raises(UnreadableSecret, match="cannot be decrypted"):
        unreadable.live_secrets(0.0)


# (consecutive failures, circuit open until, failing before this attempt?)
HEALTH = [
    pytest.param(0, None, False, id="healthy"),
    pytest.param(1, None, True, id="one-failure"),
    pytest.param(0, 0.0, True, id="circuit-set-at-epoch"),
    pytest.param(0, 500.0, True, id="circuit-set"),
]


@pytest.mark.parametrize(("failures", "open_until", "failing"), HEALTH)
def test_failing_is_any_failure_or_any_circuit(
    failures: int, open_until: float | None, failing: bool
) -> None:
    ep = dataclasses.replace(BASE, consecutive_failures=failures, circuit_open_until=open_until)
    assert ep.failing is failing


def test_claimed_values_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        BASE.secret = "changed"  # type: ignore[misc]
