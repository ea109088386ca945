"""No tenant's schema or payload can stall the service (issue 13, item 1).

A catalog schema with ``"pattern": "^(a+)+$"`` and a payload of thirty ``a``
and a ``!`` froze the whole process for seconds: validation ran on the event
loop with Python's backtracking ``re``. Now patterns run on RE2 (linear time)
or are refused when saved, and validation runs off the loop under a deadline.
Each case below publishes its hostile payload while a thread keeps asking the
real server's ``/healthz``; every answer must come within 100 ms.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from hookpost.core import tenant_schema
from hookpost.profiles import EventData
from hookpost.profiles.custom import CustomProfile
from tests.conftest import Hookpost

EVIL = "a" * 30 + "!"

CATASTROPHIC = [
    r"^(a+)+$",
    r"(a*)*$",
    r"^(a|a)*$",
    r"^(a|aa)+$",
    r"(.*a){20}$",
    r"^(\w+\s?)*$",
    r"(x+x+)+y|^(a+)+b",
]


def _in_pattern(p: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return {"properties": {"s": {"type": "string", "pattern": p}}}, {"s": EVIL}


def _in_pattern_properties(p: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return {"patternProperties": {p: {"type": "integer"}}}, {EVIL: "not an integer"}


def _with_additional_properties(p: str) -> tuple[dict[str, Any], dict[str, Any]]:
    schema = {"patternProperties": {p: {}}, "additionalProperties": False}
    return schema, {EVIL: 1}


def _in_property_names(p: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return {"propertyNames": {"pattern": p}}, {EVIL: 1}


def _in_array_items(p: str) -> tuple[dict[str, Any], dict[str, Any]]:
    schema = {"properties": {"xs": {"items": {"pattern": p}, "uniqueItems": True}}}
    return schema, {"xs": [EVIL + str(i) for i in range(50)]}


PLACES = [
    _in_pattern,
    _in_pattern_properties,
    _with_additional_properties,
    _in_property_names,
    _in_array_items,
]


@asynccontextmanager
async def healthz_watch(base_url: str) -> AsyncIterator[list[float]]:
    """Ask /healthz from another thread every 10 ms; yields the answer times (seconds).

    The server runs on this test's event loop, so the waits here are awaits:
    blocking the loop would stall the server being measured.
    """
    times: list[float] = []
    failures: list[BaseException] = []
    ready, stop = threading.Event(), threading.Event()

    def ping() -> None:
        try:
            with httpx.Client(base_url=base_url, timeout=30) as client:
                client.get("/healthz")  # connect once, outside the measurement
                ready.set()
                for _ in range(10_000):
                    if stop.is_set():
                        return
                    t0 = time.perf_counter()
                    r = client.get("/healthz")
                    times.append(time.perf_counter() - t0)
                    assert r.status_code == 200, r.text
                    stop.wait(0.01)
        except BaseException as exc:
            failures.append(exc)
            ready.set()

    thread = threading.Thread(target=ping, name="healthz-watch")
    thread.start()
    try:
        for _ in range(3000):
            if ready.is_set():
                break
            await asyncio.sleep(0.01)
        yield times
        for _ in range(3000):  # a few answers after the work too
            if len(times) >= 5 or failures:
                break
            await asyncio.sleep(0.01)
    finally:
        stop.set()
        for _ in range(6000):
            if not thread.is_alive():
                break
            await asyncio.sleep(0.01)
    assert not failures, failures
    assert times, "/healthz never answered"


def assert_fast(times: list[float]) -> None:
    """Every /healthz answer within 100 ms; one may be up to 500 ms, for a loaded machine
    (one took 262 ms in a full run on a quiet machine, cause not found).

    A stalled server shows as one answer as slow as the stall: a schema's evaluation
    is stopped after ``tenant_schema.MAX_SECONDS`` (1 s), twice this outlier bound.
    """
    slowest = sorted(times)[-2:]
    assert slowest[-1] < tenant_schema.MAX_SECONDS / 2, f"/healthz took {slowest} s"
    assert slowest[0] < 0.1, f"/healthz took {slowest} s"


async def _event_type(hp: Hookpost, pid: str, name: str, schema: Any) -> httpx.Response:
    return await hp.http.post(
        f"/api/v1/projects/{pid}/event-types", json={"name": name, "schema": schema}
    )


async def _publish(hp: Hookpost, pid: str, name: str, payload: Any) -> httpx.Response:
    return await hp.http.post(
        f"/api/v1/projects/{pid}/events", json={"event_type": name, "payload": payload}
    )


@pytest.mark.serial  # /healthz answer times measured
@pytest.mark.parametrize("place", PLACES, ids=[p.__name__.strip("_") for p in PLACES])
@pytest.mark.parametrize("pattern", CATASTROPHIC)
async def test_catastrophic_pattern_is_bounded_and_healthz_stays_fast(
    hookpost_noworkers: Hookpost, place: Any, pattern: str
) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    schema, payload = place(pattern)
    r = await _event_type(hp, pid, "evil.regex", schema)
    assert r.status_code == 201, r.text  # RE2 runs these in linear time
    async with healthz_watch(hp.base_url) as times:
        t0 = time.perf_counter()
        r = await _publish(hp, pid, "evil.regex", payload)
        took = time.perf_counter() - t0
    assert r.status_code in (202, 422), r.text
    assert took < tenant_schema.MAX_SECONDS + 1, took
    assert_fast(times)


UNSUPPORTED = [
    (r"^(a)\1$", r"\1"),
    (r"(?=a)a", "(?="),
    (r"(?!b)a", "(?!"),
    (r"(?<=a)b", "(?<="),
    (r"(?<!a)b", "(?<!"),
    (r"(?<n>a)\k<n>", r"\k"),
    ("(a", "missing )"),
    ("a" * (tenant_schema.MAX_PATTERN_LENGTH + 1), "longer than"),
]


def _save_places(p: str) -> list[tuple[dict[str, Any], str]]:
    return [
        ({"properties": {"s": {"pattern": p}}}, "schema.properties.s.pattern"),
        ({"patternProperties": {p: {}}}, "schema.patternProperties."),
        ({"$defs": {"x": {"propertyNames": {"pattern": p}}}}, "schema.$defs.x.propertyNames"),
        ({"anyOf": [{"items": [{"pattern": p}]}]}, "schema.anyOf.0.items.0.pattern"),
    ]


@pytest.mark.parametrize(("pattern", "construct"), UNSUPPORTED, ids=[u[1] for u in UNSUPPORTED])
async def test_pattern_the_linear_engine_cannot_run_is_refused_when_saved(
    hookpost_noworkers: Hookpost, pattern: str, construct: str
) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    for i, (schema, field) in enumerate(_save_places(pattern)):
        r = await _event_type(hp, pid, f"bad.regex{i}", schema)
        assert r.status_code == 422, r.text
        detail = r.json()["detail"][0]
        assert detail["field"].startswith(field), detail
        assert construct in detail["message"], detail
    listed = await hp.http.get(f"/api/v1/projects/{pid}/event-types")
    assert listed.json()["data"] == []


async def test_unevaluated_properties_with_pattern_properties_is_refused(
    hookpost_noworkers: Hookpost,
) -> None:
    """The library matches patternProperties with `re` inside unevaluatedProperties."""
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    schema = {
        "allOf": [{"patternProperties": {"^(a+)+$": {}}}],
        "unevaluatedProperties": False,
    }
    r = await _event_type(hp, pid, "a.b", schema)
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "schema.unevaluatedProperties"
    fine = {"properties": {"a": {}}, "unevaluatedProperties": False}
    assert (await _event_type(hp, pid, "a.c", fine)).status_code == 201
    assert (await _publish(hp, pid, "a.c", {"a": 1})).status_code == 202
    r = await _publish(hp, pid, "a.c", {"b": 1})
    assert r.status_code == 422 and "Unevaluated" in r.json()["message"]


def _anyof_chain(depth: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two alternatives that both recurse: 2**depth steps, then both fail at the leaf."""
    node = {"type": "array", "items": {"$ref": "#/$defs/n"}}
    schema = {"properties": {"a": {"$ref": "#/$defs/n"}}, "$defs": {"n": {"anyOf": [node, node]}}}
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return schema, {"a": value}


