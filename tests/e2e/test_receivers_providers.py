"""End to end: hookpost delivers in each provider's format to a receiver written
the way that provider's guide tells its customers to verify.

Byl, Just Wallet and GalaxyJoy receivers are Node.js with only its standard
library (tests/receivers/*.js); Gluwa's is its formula in Python; Stripe's uses
the ``stripe`` package. Each must accept hookpost's real delivery (so the
delivery ends ``succeeded``) and refuse the same request with a tampered body.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import time
from typing import Any

import stripe
from aiohttp import web

from hookpost.core.signing import generate_secret
from hookpost.profiles import generate_keypair
from hookpost.verify import verify
from tests.conftest import Hookpost, Receiver
from tests.receivers.node import node_receiver
from tests.receivers.replay import replay

INVOICE = {
    "id": 71,
    "amount": 10,
    "number": "TEST-0003",
    "status": "paid",
    "due_date": "2023-08-08T16:14:07.000000Z",
    "description": "Анхны нэхэмжлэх",
    "url": "https://byl.mn/h/invoice/5708/XN3GbRBxTslkMCeDj10CJtqlHiPfcmZ8",
}
PAYOUT = {
    "id": "e32a4bb3-7553-4731-962c-d42092123c19",
    "recipient_id": "a90660b9-b045-4df5-a322-deb4a618a846",
    "rail": "LOCAL",
    "currency": "USD",
    "amount": "20.15",
    "charge": 0.15,
    "status": "pending",
    "created_at": "2024-02-09T12:08:43.000000Z",
}
TRANSACTION = {
    "ID": "7d1f1b40-6f1e-4c35-9a55-0d1c9c1b2a10",
    "TxHash": "0x5c50fd3aa2ea1b6d9a29fd7a3c4ce5a1c1d5bb1d2a4f8d4f0f8f1b7b8a3c6d21",
    "Source": "0xfd6b8b4c1cc5a3a0bb5a2f4a90fd0c2d9d2f4c6a",
    "Target": "0x7a1c9c8a2b6f3f1e3a8e6a4b2c3d4e5f60718293",
    "Amount": "100.00",
    "Fee": "0.5",
    "Currency": "USDG",
    "Status": "Confirmed",
    "Note": "café",
}


async def delivered(hp: Hookpost, pid: str) -> tuple[dict[str, Any], bytes]:
    """The one delivery's succeeded record and the exact bytes it sent."""
    (dlv,) = await hp.deliveries(pid)
    done = await hp.wait_status(pid, dlv["id"], "succeeded")
    (attempt,) = done["attempts"]
    return attempt, attempt["request_body"].encode()


async def accepts_only_the_original(
    url: str, attempt: dict[str, Any], body: bytes, old: bytes, new: bytes
) -> None:
    changed = body.replace(old, new, 1)
    assert changed != body
    assert await replay(url, attempt, body) == 200  # the replay itself is faithful
    assert await replay(url, attempt, changed) == 401


async def wait_attempts(hp: Hookpost, pid: str, delivery_id: str, n: int) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        d = await hp.delivery(pid, delivery_id)
        if d["attempt_count"] >= n and d["status"] != "delivering":
            return d
        assert time.monotonic() < deadline, d
        await asyncio.sleep(0.03)


# -- Byl ------------------------------------------------------------------------


async def test_byl_node_receiver_accepts_and_refuses_tampering(hookpost: Hookpost) -> None:
    secret = generate_secret()  # a hookpost-generated whsec_ secret, used whole by Byl's code
    async with node_receiver("byl.js", secret) as node:
        pid, _ = await hookpost.project()
        await hookpost.endpoint(pid, node.url(), profile="byl", secret=secret)
        await hookpost.publish(pid, "invoice.paid", payload=INVOICE, event_id="evt_byl_1")
        attempt, body = await delivered(hookpost, pid)
        assert node.verdicts[0] == {"ok": True, "type": "invoice.paid", "object": "invoice"}
        env = json.loads(body)
        assert list(env) == [
            "id",
            "project_id",
            "type",
            "object",
            "data",
            "created_at",
            "updated_at",
        ]
        assert env["id"] == "evt_byl_1" and env["project_id"] == pid
        assert env["data"] == {"object": INVOICE}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", env["created_at"])
        assert re.fullmatch(r"[0-9a-f]{64}", attempt["request_headers"]["Byl-Signature"])
        await accepts_only_the_original(node.url(), attempt, body, b'"amount":10', b'"amount":1000')


