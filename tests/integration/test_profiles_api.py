"""Custom profiles stored per project, and secret rotation through the API."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
import standardwebhooks

from hookpost.verify import WebhookVerificationError, verify
from tests.conftest import Hookpost, Receiver

DEFINITION = {
    "header": "X-Acme-Signature",
    "signature_prefix": "sha256=",
    "signed_content": "{timestamp}.{body}",
    "encoding": "hex",
    "timestamp_header": "X-Acme-Timestamp",
    "timestamp_unit": "s",
    "envelope": {"kind": "{{type}}", "at": "{{timestamp}}", "data": "{{payload}}"},
}


async def test_custom_profile_end_to_end(hookpost: Hookpost, receiver: Receiver) -> None:
    pid, _ = await hookpost.project()
    url = f"/api/v1/projects/{pid}/profiles"
    bad = await hookpost.http.post(
        url, json={"name": "acme", "definition": {**DEFINITION, "encoding": "rot13"}}
    )
    assert bad.status_code == 422
    assert any(d["field"] == "definition.encoding" for d in bad.json()["detail"])
    clash = await hookpost.http.post(url, json={"name": "stripe", "definition": DEFINITION})
    assert clash.status_code == 422 and "name" in clash.json()["message"]
    assert (await hookpost.http.get(url)).json()["data"] == []

    r = await hookpost.http.post(url, json={"name": "acme", "definition": DEFINITION})
    assert r.status_code == 201, r.text
    assert (
        await hookpost.http.post(url, json={"name": "acme", "definition": DEFINITION})
    ).status_code == 409
    secret = "plain-text-secret-123"
    ep = await hookpost.endpoint(pid, receiver.url("/acme"), profile="acme", secret=secret)
    assert ep["profile"] == "acme"
    unknown = await hookpost.http.post(
        f"/api/v1/projects/{pid}/endpoints", json={"url": receiver.url(), "profile": "nope"}
    )
    assert unknown.status_code == 422 and "profile" in unknown.json()["message"]

    await hookpost.publish(pid, "order.paid", payload={"n": 1})
    (req,) = await receiver.wait_for(1)
    ts = req.headers["X-Acme-Timestamp"]
    expected = hmac.new(secret.encode(), f"{ts}.".encode() + req.body, hashlib.sha256).hexdigest()
    assert req.headers["X-Acme-Signature"] == "sha256=" + expected
    body = json.loads(req.body)
    assert body["kind"] == "order.paid" and body["data"] == {"n": 1}
    # the profile cannot go while an endpoint uses it
    assert (await hookpost.http.delete(f"{url}/acme")).status_code == 409


async def test_rotation_signs_with_both_secrets_during_grace(
    hookpost: Hookpost, receiver: Receiver
) -> None:
    pid, _ = await hookpost.project()
    ep = await hookpost.endpoint(pid, receiver.url("/rot"))
    old = ep["secret"]
    r = await hookpost.http.post(
        f"/api/v1/projects/{pid}/endpoints/{ep['id']}/rotate-secret",
        json={"grace_period_seconds": 3600},
    )
    assert r.status_code == 200, r.text
    new = r.json()["secret"]
    assert new != old and new.startswith("whsec_")
    await hookpost.publish(pid, event_id="during-grace")
    (req,) = await receiver.wait_for(1)
    for s in (old, new):  # a receiver holding either secret accepts it
        standardwebhooks.Webhook(s).verify(req.body, req.headers)
        assert verify(req.body, req.headers, s)["type"] == "user.created"
    hookpost.clock.advance(3601)
    await hookpost.publish(pid, event_id="after-grace")
    (_, req2) = await receiver.wait_for(2)
    assert len(req2.headers["webhook-signature"].split()) == 1
    now = hookpost.clock.now()  # the signature carries the (moved) clock's time
    assert verify(req2.body, req2.headers, new, now=now)["type"] == "user.created"
    with pytest.raises(WebhookVerificationError):
        verify(req2.body, req2.headers, old, now=now)  # the grace period is over
