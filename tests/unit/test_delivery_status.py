"""The one list of delivery states, and every place that spells it out agrees with it.

:class:`DeliveryStatus` members are their strings, so the database and the
JSON see exactly what they saw before the enum; the API schema's Literal and
the dashboard's status filter must list the same states in the same order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from hookpost.dashboard import views
from hookpost.domain import DeliveryStatus
from hookpost.web import schemas

WIRE = ["pending", "delivering", "succeeded", "failed", "held"]


@pytest.mark.parametrize(("member", "wire"), list(zip(DeliveryStatus, WIRE, strict=True)))
def test_each_state_is_its_wire_string(member: DeliveryStatus, wire: str) -> None:
    assert member == wire
    assert str(member) == f"{member}" == wire
    assert json.dumps({"status": member}) == json.dumps({"status": wire})
    assert DeliveryStatus(wire) is member


@pytest.mark.parametrize(
    ("where", "spelled"),
    [
        ("api schema", [s.value for s in schemas.DeliveryStatus]),
        ("dashboard filter", views.STATUSES),
    ],
)
def test_every_list_of_states_matches_the_enum(where: str, spelled: Sequence[str]) -> None:
    assert list(spelled) == [s.value for s in DeliveryStatus], where