async def test_byl_stops_after_three_failed_attempts(
    hookpost: Hookpost, receiver: Receiver
) -> None:
    pid, _ = await hookpost.project()
    url = receiver.on("/byl", [201, 500, 302])  # Byl: anything but 200 is a failure
    await hookpost.endpoint(pid, url, profile="byl")
    await hookpost.publish(pid, "checkout.completed", payload={"id": 13338})
    (dlv,) = await hookpost.deliveries(pid)
    d = await wait_attempts(hookpost, pid, dlv["id"], 1)
    assert d["status"] == "pending" and d["attempts"][0]["status_code"] == 201
    await hookpost.advance(6.1)
    d = await wait_attempts(hookpost, pid, dlv["id"], 2)
    assert d["status"] == "pending"
    await hookpost.advance(361)
    d = await hookpost.wait_status(pid, dlv["id"], "failed")
    assert [a["status_code"] for a in d["attempts"]] == [201, 500, 302]
    await hookpost.advance(86400)
    await asyncio.sleep(0.3)
    assert len(receiver.at("/byl")) == 3


# -- Just Wallet ---------------------------------------------------------------


async def test_justwallet_node_receiver_reserializing_like_the_guide(hookpost: Hookpost) -> None:
    secret = "our own webhook secret ✓"  # "You can specify any value as your secret"
    async with node_receiver("justwallet.js", secret) as node:
        pid, _ = await hookpost.project()
        await hookpost.endpoint(pid, node.url(), profile="justwallet", secret=secret)
        await hookpost.publish(pid, "payout", payload=PAYOUT)
        attempt, body = await delivered(hookpost, pid)
        assert node.verdicts == [{"ok": True, "type": "payout"}]
        assert json.loads(body) == {"event.type": "payout", "meta": None, "data": PAYOUT}
        assert list(json.loads(body)) == ["event.type", "meta", "data"]
        await accepts_only_the_original(node.url(), attempt, body, b'"20.15"', b'"2015.00"')


async def test_justwallet_quote_event_with_meta(hookpost: Hookpost) -> None:
    secret = generate_secret()
    quote = {
        "meta": ["a764dd44-5e09-42d4-bbad-5dea94de57f8"],
        "data": {
            "id": "608c53fb-c4ec-4d33-9daf-141428c46bdd",
            "funded": False,
            "mode": "live",
            "quote": {"USD": {"amount": 1600, "charge": 17, "total": 1617}},
            "errors": None,
        },
    }
    async with node_receiver("justwallet.js", secret) as node:
        pid, _ = await hookpost.project()
        await hookpost.endpoint(pid, node.url(), profile="justwallet", secret=secret)
        await hookpost.publish(pid, "quote_creation.success", payload=quote)
        _, body = await delivered(hookpost, pid)
        assert node.verdicts == [{"ok": True, "type": "quote_creation.success"}]
        assert json.loads(body) == {"event.type": "quote_creation.success", **quote}


async def test_justwallet_201_is_a_failure(hookpost: Hookpost, receiver: Receiver) -> None:
    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, receiver.on("/jw", [201, 200]), profile="justwallet")
    await hookpost.publish(pid, "collection", payload={"amount": "100.00"})
    (dlv,) = await hookpost.deliveries(pid)
    d = await wait_attempts(hookpost, pid, dlv["id"], 1)
    assert d["status"] == "pending"
    assert d["attempts"][0]["error"] == "unsuccessful status 201"
    await hookpost.advance(6.1)
    d = await hookpost.wait_status(pid, dlv["id"], "succeeded")
    assert [a["status_code"] for a in d["attempts"]] == [201, 200]


