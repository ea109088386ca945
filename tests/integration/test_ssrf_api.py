"""SSRF at the API (a 422 naming ``url``) and at delivery (attempt error ``blocked destination``).

DNS answers come from :class:`tests.fakedns.FakeResolver`; the only address
ever connected to is the loopback receiver -- and the point is that it is not.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from hookpost.core.clock import ManualClock
from hookpost.core.netguard import NetGuard
from hookpost.services.destinations import DestinationPolicy
from tests.conftest import Hookpost, Receiver, start_hookpost
from tests.fakedns import FakeResolver

PUBLIC_IP = "93.184.216.34"


def _dns() -> FakeResolver:
    return FakeResolver(
        {
            "public.test": [PUBLIC_IP],
            "internal.test": ["10.0.0.5"],
            "metadata.test": ["169.254.169.254"],
            "mixed.test": [PUBLIC_IP, "127.0.0.1"],
            "ula.test": ["fd00::1"],
            "localhost": ["127.0.0.1"],
        }
    )


REFUSED = [
    "http://127.0.0.1:8000/hook",
    "http://[::1]/hook",
    "http://[::ffff:169.254.169.254]/latest",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.1.2.3/",
    "http://100.64.0.1/",
    "https://192.168.0.10/",
    "http://[fd00::1]/",
    "http://[fe80::1]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[2002:a00:1::]/",
    "http://2130706433/",  # decimal 127.0.0.1
    "http://0x7f.1/",  # hex
    "http://017700000001/",  # octal
    "http://134744072/",  # decimal 8.8.8.8: public, but not a spelling to deliver to
    "http://localhost:9000/",
    "http://internal.test/",
    "http://metadata.test/",
    "http://mixed.test/",  # public first, private second
    "http://ula.test/",
]

ACCEPTED = [
    "http://public.test/hook",
    f"https://{PUBLIC_IP}/hook",
    "https://[2606:4700:4700::1111]/hook",
    "http://not-in-dns.test/hook",  # does not resolve (yet): delivery checks again
]


@pytest.mark.parametrize("url", REFUSED)
async def test_registration_refuses(url: str) -> None:
    policy = DestinationPolicy.create(NetGuard(), _dns())
    assert await policy.problem(url) is not None


@pytest.mark.parametrize("url", ACCEPTED)
async def test_registration_accepts(url: str) -> None:
    policy = DestinationPolicy.create(NetGuard(), _dns())
    assert await policy.problem(url) is None


@pytest.mark.serial  # a DNS timeout measured
async def test_https_only_and_dns_timeout() -> None:
    class Slow(FakeResolver):
        async def resolve(self, *args: object, **kw: object) -> list:  # type: ignore[type-arg]
            await asyncio.sleep(10)
            return []

    strict = DestinationPolicy.create(NetGuard(), _dns(), https_only=True)
    assert "https" in (await strict.problem("http://public.test/") or "")
    assert await strict.problem("https://public.test/") is None
    slow = DestinationPolicy.create(NetGuard(), Slow(), dns_timeout=0.05)
    t0 = time.monotonic()
    assert await slow.problem("https://slow.test/") is None  # accepted, not hung
    assert time.monotonic() - t0 < 2


@pytest.fixture
async def guarded(db_url: str, clock: ManualClock) -> AsyncIterator[Hookpost]:
    """A server with the production default: no private range allowed, loopback included."""
    resolver = _dns().answer("rebind.test", [PUBLIC_IP], ["127.0.0.1"])
    async for hp in start_hookpost(db_url, clock, allowed_networks="", resolver=resolver):
        yield hp


async def test_blocked_at_registration_and_at_delivery(
    guarded: Hookpost, receiver: Receiver
) -> None:
    hp = guarded
    pid, _ = await hp.project()
    path = f"/api/v1/projects/{pid}/endpoints"
    for url in (receiver.url("/direct"), f"http://localhost:{receiver.port}/name"):
        r = await hp.http.post(path, json={"url": url})
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["field"] == "url" and "url" in r.json()["message"]
        assert "10.0.0.5" not in r.text
    # A name that answers public at registration and loopback at delivery (DNS rebinding)
    ep = await hp.endpoint(pid, f"http://rebind.test:{receiver.port}/rebound")
    r = await hp.http.patch(f"{path}/{ep['id']}", json={"url": "http://internal.test/"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "url", r.text
    assert (await hp.http.get(f"{path}/{ep['id']}")).json()["url"].startswith("http://rebind")
    await hp.publish(pid)
    (dlv,) = await hp.deliveries(pid)
    deadline = time.monotonic() + 10
    while (d := await hp.delivery(pid, dlv["id"]))["attempt_count"] < 1:
        assert time.monotonic() < deadline, d
        await asyncio.sleep(0.03)
    (attempt,) = d["attempts"]
    assert attempt["error"] == "blocked destination"
    assert attempt["status_code"] is None
    assert d["last_error"] == "blocked destination"
    await asyncio.sleep(0.2)
    assert receiver.requests == []  # nothing was sent to the loopback receiver
