"""Anything the API accepts can be delivered, listed and shown; the rest is a 422.

Issue 13 (2): a payload nested 256 levels deep was stored and then answered
500 (half-written); at ~400 levels the worker's encoder crashed on every lease
and the project's events list answered 500 from then on. Each hostile payload
below is either refused with a 422 naming the payload and nothing stored, or
stored, delivered to a real receiver, listed and shown -- on both backends.
A delivery whose request cannot be built, for any reason, is a failed attempt
with the reason on the retry schedule, never a delivery stuck in `delivering`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web
from sqlalchemy import text, update

from hookpost.core import jsonenc, limits
from hookpost.core.clock import ManualClock
from hookpost.store import models
from tests.conftest import ADMIN, Hookpost, Receiver, free_port, start_hookpost

JSON = {"content-type": "application/json"}


def nested(depth: int) -> str:
    """A payload of ``depth`` objects nested in each other (the payload itself included)."""
    return '{"a":' * (depth - 1) + '{"leaf":1}' + "}" * (depth - 1)


def wide(n: int) -> str:
    return "{" + ",".join(f'"k{i}":{i}' for i in range(n)) + "}"


#: (name, payload as raw JSON text, accepted?)
HOSTILE: list[tuple[str, str, bool]] = [
    ("depth 63", nested(63), True),
    ("depth 64", nested(limits.MAX_DEPTH), True),
    ("depth 65", nested(limits.MAX_DEPTH + 1), False),
    ("depth 256", nested(256), False),
    ("depth 1000", nested(1000), False),
    ("depth in an array", '{"a":' + "[" * 100 + "]" * 100 + "}", False),
    ("100k keys", wide(limits.MAX_NODES), True),
    ("100k+1 values", '{"a":[' + ",".join(["0"] * limits.MAX_NODES) + "]}", False),
    ("4 MB string", json.dumps({"s": "x" * 4_000_000}), True),
    ("10**400", '{"n":' + str(10**400) + "}", True),
    ("2**64 and -2**63", '{"u":18446744073709551616,"i":-9223372036854775808}', True),
    ("5000 digits", '{"n":' + "9" * 5000 + "}", False),
    ("1e308, -0.0, 5e-324", '{"f":1e308,"z":-0.0,"t":5e-324,"m":-1.7976931348623157e308}', True),
    ("1e309 (infinity)", '{"f":1e309}', False),
    ("lone surrogate", '{"s":"\\ud800"}', False),
    ("lone surrogate key", '{"\\udfff":1}', False),
    ("surrogate pair escaped", '{"s":"\\ud83d\\ude00"}', True),
    ("NUL in value and key", '{"s":"a\\u0000b","\\u0000":0}', True),
    ("RTL marks", '{"s":"\u202eevil\u202c \u200f\u200e\u061c"}', True),
    ("emoji and non-BMP", '{"s":"\U0001f600\U0001d11e\U00010348","\U0001f4a9":"\u00e9"}', True),
    ("control characters", '{"s":"\\u0001\\u001f\\u007f\\u2028\\u2029"}', True),
    ("empty containers", '{"o":{},"a":[],"e":""}', True),
]


@pytest.fixture
async def big(db_url: str, clock: ManualClock) -> AsyncIterator[Hookpost]:
    """A server whose body limit admits the 4 MB string (the default is 1 MiB)."""
    async for hp in start_hookpost(db_url, clock, max_body_bytes=8 * 1024 * 1024):
        yield hp


@pytest.fixture
async def big_receiver() -> AsyncIterator[Receiver]:
    """The ``receiver`` fixture's server, reading bodies up to 16 MiB (aiohttp: 1 MiB)."""
    rec = Receiver()
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", rec.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    rec.port = free_port()
    await web.TCPSite(runner, "127.0.0.1", rec.port).start()
    yield rec
    await runner.cleanup()


async def count(hp: Hookpost, table: str) -> int:
    async with hp.store.engine.connect() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def dashboard_events(hp: Hookpost, project_id: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=hp.base_url, timeout=60) as browser:
        r = await browser.post("/login", data={"token": ADMIN, "next": "/"})
        assert r.status_code == 303, r.text
        return await browser.get(f"/projects/{project_id}/events")