# -- GalaxyJoy -----------------------------------------------------------------------


async def test_galaxyjoy_node_receiver_accepts_and_refuses_tampering(hookpost: Hookpost) -> None:
    secret = generate_secret()
    async with node_receiver("galaxyjoy.js", secret) as node:
        pid, _ = await hookpost.project()
        await hookpost.endpoint(pid, node.url(), profile="galaxyjoy", secret=secret)
        user = {"user_id": "u_1", "tier": "gold", "name": "Nguyễn"}
        await hookpost.publish(pid, "user.updated-tier", payload=user, event_id="gj-1")
        attempt, body = await delivered(hookpost, pid)
        assert node.verdicts == [{"ok": True, "type": "user.updated-tier"}]
        env = json.loads(body)
        assert list(env) == ["event_type", "event_id", "timestamp", "body"]
        assert env["event_id"] == "gj-1" and env["body"] == user
        assert abs(env["timestamp"] - time.time()) < 60  # seconds
        header = attempt["request_headers"]["gj-signature"]
        assert re.fullmatch(r"t=\d{13},v1=[0-9a-f]{64}", header)
        await accepts_only_the_original(node.url(), attempt, body, b"gold", b"diamond")


# -- Gluwa ---------------------------------------------------------------------------


def gluwa_receiver(secret: str) -> Any:
    """A Gluwa customer's handler: recompute the formula from their guide,
    ``Base64UrlSafeEncode(HMACSha256(minified JSON body, secret))``, compare."""

    async def handle(request: web.Request, n: int) -> web.Response:
        body = await request.read()
        try:
            minified = json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False)
        except ValueError:
            return web.Response(status=400)
        digest = hmac.new(secret.encode(), minified.encode(), hashlib.sha256).digest()
        expected = base64.urlsafe_b64encode(digest).decode().rstrip("=")
        given = request.headers.get("X-REQUEST-SIGNATURE", "")
        ok = hmac.compare_digest(expected, given)
        return web.Response(status=200 if ok else 401)

    return handle


async def test_gluwa_v2_python_receiver(hookpost: Hookpost, receiver: Receiver) -> None:
    secret = generate_secret()
    url = receiver.on("/gluwa", gluwa_receiver(secret))
    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, url, profile="gluwa", secret=secret)
    await hookpost.publish(pid, "transaction.confirmed", payload=TRANSACTION)
    attempt, body = await delivered(hookpost, pid)
    env = json.loads(body)
    assert list(env) == [
        "ID",
        "CreatedDateTime",
        "ResourceType",
        "EventName",
        "Summary",
        "Resource",
    ]
    assert (env["ResourceType"], env["EventName"]) == ("Transaction", "TRANSACTION.CONFIRMED")
    assert env["Resource"] == TRANSACTION
    assert "=" not in attempt["request_headers"]["X-REQUEST-SIGNATURE"]
    await accepts_only_the_original(url, attempt, body, b'"100.00"', b'"900.00"')


async def test_gluwa_v1_python_receiver(hookpost: Hookpost, receiver: Receiver) -> None:
    secret = "legacy-secret-2019"
    url = receiver.on("/gluwa1", gluwa_receiver(secret))
    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, url, profile="gluwa-v1", secret=secret)
    exchange = {"ID": "order-42", "SourceAmount": "1.0", "ExchangedAmount": "1.1", "Price": "1.1"}
    await hookpost.publish(pid, "exchange.success", payload=exchange)
    attempt, body = await delivered(hookpost, pid)
    assert json.loads(body) == {
        "EventType": "ExchangeSuccess",
        "Type": "Webhook",
        "ResourceID": "order-42",
        **exchange,
    }
    await accepts_only_the_original(url, attempt, body, b'"1.1"', b'"9.1"')


