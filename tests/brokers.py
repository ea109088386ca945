"""What every broker destination must do (issue 19), written once for all five.

Each ``tests/test_destination_*.py`` brings a real broker on loopback and a
consumer that reads messages with that broker's own client; the scenarios
here publish through a real hookpost (API, store, dispatcher) and check what
arrived with :func:`hookpost.verify`, as a customer's consumer would. A
broker that is not reachable skips its file with the reason; nothing else
skips.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import pytest
from sqlalchemy import text

from hookpost.core.clock import ManualClock
from hookpost.verify import verify
from tests.conftest import ADMIN, Hookpost, free_port, start_hookpost


def reachable(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def needs_broker(name: str, port: int) -> pytest.MarkDecorator:
    """Skip a module when its broker does not listen (``.ci/run`` starts the installed ones)."""
    return pytest.mark.skipif(
        not reachable(port), reason=f"{name} is not reachable on 127.0.0.1:{port}"
    )


def closed_port() -> int:
    """A loopback port nothing listens on: a broker that is down."""
    return free_port()


@dataclass
class Message:
    body: bytes
    headers: dict[str, str]


class Consumer(Protocol):
    async def take(self, n: int, timeout: float = 10) -> list[Message]:
        """Exactly the next ``n`` messages (fails if fewer arrive in time)."""
        ...

    async def none_more(self, wait: float = 0.3) -> None:
        """Fails if another message arrives within ``wait`` seconds."""
        ...


@pytest.fixture
async def hp(sqlite_url: str) -> AsyncIterator[Hookpost]:
    """hookpost on SQLite: the broker path does not depend on the database (the
    HTTP tests run every store path on both backends)."""
    async for h in start_hookpost(sqlite_url, ManualClock()):
        yield h


def verified(message: Message, secret: str, now: float | None = None) -> Any:
    return verify(message.body, message.headers, secret, now=now)


async def arrives_once_and_verifies(hp: Hookpost, url: str, consumer: Consumer) -> dict[str, Any]:
    """One event: one message, the webhook's body byte for byte, a signature that verifies."""
    pid, _ = await hp.project()
    ep = await hp.endpoint(pid, url)
    await hp.publish(pid, "user.created", payload={"name": "Zoë"}, event_id="evt_once")
    (msg,) = await consumer.take(1)
    event = verified(msg, ep["secret"])
    assert event["type"] == "user.created" and event["data"] == {"name": "Zoë"}
    assert {k.lower(): v for k, v in msg.headers.items()}["webhook-id"] == "evt_once"
    (dlv,) = await hp.deliveries(pid)
    done = await hp.wait_status(pid, dlv["id"], "succeeded")
    (att,) = done["attempts"]
    assert att["status_code"] is None and att["error"] is None
    assert att["request_body"].encode() == msg.body  # what the log shows is what went out
    assert att["response_body"]  # the broker's acknowledgement, in words
    await consumer.none_more()
    return {"project": pid, "endpoint": ep, "attempt": att}


async def fails_then_recovers(
    hp: Hookpost,
    url: str,
    consumer: Consumer,
    error: str,
    fix: Callable[[str, str], Awaitable[None]],
) -> dict[str, Any]:
    """A failed attempt with a clear error, then -- once ``fix(project, endpoint)`` ran --
    the retry delivers, once."""
    pid, _ = await hp.project()
    ep = await hp.endpoint(pid, url)
    await hp.publish(pid, "user.created", event_id="evt_retry")
    (dlv,) = await hp.deliveries(pid)
    failed = await hp.attempted(pid, dlv["id"], 1)
    (att,) = failed["attempts"]
    assert failed["status"] == "pending", failed
    assert att["status_code"] is None
    assert error in (att["error"] or ""), att["error"]
    await fix(pid, ep["id"])
    await hp.advance(24 * 3600)
    done = await hp.wait_status(pid, dlv["id"], "succeeded", attempts=2)
    (msg,) = await consumer.take(1)
    verified(msg, ep["secret"], now=hp.clock.now())  # signed at the moved clock's time
    await consumer.none_more()
    return {"project": pid, "endpoint": ep, "delivery": done}


