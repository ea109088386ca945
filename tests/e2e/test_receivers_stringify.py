"""Do hookpost's bodies survive ``JSON.stringify(JSON.parse(body))`` byte for byte?

The Just Wallet guide's receivers (and Gluwa's "minified JSON" formula, when
written in JavaScript) hash the re-serialized body, not the raw one, so any
difference between hookpost's serializer and JavaScript's breaks verification.
Runs every profile's body through real Node.js.
"""

from __future__ import annotations

import subprocess
import time
from typing import Any

import pytest

from hookpost.profiles import PROFILE_NAMES, EventData, get_profile
from tests.receivers.node import HERE, node_binary

PLAIN = {
    "id": "608c53fb-c4ec-4d33-9daf-141428c46bdd",
    "funded": False,
    "errors": None,
    "quote": {"USD": {"amount": 1600, "charge": 17, "total": 1617}},
    "rates": [0.15, 20.15, -3.5, 1e-3, 123456.789],
    "text": 'Zoë ✓ "quoted" \\ back\nslash\ttab \u2028 😀 </script>',
    "control": "\x00\x1f\x7f",
    "nested": {"a": [[], {}, [{"b": None}]]},
    "max_safe": 2**53 - 1,
}


def stringify(bodies: list[bytes]) -> list[bytes]:
    out = subprocess.run(
        [node_binary(), str(HERE / "stringify.js")],
        input=b"\n".join(bodies) + b"\n",
        capture_output=True,
        check=True,
        timeout=30,
    )
    return out.stdout.splitlines()


def bodies_for(payload: Any) -> list[bytes]:
    event = EventData("evt_js", "quote_creation.success", time.time(), payload, "prj_js")
    return [get_profile(name).body(event) for name in PROFILE_NAMES]


def test_bodies_equal_their_javascript_reserialization() -> None:
    bodies = bodies_for(PLAIN)
    assert stringify(bodies) == bodies


@pytest.mark.parametrize(
    "payload",
    [
        {"amount": 1.0},
        {"tiny": 0.00001, "tinier": 1.5e-7, "neg": -0.0},
        {"big": 1e16, "huge": 1e21, "max": 1.7976931348623157e308, "min": 5e-324},
        {"b": 1, "10": 2, "2": 3, "01": 4, "4294967295": 5},
    ],
    ids=["integral-float", "small-float", "large-float", "integer-like-keys"],
)
def test_numbers_and_index_keys_like_javascript(payload: Any) -> None:
    bodies = bodies_for(payload)
    assert stringify(bodies) == bodies


def test_thousands_of_floats_print_like_javascript() -> None:
    import random
    import struct

    from hookpost.core import jsonenc

    rng = random.Random(1234)
    floats = [rng.uniform(-1e6, 1e6) for _ in range(500)]
    floats += [10.0 ** rng.randint(-30, 30) * rng.random() for _ in range(500)]
    floats += [
        struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0] for _ in range(1000)
    ]
    floats = [f for f in floats if f == f and abs(f) != float("inf")]
    bodies = [jsonenc.dumps({"x": f}) for f in floats]
    assert stringify(bodies) == bodies