# -- Stripe and standard ---------------------------------------------------------------


async def test_stripe_construct_event_receiver(hookpost: Hookpost, receiver: Receiver) -> None:
    secret = generate_secret()
    seen: list[Any] = []

    async def handle(request: web.Request, n: int) -> web.Response:
        try:
            event = stripe.Webhook.construct_event(
                await request.read(), request.headers.get("Stripe-Signature"), secret
            )
        except (ValueError, stripe.SignatureVerificationError):
            return web.Response(status=400)
        seen.append(event)
        return web.Response(status=200)

    url = receiver.on("/stripe", handle)
    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, url, profile="stripe", secret=secret)
    await hookpost.publish(pid, "invoice.paid", payload=INVOICE, event_id="evt_stripe_1")
    attempt, body = await delivered(hookpost, pid)
    assert seen[0].id == "evt_stripe_1" and seen[0].type == "invoice.paid"
    assert seen[0].data.object["description"] == "Анхны нэхэмжлэх"
    assert await replay(url, attempt, body.replace(b"TEST-0003", b"TEST-0004")) == 400


async def test_standard_ed25519_endpoint(hookpost: Hookpost, receiver: Receiver) -> None:
    secret, public = generate_keypair()
    seen: list[Any] = []

    async def handle(request: web.Request, n: int) -> web.Response:
        body = await request.read()
        try:
            seen.append(verify(body, dict(request.headers), public))
        except Exception:
            return web.Response(status=401)
        return web.Response(status=200)

    url = receiver.on("/asym", handle)
    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, url, secret=secret)
    await hookpost.publish(pid, "invoice.paid", payload=INVOICE)
    attempt, body = await delivered(hookpost, pid)
    assert attempt["request_headers"]["webhook-signature"].startswith("v1a,")
    assert seen[0]["data"] == INVOICE
    await accepts_only_the_original(url, attempt, body, b"TEST-0003", b"TEST-0004")


# -- custom ------------------------------------------------------------------------------


async def test_custom_profile_through_the_api(hookpost: Hookpost, receiver: Receiver) -> None:
    """An operator-defined GitHub-style format, checked by a hand-written receiver."""
    secret = "custom-secret-123"
    definition = {
        "header": "X-Hub-Signature-256",
        "signature_prefix": "sha256=",
        "signed_content": "{timestamp}.{body}",
        "timestamp_header": "X-Hub-Timestamp",
        "id_header": "X-Hub-Delivery",
        "success": "200",
        "envelope": {"action": "{{type}}", "id": "{{id}}", "payload": "{{payload}}"},
    }

    async def handle(request: web.Request, n: int) -> web.Response:
        body = await request.read()
        stamp = request.headers.get("X-Hub-Timestamp", "")
        digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
        ok = hmac.compare_digest(
            "sha256=" + digest.hexdigest(), request.headers.get("X-Hub-Signature-256", "")
        )
        return web.Response(status=200 if ok else 401)

    url = receiver.on("/custom", handle)
    pid, _ = await hookpost.project()
    bad = await hookpost.http.post(
        f"/api/v1/projects/{pid}/profiles",
        json={"name": "hub", "definition": {**definition, "encoding": "base32"}},
    )
    assert bad.status_code == 422, bad.text
    assert "encoding" in bad.text
    r = await hookpost.http.post(
        f"/api/v1/projects/{pid}/profiles", json={"name": "hub", "definition": definition}
    )
    assert r.status_code == 201, r.text
    await hookpost.endpoint(pid, url, profile="hub", secret=secret)
    await hookpost.publish(pid, "order.shipped", payload={"order": 7}, event_id="ord-7")
    attempt, body = await delivered(hookpost, pid)
    assert json.loads(body) == {"action": "order.shipped", "id": "ord-7", "payload": {"order": 7}}
    assert attempt["request_headers"]["X-Hub-Delivery"] == "ord-7"
    await accepts_only_the_original(url, attempt, body, b'"order":7', b'"order":8')
