"""What an attempt records is what went on the wire: the URL byte for byte, every header.

A raw TCP receiver captures the request line and header block exactly as they
arrived; the attempt's ``url`` and ``request_headers`` must say the same, and
the dashboard's copy-as-curl command, run with the real curl against the same
receiver, must send the same request again. The table is URL spellings HTTP
clients like to "fix": percent-escapes in path and query, dot segments,
``+``, UTF-8 already percent-encoded, a trailing ``?``, an empty query.
"""

from __future__ import annotations

import asyncio
import html
import re
import shlex
import shutil
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import ADMIN, Hookpost
from tests.rawhttp import RawReceiver, raw_receiver

#: Registered path-and-query -> the request target that must go on the wire
#: (None: the registered one, unchanged).
SPELLINGS: dict[str, str | None] = {
    "/a%2Fb": None,
    "/a%2fb%2F": None,
    "/p/../q": None,
    "/p/./q/.": None,
    "/a/%2e%2e/b": None,
    "/p//double//slash": None,
    "/p?x=%2F%3F%3A": None,
    "/p?next=/a/../b?c=d": None,
    "/p?q=a+b&r=%2B&s=%20": None,
    "/%E2%82%AC?q=%e2%82%ac": None,
    "/p%3Fnot-a-query": None,
    "/p?": None,
    "/p?&": None,
    "/p?a=&&b": None,
    "/?": None,
    "/p;v=1?x=%25": None,
    "/p?a[]=1&b={x}": None,
    "/~user/%7Euser": None,
    "/caf\u00e9?q=\u00e9": "/caf%C3%A9?q=%C3%A9",  # raw UTF-8 cannot go on a request line
    "/p#fragment": "/p",  # no client sends the fragment
    "": "/",
    "?x=1": "/?x=1",
}


@pytest.fixture
async def raw() -> AsyncIterator[RawReceiver]:
    async with raw_receiver() as receiver:
        yield receiver


def as_text(headers: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(n.decode(), v.decode()) for n, v in headers]


async def curl_of(hp: Hookpost, project_id: str, delivery_id: str) -> list[str]:
    """The copy-as-curl command of attempt 1, as the dashboard shows it, split into argv."""
    async with httpx.AsyncClient(base_url=hp.base_url, timeout=30) as browser:
        r = await browser.post("/login", data={"token": ADMIN, "next": "/"})
        assert r.status_code == 303, r.text
        page = await browser.get(f"/projects/{project_id}/deliveries/{delivery_id}")
    assert page.status_code == 200
    found = re.search(r'<pre id="curl-1">(.*?)</pre>', page.text, re.S)
    assert found, "no copy-as-curl on the delivery page"
    return shlex.split(html.unescape(found.group(1)).replace("\\\n", " "))


@pytest.mark.parametrize("spelling", list(SPELLINGS))
async def test_the_registered_url_goes_out_byte_for_byte(
    hookpost: Hookpost, raw: RawReceiver, spelling: str
) -> None:
    registered = raw.url(spelling)
    target = SPELLINGS[spelling] or spelling
    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, registered, headers={"X-Custom": "kept"})
    await hookpost.publish(pid)
    (got,) = await raw.wait_for(1)
    assert got.line == f"POST {target} HTTP/1.1".encode()

    (d,) = await hookpost.deliveries(pid)
    d = await hookpost.wait_status(pid, d["id"], "succeeded")
    (attempt,) = d["attempts"]
    assert attempt["url"] == raw.url(target)
    if SPELLINGS[spelling] is None:
        assert attempt["url"] == registered  # recorded as registered, not "normalized"
    # Every header that went out, in the order it went out, the client's own included.
    assert list(attempt["request_headers"].items()) == as_text(got.headers)
    names = {n.lower() for n in attempt["request_headers"]}
    assert {"host", "user-agent", "content-length", "accept-encoding", "x-custom"} <= names
    assert attempt["request_body"].encode() == got.body

    # Copy-as-curl names the same URL and headers...
    argv = await curl_of(hookpost, pid, d["id"])
    assert argv[:4] == ["curl", "-X", "POST", attempt["url"]]
    sent_headers = [argv[i + 1] for i, a in enumerate(argv) if a == "-H"]
    assert sent_headers == [
        f"{n}: {v}"
        for n, v in attempt["request_headers"].items()
        if n.lower() not in ("host", "content-length")
    ]
    # ...and the real curl, run with it, sends the same request line, headers and body.
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    proc = await asyncio.create_subprocess_exec(
        *argv, "--silent", "--max-time", "10", stdout=asyncio.subprocess.DEVNULL
    )
    assert await asyncio.wait_for(proc.wait(), 20) == 0
    _, again = await raw.wait_for(2)
    assert again.line == got.line
    assert {n.lower(): v for n, v in again.headers} == {n.lower(): v for n, v in got.headers}
    assert again.body == got.body


@pytest.mark.parametrize(
    "answer",
    [
        b"",  # connected, sent, closed without a word
        b"\x00garbage\r\n\r\n",  # sent, answer unreadable
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 9\r\n\r\ncut",  # cut short
    ],
)
async def test_headers_sent_are_recorded_when_no_answer_came(
    hookpost: Hookpost, raw: RawReceiver, answer: bytes
) -> None:
    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, raw.on("silent", answer), max_attempts=1)
    await hookpost.publish(pid)
    (got,) = await raw.wait_for(1)
    (d,) = await hookpost.deliveries(pid)
    d = await hookpost.wait_status(pid, d["id"], "failed")
    (attempt,) = d["attempts"]
    assert attempt["error"]
    assert list(attempt["request_headers"].items()) == as_text(got.headers)
