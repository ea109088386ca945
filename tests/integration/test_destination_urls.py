"""Broker URLs at the API: 422s that say what is wrong, SSRF on the broker's host, the
mask, and an HTTP path that loads no broker client (issue 19). No broker is needed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hookpost.core import destination_url
from hookpost.core.netguard import NetGuard, parse_networks
from hookpost.delivery.sender import About, Sender
from hookpost.services.destinations import DestinationPolicy
from tests.brokers import hp
from tests.conftest import Hookpost
from tests.fakedns import FakeResolver

__all__ = ["hp"]

ACCEPTED = [
    "amqp://guest:guest@127.0.0.1:5672/",
    "amqps://u:p@127.0.0.1/%2F?exchange=events&routing_key=k",
    "redis://127.0.0.1:6379/0?stream=events&maxlen=1000",
    "rediss://:secret@127.0.0.1/2",
    "nats://127.0.0.1:4222?subject=orders.created",
    "mqtt://127.0.0.1:1883/hooks/orders",
    "mqtts://u:p@127.0.0.1/t",
    "sqs://127.0.0.1/000000000000/events.fifo?region=us-east-1&endpoint_url=http://127.0.0.1:4566",
]

REFUSED = {
    "ftp://127.0.0.1/x": "must be an http(s), amqp(s), redis(s), nats, mqtt(s) or sqs URL",
    "amqp://127.0.0.1/?exchnage=x": "has an unknown option 'exchnage' (amqp:// takes exchange",
    "amqp://127.0.0.1/a/b": "more than the vhost",
    "redis://127.0.0.1/zero": "has a database that is not a number",
    "redis://127.0.0.1/0?maxlen=-5": "has a maxlen that is not a positive whole number",
    "nats://127.0.0.1/orders": "must name its subject as ?subject=NAME",
    "nats://127.0.0.1?subject=orders.*": "has an invalid subject",
    "mqtt://127.0.0.1/orders/#": "has a topic with a wildcard",
    "mqtt://127.0.0.1/t?qos=0": "has a qos other than 1",
    "sqs://127.0.0.1/000000000000/q": "needs ?region=R",
    "sqs://127.0.0.1/q?region=us-east-1": "must be sqs://QUEUE_HOST/ACCOUNT/QUEUE",
    "sqs://key@127.0.0.1/1/q?region=r": "needs both KEY_ID:SECRET@ or neither",
    "sqs://127.0.0.1/1/q?region=r&endpoint_url=ftp://x": "endpoint_url that is not an http(s)",
    "amqp://": "must include a host",
}


@pytest.mark.parametrize("url", ACCEPTED)
async def test_broker_urls_are_accepted(hp: Hookpost, url: str) -> None:
    pid, _ = await hp.project()
    ep = await hp.endpoint(pid, url)
    assert ep["url"] == destination_url.mask(url)


@pytest.mark.parametrize(("url", "says"), REFUSED.items())
async def test_broker_url_problems_are_422_naming_url(hp: Hookpost, url: str, says: str) -> None:
    pid, _ = await hp.project()
    r = await hp.http.post(f"/api/v1/projects/{pid}/endpoints", json={"url": url})
    assert r.status_code == 422, r.text
    (problem,) = [e for e in r.json()["detail"] if e["field"] == "url"]
    assert says in problem["message"], problem


async def test_masked_password_with_nothing_stored_is_422(hp: Hookpost) -> None:
    pid, _ = await hp.project()
    ep = await hp.endpoint(pid, "amqp://127.0.0.1/")
    r = await hp.http.patch(
        f"/api/v1/projects/{pid}/endpoints/{ep['id']}", json={"url": "amqp://u:***@127.0.0.1/"}
    )
    assert r.status_code == 422 and "stands for the stored one" in r.text


async def test_broker_host_gets_the_ssrf_rules() -> None:
    dns = FakeResolver({"internal.test": ["10.0.0.5"], "rabbit.test": ["93.184.216.34"]})
    refuse = DestinationPolicy.create(NetGuard(), dns)
    assert "loopback" in (await refuse.problem("amqp://guest:guest@127.0.0.1:5672/") or "")
    assert "does not deliver to" in (await refuse.problem("redis://internal.test/0") or "")
    emulator = "sqs://sqs.us-east-1.amazonaws.com/1/q?endpoint_url=http://127.0.0.1:4566"
    assert "loopback" in (await refuse.problem(emulator) or "")  # where it connects
    assert await refuse.problem("mqtt://rabbit.test/t") is None
    allowed = DestinationPolicy.create(NetGuard(parse_networks("10.0.0.0/8")), dns)
    assert await allowed.problem("redis://internal.test/0") is None  # HOOKPOST_ALLOWED_NETWORKS
    tls_only = DestinationPolicy.create(NetGuard(), dns, https_only=True)
    assert "TLS" in (await tls_only.problem("mqtt://rabbit.test/t") or "")
    assert await tls_only.problem("mqtts://rabbit.test/t") is None


async def test_blocked_broker_is_a_failed_attempt_not_a_connection() -> None:
    dns = FakeResolver({"rebound.test": ["127.0.0.1"]})
    async with Sender(guard=NetGuard(), resolver=dns) as sender:
        about = About("evt_1", "user.created", "ep_1")
        for url in ("amqp://u:pw@rebound.test:5672/", "amqp://u:pw@127.0.0.1:5672/"):
            result = await sender.post(url, b"{}", {}, 2.0, about=about)
            assert result.error == "blocked destination" and not result.accepted
            assert "pw" not in result.url


def test_mask_and_unmask() -> None:
    url = "amqp://user:p%40ss@127.0.0.1:5672/%2F?exchange=x"
    shown = destination_url.mask(url)
    assert shown == "amqp://user:***@127.0.0.1:5672/%2F?exchange=x"
    assert destination_url.parse(destination_url.unmask(shown, url)).password == "p@ss"
    assert destination_url.unmask("amqp://user:new@h/", url) == "amqp://user:new@h/"
    assert destination_url.mask("https://example.com/hook") == "https://example.com/hook"


def test_http_path_imports_no_broker_client() -> None:
    code = (
        "import sys, hookpost.delivery, hookpost.api.app\n"
        "heavy = ('aio_pika', 'aiormq', 'redis', 'nats', 'aiomqtt', 'paho', 'aiobotocore',"
        " 'botocore')\n"
        "print([m for m in sys.modules if m.split('.')[0] in heavy])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_a_missing_extra_is_an_attempt_error_naming_the_install() -> None:
    """Without aiomqtt installed, an mqtt:// endpoint's attempts say what to install."""
    code = (
        "import asyncio, sys\n"
        "sys.modules['aiomqtt'] = None  # as if the mqtt extra were not installed\n"
        "from hookpost.core.netguard import NetGuard, parse_networks\n"
        "from hookpost.delivery.sender import Sender\n"
        "async def main():\n"
        "    async with Sender(guard=NetGuard(parse_networks('127.0.0.0/8'))) as s:\n"
        "        r = await s.post('mqtt://u:pw@127.0.0.1:1883/t', b'{}', {}, 2.0)\n"
        "        print(r.error, r.url, r.accepted)\n"
        "asyncio.run(main())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == (
        "the mqtt client is not installed (aiomqtt): pip install 'hookpost[mqtt]' "
        "mqtt://u:***@127.0.0.1:1883/t False"
    ), out.stdout + out.stderr
