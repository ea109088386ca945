"""The SSRF policy, table-driven, plus its enforcement inside aiohttp's connector.

Nothing here touches the network beyond 127.0.0.1: public addresses appear
only as answers of a fake resolver and are never connected to (an outbound
proxy on loopback receives those requests instead).
"""

from __future__ import annotations

from ipaddress import ip_address

import pytest
from aiohttp import web

from hookpost.core.netguard import (
    BlockedDestination,
    NetGuard,
    blocked_reason,
    numeric_host,
    parse_networks,
)
from hookpost.delivery.egress import GuardedResolver
from hookpost.delivery.sender import Sender
from tests.conftest import Receiver
from tests.fakedns import FakeResolver

# (address, reason it is refused) -- every range the policy blocks, and IPv6 forms.
BLOCKED = [
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "unspecified"),
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("10.0.0.1", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("100.64.0.1", "shared (CGNAT)"),
    ("100.127.255.255", "shared (CGNAT)"),
    ("169.254.169.254", "link-local"),  # cloud metadata
    ("169.254.0.1", "link-local"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("255.255.255.255", "broadcast"),
    ("240.0.0.1", "reserved"),
    ("192.0.0.8", "reserved"),
    ("198.18.0.1", "reserved"),
    ("192.0.2.1", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("fc00::1", "private"),
    ("fd12:3456:789a::1", "private"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("fec0::1", "reserved"),
    ("ff02::1", "multicast"),
    ("2001:db8::1", "documentation"),
    ("100::1", "reserved"),
    ("2001::1", "reserved"),  # Teredo
    ("64:ff9b:1::1", "private"),  # local-use NAT64
    # IPv6 forms that lead to a blocked IPv4 address
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:7f00:1", "loopback"),
    ("::ffff:169.254.169.254", "link-local"),
    ("::ffff:10.1.2.3", "private"),
    ("::127.0.0.1", "loopback"),  # IPv4-compatible (deprecated)
    ("::10.0.0.1", "private"),
    ("64:ff9b::7f00:1", "loopback"),  # NAT64 of 127.0.0.1
    ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
    ("2002:7f00:1::1", "loopback"),  # 6to4 of 127.0.0.1
    ("2002:c0a8:101::1", "private"),  # 6to4 of 192.168.1.1
    ("2002:6440:1::", "shared (CGNAT)"),  # 6to4 of 100.64.0.1
]

PUBLIC = [
    "93.184.216.34",
    "8.8.8.8",
    "1.1.1.1",
    "100.128.0.1",  # just past CGNAT
    "172.32.0.1",  # just past 172.16/12
    "2606:4700:4700::1111",
    "2a00:1450:4001:82a::200e",
    "::ffff:93.184.216.34",  # IPv4-mapped public
    "64:ff9b::5db8:d822",  # NAT64 of a public address
    "2002:5db8:d822::1",  # 6to4 of a public address
]


@pytest.mark.parametrize(("address", "reason"), BLOCKED)
def test_blocked_ranges(address: str, reason: str) -> None:
    ip = ip_address(address)
    why = blocked_reason(ip)
    assert why is not None and why.startswith(reason), (address, why)
    with pytest.raises(BlockedDestination):
        NetGuard().check(ip)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert blocked_reason(ip_address(address)) is None
    NetGuard().check(address)


# host as written in a URL -> the address it denotes
SPELLINGS = [
    ("2130706433", "127.0.0.1"),  # decimal
    ("017700000001", "127.0.0.1"),  # octal
    ("0x7f000001", "127.0.0.1"),  # hex
    ("0x7f.1", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"),
    ("127.1", "127.0.0.1"),
    ("0X7F.0X0.0X0.0X1", "127.0.0.1"),
    ("2852039166", "169.254.169.254"),
    ("0xa9fea9fe", "169.254.169.254"),
    ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
    ("10.1", "10.0.0.1"),
    ("0", "0.0.0.0"),
    ("127.0.0.1.", "127.0.0.1"),
    ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"),
    ("::1", "::1"),
]


@pytest.mark.parametrize(("host", "address"), SPELLINGS)
def test_numeric_spellings_are_read_and_refused(host: str, address: str) -> None:
    ip = numeric_host(host)
    assert ip == ip_address(address)
    assert blocked_reason(ip) is not None


@pytest.mark.parametrize("host", ["example.com", "0x7f.example", "1.2.3.4.5", "08.1", ""])
def test_hostnames_are_not_numeric(host: str) -> None:
    assert numeric_host(host) is None


def test_allowed_networks_opt_back_in() -> None:
    guard = NetGuard(parse_networks("127.0.0.0/8, ::1/128,10.20.0.0/16"))
    for ok in ("127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1", "10.20.3.4"):
        assert guard.reason(ip_address(ok)) is None, ok
    for still in ("10.21.0.1", "169.254.169.254", "192.168.0.1", "fe80::1"):
        assert guard.reason(ip_address(still)) is not None, still
    with pytest.raises(ValueError, match="HOOKPOST_ALLOWED_NETWORKS"):
        parse_networks("10.0.0.0/8,not-a-cidr")


# -- the connector's resolver -----------------------------------------------------------


async def test_resolver_refuses_a_name_with_any_blocked_answer() -> None:
    fake = FakeResolver(
        {
            "public.test": ["93.184.216.34"],
            "internal.test": ["10.0.0.5"],
            "mixed.test": ["93.184.216.34", "127.0.0.1"],  # public first, private second
            "metadata.test": ["169.254.169.254"],
            "mapped.test": ["::ffff:127.0.0.1"],
        }
    )
    guarded = GuardedResolver(NetGuard(), fake)
    assert [r["host"] for r in await guarded.resolve("public.test", 443)] == ["93.184.216.34"]
    for name in ("internal.test", "mixed.test", "metadata.test", "mapped.test"):
        with pytest.raises(BlockedDestination):
            await guarded.resolve(name, 443)
    # numeric spellings that reach getaddrinfo are refused before any lookup
    with pytest.raises(BlockedDestination):
        await guarded.resolve("0x7f.1", 80)
    assert "0x7f.1" not in fake.lookups


async def test_rebinding_answer_is_checked_at_every_lookup() -> None:
    fake = FakeResolver().answer("rebind.test", ["93.184.216.34"], ["127.0.0.1"])
    guarded = GuardedResolver(NetGuard(), fake)
    assert await guarded.resolve("rebind.test", 80)  # first answer: public
    with pytest.raises(BlockedDestination):
        await guarded.resolve("rebind.test", 80)  # second answer: loopback


# -- the sender: nothing reaches a blocked address --------------------------------------


async def _post(sender: Sender, url: str) -> str | None:
    async with sender:
        result = await sender.post(url, b"{}", {"Content-Type": "application/json"}, 5)
    return result.error


async def test_sender_refuses_blocked_destinations_without_sending(receiver: Receiver) -> None:
    port = receiver.port
    fake = FakeResolver().answer("rebind.test", ["93.184.216.34"], ["127.0.0.1"])
    fake.answer("localhost", ["127.0.0.1"])
    await fake.resolve("rebind.test")  # the first (public) answer went to registration
    urls = [
        f"http://127.0.0.1:{port}/literal",
        f"http://[::ffff:127.0.0.1]:{port}/mapped",
        f"http://0x7f.1:{port}/hex",
        f"http://localhost:{port}/name",
        f"http://rebind.test:{port}/rebound",
    ]
    for url in urls:
        assert await _post(Sender(resolver=fake), url) == "blocked destination", url
    assert receiver.requests == []
    # numeric forms aiohttp will not connect to at all are still never sent
    assert await _post(Sender(resolver=fake), f"http://2130706433:{port}/dec") is not None
    assert receiver.requests == []
    # opted in, the same receiver is reachable
    allowed = Sender(resolver=fake, guard=NetGuard(parse_networks("127.0.0.0/8")))
    assert await _post(allowed, f"http://localhost:{port}/name") is None
    assert [r.path for r in receiver.requests] == ["/name"]


async def test_https_only_sender_refuses_plain_http(receiver: Receiver) -> None:
    sender = Sender(guard=NetGuard(parse_networks("127.0.0.0/8")), https_only=True)
    error = await _post(sender, receiver.url("/plain"))
    assert error is not None and error.startswith("blocked destination")
    assert receiver.requests == []


async def test_proxy_carries_requests_and_destinations_are_prechecked(
    receiver: Receiver,
) -> None:
    """The loopback receiver plays the outbound proxy: the public hosts are never contacted."""

    async def proxy(request: web.Request, n: int) -> web.Response:
        return web.Response(status=200, text="via proxy")

    receiver.on("/hook", proxy)
    fake = FakeResolver({"hooks.example": ["93.184.216.34"], "intranet.example": ["10.0.0.7"]})
    sender = Sender(resolver=fake, proxy=receiver.url(""))
    async with sender:
        ok = await sender.post("http://hooks.example/hook", b"{}", {}, 5)
        blocked = await sender.post("http://intranet.example/hook", b"{}", {}, 5)
    assert ok.error is None and ok.status_code == 200
    assert blocked.error == "blocked destination"
    (req,) = receiver.requests
    assert req.headers["Host"] == "hooks.example"