def patch_url(hp: Hookpost, url: str) -> Callable[[str, str], Awaitable[None]]:
    """A ``fix`` that points the endpoint at ``url`` (the broker is back, the password right)."""

    async def fix(pid: str, ep_id: str) -> None:
        r = await hp.http.patch(f"/api/v1/projects/{pid}/endpoints/{ep_id}", json={"url": url})
        assert r.status_code == 200, r.text

    return fix


async def keeps_fifo_order(hp: Hookpost, url: str, consumer: Consumer, n: int = 8) -> None:
    pid, _ = await hp.project()
    ep = await hp.endpoint(pid, url, ordering="fifo")
    for i in range(n):
        await hp.publish(pid, "user.created", payload={"i": i}, event_id=f"evt_fifo_{i}")
    got = await consumer.take(n)
    assert [verified(m, ep["secret"])["data"]["i"] for m in got] == list(range(n))


async def resends(hp: Hookpost, url: str, consumer: Consumer) -> None:
    pid, _ = await hp.project()
    ep = await hp.endpoint(pid, url)
    await hp.publish(pid, "user.created", event_id="evt_resend")
    (first,) = await consumer.take(1)
    (dlv,) = await hp.deliveries(pid)
    await hp.wait_status(pid, dlv["id"], "succeeded")
    r = await hp.http.post(f"/api/v1/projects/{pid}/deliveries/{dlv['id']}/resend")
    assert r.status_code in (200, 202), r.text
    (again,) = await consumer.take(1)
    assert again.body == first.body
    assert verified(again, ep["secret"])["type"] == "user.created"


async def masked_everywhere(hp: Hookpost, url: str, password: str, consumer: Consumer) -> None:
    """The URL's password is sealed in the database, masked in answers and attempts,
    and an update that sends the masked URL back keeps it (delivery still works)."""
    out = await arrives_once_and_verifies(hp, url, consumer)
    pid, ep = out["project"], out["endpoint"]
    assert password not in ep["url"] and "***" in ep["url"]
    assert password not in out["attempt"]["url"]
    r = await hp.http.get(f"/api/v1/projects/{pid}/endpoints/{ep['id']}")
    assert password not in r.text
    raw = await hp.store.get_endpoint(pid, ep["id"])
    assert raw["url"] == ep["url"] and raw["wire_url"] == url
    async with hp.store.reader.connect() as conn:
        query = text("select url from endpoints where id = :id")
        stored = (await conn.execute(query, {"id": ep["id"]})).scalar()
    assert password not in str(stored)
    await dashboard_masks(hp, pid, ep["id"], password)
    r = await hp.http.patch(
        f"/api/v1/projects/{pid}/endpoints/{ep['id']}",
        json={"url": ep["url"], "description": "kept"},
    )
    assert r.status_code == 200, r.text
    await hp.publish(pid, "user.created", event_id="evt_after_patch")
    (msg,) = await consumer.take(1)
    verified(msg, ep["secret"])


async def dashboard_masks(hp: Hookpost, pid: str, ep_id: str, password: str) -> None:
    """The operator's pages show the masked URL; a broker attempt reads as a publish."""
    async with httpx.AsyncClient(base_url=hp.base_url, timeout=30) as browser:
        r = await browser.post("/login", data={"token": ADMIN, "next": "/"})
        assert r.status_code == 303, r.text
        (dlv,) = await hp.deliveries(pid)
        for page in (f"endpoints/{ep_id}", f"endpoints/{ep_id}/edit", f"deliveries/{dlv['id']}"):
            html = (await browser.get(f"/projects/{pid}/{page}")).text
            assert "***" in html and password not in html, page
        assert "PUBLISH" in html and "Copy as curl" not in html
