"""The SSRF policy row by row: one sample address per range, and its neighbours.

``make mutation`` changes every comparison and every row of the tables in
``hookpost.core.netguard``; a row deleted or widened must fail a case here.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Network, ip_address

import pytest

from hookpost.core.netguard import (
    BlockedDestination,
    NetGuard,
    blocked_reason,
    embedded_ipv4,
    is_canonical_ipv4,
    numeric_host,
    parse_networks,
)

BLOCKED: list[tuple[str, str]] = [
    ("0.1.2.3", "unspecified"),
    ("10.20.30.40", "private"),
    ("100.100.1.1", "shared (CGNAT)"),
    ("127.1.2.3", "loopback"),
    ("169.254.169.254", "link-local"),
    ("172.20.1.1", "private"),
    ("172.31.255.255", "private"),
    ("192.0.0.9", "reserved"),  # stdlib calls it global: only the table blocks it
    ("192.0.2.7", "documentation"),
    ("192.88.99.5", "reserved"),  # 6to4 relay anycast: stdlib calls it global
    ("192.168.7.7", "private"),
    ("198.18.0.1", "reserved"),
    ("198.19.1.1", "reserved"),
    ("198.51.100.3", "documentation"),
    ("203.0.113.9", "documentation"),
    ("224.0.0.1", "multicast"),
    ("239.1.1.1", "multicast"),
    ("255.255.255.255", "broadcast"),
    ("250.1.1.1", "reserved"),
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("64:ff9b:1::5", "private"),  # stdlib calls it global
    ("100::7", "reserved"),
    ("2001:2::5", "reserved"),
    ("2001:1ff::1", "reserved"),
    ("2001:db8::5", "documentation"),
    ("3fff::5", "documentation"),  # stdlib calls it global
    ("3fff:fff::1", "documentation"),
    ("fd00::1", "private"),
    ("fc00::1", "private"),
    ("fe80::1", "link-local"),
    ("febf::1", "link-local"),
    ("fec0::1", "reserved"),  # stdlib calls it global
    ("ff02::1", "multicast"),
    ("4000::1", "reserved"),  # only the stdlib's is_reserved blocks it
    # the top of each range, so a narrowed row fails too
    ("0.255.255.255", "unspecified"),
    ("10.255.255.254", "private"),
    ("100.127.255.254", "shared (CGNAT)"),
    ("127.255.255.254", "loopback"),
    ("169.254.255.254", "link-local"),
    ("192.0.0.255", "reserved"),
    ("192.0.2.255", "documentation"),
    ("192.88.99.255", "reserved"),
    ("192.168.255.254", "private"),
    ("198.19.255.254", "reserved"),
    ("198.51.100.255", "documentation"),
    ("203.0.113.255", "documentation"),
    ("239.255.255.255", "multicast"),
    ("255.255.255.254", "reserved"),
    ("64:ff9b:1:ffff::1", "private"),
    ("100::ffff:ffff:ffff:ffff", "reserved"),
    ("2001:db8:ffff::1", "documentation"),
    ("fdff::1", "private"),
    ("feff::1", "reserved"),
    ("ffff::1", "multicast"),
    # IPv6 forms that lead to an IPv4 address are judged by it
    ("::ffff:10.0.0.1", "private (as IPv6 ::ffff:a00:1)"),
    ("::10.0.0.1", "private (as IPv6 ::a00:1)"),
    ("::0.0.0.2", "unspecified (as IPv6 ::2)"),
    ("64:ff9b::a00:1", "private (as IPv6 64:ff9b::a00:1)"),
    ("64:ff9b::7f00:1", "loopback (as IPv6 64:ff9b::7f00:1)"),
    ("2002:a00:1::", "private (as IPv6 2002:a00:1::)"),
    ("2002:a9fe:a9fe::1", "link-local (as IPv6 2002:a9fe:a9fe::1)"),
    ("2001:db8::7f00:1", "documentation"),  # not an IPv4-carrying form
]


@pytest.mark.parametrize(("address", "reason"), BLOCKED)
def test_blocked_by_default(address: str, reason: str) -> None:
    ip = ip_address(address)
    assert blocked_reason(ip) == reason
    assert NetGuard().reason(ip) == reason
    with pytest.raises(BlockedDestination) as info:
        NetGuard().check(address, host="h.example")
    assert str(info.value) == f"blocked destination: h.example is a {reason} address"
    assert (info.value.host, info.value.reason) == ("h.example", f"a {reason} address")


PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "9.255.255.255",  # just below 10/8
    "11.0.0.1",  # just above 10/8
    "100.63.255.255",
    "100.128.0.1",
    "126.255.255.255",
    "128.0.0.1",
    "169.253.255.255",
    "172.15.255.255",
    "172.32.0.1",
    "192.0.1.1",
    "192.88.98.1",
    "192.88.100.1",
    "192.167.255.255",
    "192.169.0.1",
    "198.17.255.255",
    "198.20.0.1",
    "223.255.255.255",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",  # NAT64 of a public address
    "2002:808:808::1",  # 6to4 of a public address
    "2606:4700::1111",
    "2001:4860::8888",
    "2001:200::1",  # just past 2001::/23
    "3fff:1000::1",  # just past 3fff::/20
    "3ffe:ffff::1",
]


@pytest.mark.parametrize("address", PUBLIC)
def test_public_unicast_passes(address: str) -> None:
    assert blocked_reason(ip_address(address)) is None
    NetGuard().check(address)
    NetGuard().check(ip_address(address))


def test_check_names_the_address_without_a_host() -> None:
    with pytest.raises(BlockedDestination) as info:
        NetGuard().check("10.0.0.1")
    assert info.value.host == "10.0.0.1"
    assert isinstance(info.value, OSError)


ALLOWED: list[tuple[str, str, str | None]] = [
    ("127.0.0.0/8", "127.0.0.1", None),
    ("127.0.0.0/8", "::ffff:127.0.0.1", None),  # mapped: the same socket address
    ("127.0.0.0/8", "::127.0.0.1", None),  # IPv4-compatible
    ("127.0.0.0/8", "2001:db8::7f00:1", "documentation"),  # low bits alone do not count
    ("127.0.0.0/8", "64:ff9b::7f00:1", "loopback (as IPv6 64:ff9b::7f00:1)"),
    ("127.0.0.0/8", "10.0.0.1", "private"),
    ("0.0.0.0/8", "::1", "loopback"),  # ::1 is not IPv4-compatible 0.0.0.1
    ("0.0.0.0/8", "::", "unspecified"),
    ("0.0.0.0/8", "::0.0.0.2", None),  # ::2 is IPv4-compatible 0.0.0.2
    ("10.0.0.0/8", "10.255.0.1", None),
    ("10.0.0.0/8", "::ffff:10.1.1.1", None),
    ("::1/128", "::1", None),
    ("::1/128", "127.0.0.1", "loopback"),
    ("fd00::/8", "fd12::1", None),
    ("192.168.1.0/24", "192.168.2.1", "private"),
]


@pytest.mark.parametrize(("allowed", "address", "reason"), ALLOWED)
def test_allowed_networks_opt_back_in(allowed: str, address: str, reason: str | None) -> None:
    guard = NetGuard.from_text(allowed)
    assert guard.reason(ip_address(address)) == reason


@pytest.mark.parametrize(
    ("text", "networks"),
    [
        ("", ()),
        ("127.0.0.0/8", (IPv4Network("127.0.0.0/8"),)),
        ("10.1.2.3/8", (IPv4Network("10.0.0.0/8"),)),  # host bits are forgiven
        ("10.1.2.3", (IPv4Network("10.1.2.3/32"),)),
        (" 127.0.0.0/8 , ::1 ", (IPv4Network("127.0.0.0/8"), IPv6Network("::1/128"))),
        ("127.0.0.0/8,,::1/128", (IPv4Network("127.0.0.0/8"), IPv6Network("::1/128"))),
        (",127.0.0.0/8", (IPv4Network("127.0.0.0/8"),)),  # an empty entry does not end it
        ("127.0.0.0/8,", (IPv4Network("127.0.0.0/8"),)),
    ],
)
def test_parse_networks(text: str, networks: tuple[object, ...]) -> None:
    assert parse_networks(text) == networks
    assert NetGuard.from_text(text).allowed == networks


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "localhost", "1.2.3.4/x", "::1/129"])
def test_parse_networks_names_the_bad_entry(entry: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_networks(f"127.0.0.0/8, {entry}")
    assert str(info.value) == f"HOOKPOST_ALLOWED_NETWORKS: {entry!r} is not an IP network (CIDR)"
    assert info.value.__suppress_context__


@pytest.mark.parametrize(
    ("address", "inner"),
    [
        ("::ffff:1.2.3.4", "1.2.3.4"),
        ("2002:102:304::", "1.2.3.4"),
        ("64:ff9b::102:304", "1.2.3.4"),
        ("::1.2.3.4", "1.2.3.4"),
        ("::2", "0.0.0.2"),
        ("::1", None),
        ("::", None),
        ("2001:db8::102:304", None),
        ("64:ff9b:0:0:0:1:102:304", None),  # outside the /96
        ("::1:0:0:1", None),  # outside ::/96
    ],
)
def test_embedded_ipv4(address: str, inner: str | None) -> None:
    ip = ip_address(address)
    assert not isinstance(ip, IPv4Address)
    got = embedded_ipv4(ip)
    assert got == (None if inner is None else IPv4Address(inner))


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("1.2.3.4", "1.2.3.4"),
        ("[::1]", "::1"),
        ("::1", "::1"),
        (" 127.0.0.1. ", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0X7F.0.0.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1.1", "10.1.0.1"),
        ("0", "0.0.0.0"),
    ],
)
def test_numeric_host_reads_every_spelling(host: str, address: str) -> None:
    assert numeric_host(host) == ip_address(address)


@pytest.mark.parametrize(
    "host",
    [
        *["", "  ", "[]", ".", "example.com", "1.2.3.4.5", "1e3", "256.1", "0x1g", "-1"],
        *["127.0.0.1.x", "10.0.0.1X", "X10.0.0.1", "10.0.0.1.X"],
    ],
)
def test_numeric_host_none_for_names(host: str) -> None:
    assert numeric_host(host) is None


@pytest.mark.parametrize(
    ("host", "canonical"),
    [("1.2.3.4", True), ("::1", False), ("01.2.3.4", False), ("127.1", False), ("x", False)],
)
def test_is_canonical_ipv4(host: str, canonical: bool) -> None:
    assert is_canonical_ipv4(host) is canonical