def _unique_objects(n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    return {"properties": {"xs": {"uniqueItems": True}}}, {"xs": [{"i": i} for i in range(n)]}


SLOW = [("anyOf recursion", _anyof_chain(40)), ("uniqueItems 5000 objects", _unique_objects(5000))]


@pytest.mark.serial  # /healthz answer times measured
@pytest.mark.parametrize(("name", "case"), SLOW, ids=[s[0] for s in SLOW])
async def test_slow_schema_is_cut_off_with_a_422_and_healthz_stays_fast(
    hookpost_noworkers: Hookpost, name: str, case: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    schema, payload = case
    assert (await _event_type(hp, pid, "slow.schema", schema)).status_code == 201
    async with healthz_watch(hp.base_url) as times:
        t0 = time.perf_counter()
        r = await _publish(hp, pid, "slow.schema", payload)
        took = time.perf_counter() - t0
    assert took < tenant_schema.MAX_SECONDS + 1, took
    assert_fast(times)
    if r.status_code == 422:
        assert r.json()["detail"][0]["field"] == "payload", r.text
        assert "took longer than" in r.json()["message"]
    else:
        assert r.status_code == 202, r.text
    events = (await hp.http.get(f"/api/v1/projects/{pid}/events")).json()["data"]
    assert len(events) == (1 if r.status_code == 202 else 0)


CORRECT = [
    # (schema, payload, accepted)
    ({"properties": {"s": {"pattern": "^[a-z]+$"}}}, {"s": "abc"}, True),
    ({"properties": {"s": {"pattern": "^[a-z]+$"}}}, {"s": "abc\n"}, False),  # $ is the end
    ({"properties": {"s": {"pattern": "é"}}}, {"s": "caf\u00e9"}, True),
    ({"properties": {"s": {"pattern": "^.$"}}}, {"s": "\U0001f600"}, True),  # one code point
    ({"patternProperties": {"^x-": {"type": "integer"}}}, {"x-a": "no"}, False),
    ({"patternProperties": {"^x-": {}}, "additionalProperties": False}, {"x-a": 1}, True),
    ({"patternProperties": {"^x-": {}}, "additionalProperties": False}, {"y": 1}, False),
    ({"properties": {"n": {"multipleOf": 0.5}}}, {"n": 10**400}, True),
    ({"properties": {"n": {"multipleOf": 0.3}}}, {"n": 10**400 + 1}, False),
    ({"properties": {"xs": {"uniqueItems": True}}}, {"xs": [1, 1.0]}, False),
    (
        {"properties": {"xs": {"uniqueItems": True}}},
        {"xs": [1, True, {"a": [1]}, {"a": [2]}]},
        True,
    ),
    (
        {"properties": {"xs": {"uniqueItems": True}}},
        {"xs": [{"a": 1, "b": 2}, {"b": 2, "a": 1}]},
        False,
    ),
    ({"$ref": "#/$defs/missing"}, {"a": 1}, False),
    ({"$ref": "https://schemas.example/x.json"}, {"a": 1}, False),
    ({"type": "object", "additionalProperties": {"$ref": "#"}}, {"a": {"a": {"a": {}}}}, True),
]


@pytest.mark.parametrize(("schema", "payload", "accepted"), CORRECT)
async def test_schemas_still_mean_what_they_say(
    hookpost_noworkers: Hookpost, schema: dict[str, Any], payload: Any, accepted: bool
) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    r = await _event_type(hp, pid, "a.b", schema)
    assert r.status_code == 201, r.text
    r = await _publish(hp, pid, "a.b", payload)
    assert r.status_code == (202 if accepted else 422), r.text
    if not accepted:
        assert r.json()["detail"][0]["field"].startswith("payload"), r.text


async def test_recursive_schema_with_deepest_payload(hookpost_noworkers: Hookpost) -> None:
    """`$ref: "#"` with a payload at the nesting limit: checked, not a 500."""
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    schema = {"type": "object", "additionalProperties": {"$ref": "#"}}
    assert (await _event_type(hp, pid, "deep.ok", schema)).status_code == 201
    deep: dict[str, Any] = {}
    for _ in range(63):
        deep = {"a": deep}
    assert (await _publish(hp, pid, "deep.ok", deep)).status_code == 202
    bad = {"a": 1}
    for _ in range(62):
        bad = {"a": bad}
    r = await _publish(hp, pid, "deep.ok", bad)
    assert r.status_code == 422 and r.json()["detail"][0]["field"].startswith("payload.a.a")


TEMPLATES = ["{{" * 7000, "{" * 15000, "{{a" * 5000, "{{" + "}" * 15000, "{{id}" * 3000]


@pytest.mark.serial  # /healthz answer times measured
@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: repr(t[:6]) + f"x{len(t)}")
async def test_custom_profile_template_is_checked_and_rendered_in_linear_time(
    hookpost_noworkers: Hookpost, template: str
) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    definition = {"header": "X-Sig", "envelope": {"t": template, "data": "{{payload}}"}}
    async with healthz_watch(hp.base_url) as times:
        t0 = time.perf_counter()
        r = await hp.http.post(
            f"/api/v1/projects/{pid}/profiles", json={"name": "tmpl", "definition": definition}
        )
        took = time.perf_counter() - t0
    assert r.status_code in (201, 422), r.text
    assert took < 1, took
    assert_fast(times)
    if r.status_code == 422:
        return
    profile = CustomProfile(definition)
    event = EventData(id="msg_1", type="a.b", created_at=1.0, payload={"x": 1}, project_id=pid)
    t0 = time.perf_counter()
    body = json.loads(profile.body(event))
    assert time.perf_counter() - t0 < 0.5
    assert body == {"t": template, "data": {"x": 1}}