@pytest.mark.parametrize(("name", "raw", "accepted"), HOSTILE, ids=[c[0] for c in HOSTILE])
async def test_hostile_payload_is_refused_or_delivered_listed_and_shown(
    big: Hookpost, big_receiver: Receiver, name: str, raw: str, accepted: bool
) -> None:
    hp, receiver = big, big_receiver
    pid, _ = await hp.project()
    await hp.endpoint(pid, receiver.url("/hook"))
    url = f"/api/v1/projects/{pid}/events"
    body = '{"event_type":"hostile.payload","payload":' + raw + "}"
    r = await hp.http.post(url, content=body.encode("utf-8", "surrogatepass"), headers=JSON)

    if not accepted:
        assert r.status_code == 422, r.text[:300]
        assert "payload" in r.json()["message"], r.text[:300]
        listed = await hp.http.get(url)
        assert listed.status_code == 200 and listed.json()["data"] == []
        assert await count(hp, "events") == 0
        assert await count(hp, "deliveries") == 0
        return

    assert r.status_code == 202, r.text[:300]
    expected = json.loads(raw)
    event_id = r.json()["id"]
    (got,) = await receiver.wait_for(1, "/hook", timeout=60)
    assert json.loads(got.body)["data"] == expected

    listed = await hp.http.get(url)
    assert listed.status_code == 200, listed.text[:300]
    assert [e["id"] for e in listed.json()["data"]] == [event_id]
    shown = await hp.http.get(f"{url}/{event_id}")
    assert shown.status_code == 200 and shown.json()["payload"] == expected
    (delivery,) = await hp.deliveries(pid, event_id=event_id)
    done = await hp.wait_status(pid, delivery["id"], "succeeded", timeout=30)
    assert done["attempts"][0]["status_code"] == 200
    page = await dashboard_events(hp, pid)
    assert page.status_code == 200, page.text[:300]
    assert event_id in page.text


# -- a request that cannot be built is a failed attempt -------------------------


def _break_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    real = jsonenc.dumps

    def dumps(value: Any) -> bytes:
        if "boom" in json.dumps(value):
            raise RecursionError("maximum recursion depth exceeded (injected)")
        return real(value)

    monkeypatch.setattr(jsonenc, "dumps", dumps)


def _break_signing(monkeypatch: pytest.MonkeyPatch) -> None:
    from hookpost.profiles.standard import StandardProfile

    def sign(self: Any, **kw: Any) -> dict[str, str]:
        raise ValueError("signing failed (injected)")

    monkeypatch.setattr(StandardProfile, "sign", sign)


BREAKAGES = [
    ("encoder", _break_encoder, "RecursionError"),
    ("signing", _break_signing, "signing failed"),
]


@pytest.mark.parametrize(("name", "breaks", "reason"), BREAKAGES, ids=[b[0] for b in BREAKAGES])
async def test_unbuildable_request_is_a_failed_attempt_on_the_schedule(
    hookpost: Hookpost,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    breaks: Any,
    reason: str,
) -> None:
    hp = hookpost
    pid, _ = await hp.project()
    await hp.endpoint(pid, receiver.url("/hook"), retry_schedule=[60, 60])
    breaks(monkeypatch)
    ev = await hp.publish(pid, "render.fails", payload={"boom": True})
    (delivery,) = await hp.deliveries(pid, event_id=ev["id"])
    d = await hp.attempted(pid, delivery["id"], 1)
    assert d["status"] == "pending" and d["next_attempt_at"] is not None, d
    assert reason in d["last_error"] and "could not be built" in d["last_error"]
    assert d["attempts"][0]["error"] == d["last_error"]
    assert receiver.requests == []

    monkeypatch.undo()  # the cause is fixed: the scheduled retry delivers
    await hp.advance(200)
    done = await hp.wait_status(pid, delivery["id"], "succeeded", timeout=10)
    assert done["attempt_count"] == 2
    (got,) = await receiver.wait_for(1, "/hook")
    assert json.loads(got.body)["data"] == {"boom": True}


async def test_broken_custom_profile_is_a_failed_attempt_until_the_last(
    hookpost: Hookpost, receiver: Receiver
) -> None:
    """A stored custom profile that cannot render (written before today's checks)."""
    hp = hookpost
    pid, _ = await hp.project()
    good = {"header": "X-Sig", "envelope": {"id": "{{id}}"}}
    r = await hp.http.post(
        f"/api/v1/projects/{pid}/profiles", json={"name": "legacy", "definition": good}
    )
    assert r.status_code == 201, r.text
    await hp.endpoint(
        pid, receiver.url("/hook"), profile="legacy", retry_schedule=[1], max_attempts=2
    )
    broken = {"header": "X-Sig", "envelope": {"id": "{{nope}}"}}
    async with hp.store.engine.begin() as conn:
        await conn.execute(update(models.profiles).values(definition=broken))
    ev = await hp.publish(pid, "render.fails", payload={"x": 1})
    (delivery,) = await hp.deliveries(pid, event_id=ev["id"])
    d = await hp.attempted(pid, delivery["id"], 1)
    assert d["status"] == "pending" and "could not be built" in d["last_error"]
    await hp.advance(2)
    d = await hp.wait_status(pid, delivery["id"], "failed", timeout=10)
    assert d["attempt_count"] == 2 and "could not be built" in d["attempts"][1]["error"]
    assert receiver.requests == []
