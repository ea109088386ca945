"""Built-in profiles: exact wire contracts, checked against independent implementations.

Every expected signature here is computed by code that does not import
hookpost's signing (hashlib/hmac written out, or the provider's own library),
so a bug shared by the sender and ``hookpost.verify`` cannot hide.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from typing import Any

import pytest
import standardwebhooks
import stripe
import svix

from hookpost.core.signing import generate_secret
from hookpost.profiles import (
    PROFILE_NAMES,
    RESERIALIZING_PROFILES,
    EventData,
    MalformedWebhookError,
    generate_keypair,
    get_profile,
    public_key_for,
)
from hookpost.verify import WebhookVerificationError, verify

NOW = 1_700_000_000.25
EVENT = EventData(
    id="evt_01HZX",
    type="transaction.confirmed",
    created_at=1_699_999_990.5,
    payload={"TxHash": "0xabc", "Amount": "20.15", "Note": "Zoë ✓"},
    project_id="prj_1",
)


def hex_hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed(name: str, secrets: list[str], event: EventData = EVENT) -> tuple[bytes, dict[str, str]]:
    profile = get_profile(name)
    body = profile.body(event)
    return body, profile.sign(msg_id=event.id, timestamp=NOW, body=body, secrets=secrets)


def test_registry_has_every_builtin() -> None:
    assert set(PROFILE_NAMES) == {
        "standard",
        "stripe",
        "galaxyjoy",
        "gluwa",
        "gluwa-v1",
        "justwallet",
        "byl",
    }
    for name in PROFILE_NAMES:
        assert get_profile(name).name == name


def test_bodies_are_deterministic_compact_utf8() -> None:
    for name in PROFILE_NAMES:
        profile = get_profile(name)
        body = profile.body(EVENT)
        assert body == profile.body(EVENT), name
        assert b", " not in body and b": " not in body, name
        assert "Zoë ✓".encode() in body, name


# -- stripe ------------------------------------------------------------------


def test_stripe_envelope_and_header() -> None:
    secret = generate_secret()
    body, headers = signed("stripe", [secret])
    assert list(json.loads(body)) == [
        "id",
        "object",
        "api_version",
        "created",
        "type",
        "data",
        "livemode",
        "pending_webhooks",
        "request",
    ]
    env = json.loads(body)
    assert env["id"] == EVENT.id and env["object"] == "event"
    assert env["created"] == 1_699_999_990 and env["type"] == EVENT.type
    assert env["data"] == {"object": EVENT.payload}
    assert env["livemode"] is False
    assert env["request"] == {"id": None, "idempotency_key": None}
    # Stripe's own signer produces the very same header.
    expected = stripe.WebhookSignature.generate_signature_header(
        body.decode(), secret, timestamp=int(NOW)
    )
    assert headers == {"Stripe-Signature": expected}


def test_stripe_library_verifies_and_rejects_tampering() -> None:
    secret = generate_secret()
    profile = get_profile("stripe")
    body = profile.body(EVENT)
    headers = profile.sign(msg_id=EVENT.id, timestamp=time.time(), body=body, secrets=[secret])
    event = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], secret)
    assert event.type == "transaction.confirmed"
    assert event.data.object["Note"] == "Zoë ✓"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            body.replace(b"20.15", b"99.15"), headers["Stripe-Signature"], secret
        )


def test_stripe_rotation_each_secret_alone_verifies() -> None:
    old, new = generate_secret(), generate_secret()
    profile = get_profile("stripe")
    body = profile.body(EVENT)
    headers = profile.sign(msg_id=EVENT.id, timestamp=time.time(), body=body, secrets=[new, old])
    header = headers["Stripe-Signature"]
    assert len(re.findall(r"v1=[0-9a-f]{64}", header)) == 2
    for secret in (old, new):
        assert stripe.WebhookSignature.verify_header(body, header, secret, tolerance=300)
        assert verify(body, headers, secret, profile="stripe")["id"] == EVENT.id
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(body, header, generate_secret(), tolerance=300)


def test_stripe_verify_accepts_a_stripe_generated_header() -> None:
    body = b'{"id":"evt_1","object":"event","type":"x.y","data":{"object":{}}}'
    header = stripe.WebhookSignature.generate_signature_header(
        body.decode(), "whsec_plain", timestamp=int(NOW)
    )
    headers = {"stripe-signature": header}
    assert verify(body, headers, "whsec_plain", profile="stripe", now=NOW)["id"] == "evt_1"
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify(body, headers, "whsec_plain", profile="stripe", now=NOW + 301)


# -- galaxyjoy -------------------------------------------------------------------


def test_galaxyjoy_contract() -> None:
    secret = generate_secret()
    body, headers = signed("galaxyjoy", [secret])
    assert json.loads(body) == {
        "event_type": "transaction.confirmed",
        "event_id": EVENT.id,
        "timestamp": 1_699_999_990,
        "body": EVENT.payload,
    }
    assert list(json.loads(body)) == ["event_type", "event_id", "timestamp", "body"]
    t = str(int(NOW * 1000))
    assert headers == {"gj-signature": f"t={t},v1={hex_hmac(secret, f'{t}.'.encode() + body)}"}
    assert len(t) == 13  # milliseconds, like the guide's t=1681309224070


def test_galaxyjoy_rotation_and_replay_window() -> None:
    old, new = generate_secret(), generate_secret()
    body, headers = signed("galaxyjoy", [new, old])
    assert headers["gj-signature"].count("v1=") == 2
    for secret in (old, new):
        assert verify(body, headers, secret, profile="galaxyjoy", now=NOW)["event_id"] == EVENT.id
    with pytest.raises(WebhookVerificationError):
        verify(body, headers, generate_secret(), profile="galaxyjoy", now=NOW)
    # t is in milliseconds; tolerance is in seconds.
    assert verify(body, headers, new, profile="galaxyjoy", now=NOW + 299)
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify(body, headers, new, profile="galaxyjoy", now=NOW + 301)
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify(body, headers, new, profile="galaxyjoy", now=NOW - 301)


def test_galaxyjoy_timestamp_is_signed() -> None:
    secret = generate_secret()
    body, headers = signed("galaxyjoy", [secret])
    moved = re.sub(r"t=(\d+)", lambda m: f"t={int(m.group(1)) + 1000}", headers["gj-signature"])
    with pytest.raises(WebhookVerificationError, match="no matching"):
        verify(body, {"gj-signature": moved}, secret, profile="galaxyjoy", now=NOW)


# -- gluwa -------------------------------------------------------------------------


def gluwa_formula(body: bytes, secret: str) -> str:
    """Gluwa's guide: Base64UrlSafeEncode(HMACSha256(minified JSON body, secret))."""
    minified = json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False)
    digest = hmac.new(secret.encode(), minified.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()


def test_gluwa_v2_contract() -> None:
    secret = generate_secret()
    body, headers = signed("gluwa", [secret])
    env = json.loads(body)
    assert list(env) == [
        "ID",
        "CreatedDateTime",
        "ResourceType",
        "EventName",
        "Summary",
        "Resource",
    ]
    assert env["EventName"] == "TRANSACTION.CONFIRMED"
    assert env["ResourceType"] == "Transaction"
    assert env["Summary"] == "Transaction confirmed"
    assert env["Resource"] == EVENT.payload
    assert env["CreatedDateTime"] == "2023-11-14T22:13:10.500Z"
    assert uuid.UUID(env["ID"]).version == 5  # a stable UUID for a non-UUID event id
    assert json.loads(signed("gluwa", [secret])[0])["ID"] == env["ID"]
    assert headers == {"X-REQUEST-SIGNATURE": gluwa_formula(body, secret).rstrip("=")}


def test_gluwa_keeps_uuid_ids_and_maps_exchange() -> None:
    event_id = str(uuid.uuid4())
    ev = EventData(event_id, "exchange.success", NOW, {"ID": "ord_1"}, "prj_1")
    env = json.loads(get_profile("gluwa").body(ev))
    assert env["ID"] == event_id
    assert (env["ResourceType"], env["EventName"]) == ("Exchange", "EXCHANGE.SUCCESS")


def test_gluwa_v1_contract() -> None:
    secret = "pre-2020 secret"
    body, headers = signed("gluwa-v1", [secret])
    assert json.loads(body) == {
        "EventType": "TransactionConfirmed",
        "Type": "Webhook",
        "ResourceID": "0xabc",  # the transaction hash, as the guide defines it
        **EVENT.payload,
    }
    assert list(json.loads(body))[:3] == ["EventType", "Type", "ResourceID"]
    assert headers == {"X-REQUEST-SIGNATURE": gluwa_formula(body, secret).rstrip("=")}
    exchange = EventData("evt_2", "exchange.failed", NOW, {"ID": "order-9", "Type": "x"}, "p")
    env = json.loads(get_profile("gluwa-v1").body(exchange))
    assert env == {"EventType": "ExchangeFailed", "Type": "Webhook", "ResourceID": "order-9"} | {
        "ID": "order-9"
    }


def test_gluwa_verify_accepts_padded_and_unpadded() -> None:
    secret = generate_secret()
    body, headers = signed("gluwa", [secret])
    padded = gluwa_formula(body, secret)
    assert padded.endswith("=")
    for value in (padded, padded.rstrip("=")):
        assert verify(body, {"x-request-signature": value}, secret, profile="gluwa")
    with pytest.raises(WebhookVerificationError):
        verify(body[:-1] + b" }", headers, secret, profile="gluwa")


def test_gluwa_signs_with_the_current_secret_only() -> None:
    old, new = generate_secret(), generate_secret()
    body, headers = signed("gluwa", [new, old])
    assert headers["X-REQUEST-SIGNATURE"] == gluwa_formula(body, new).rstrip("=")
    with pytest.raises(WebhookVerificationError):
        verify(body, headers, old, profile="gluwa")
    assert verify(body, headers, [old, new], profile="gluwa")


# -- just wallet ---------------------------------------------------------------


def test_justwallet_contract() -> None:
    secret = "anything the customer likes"
    ev = EventData("evt_3", "payout", NOW, {"id": "e32a", "amount": "20.15"}, "p")
    body, headers = signed("justwallet", [secret], ev)
    assert body == b'{"event.type":"payout","meta":null,"data":{"id":"e32a","amount":"20.15"}}'
    assert headers == {"Signature": hex_hmac(secret, body)}
    # The guide's receivers hash JSON.stringify(parsed body): same bytes here.
    reserialized = json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False)
    assert reserialized.encode() == body


def test_justwallet_meta_from_a_split_payload() -> None:
    payload = {"meta": ["a764dd44"], "data": {"id": "608c", "funded": False}}
    ev = EventData("evt_4", "quote_creation.success", NOW, payload, "p")
    assert json.loads(get_profile("justwallet").body(ev)) == {
        "event.type": "quote_creation.success",
        "meta": ["a764dd44"],
        "data": {"id": "608c", "funded": False},
    }


@pytest.mark.parametrize(
    ("serializer", "data"),
    [
        (None, '{"u":"a/b","n":"Зоя","f":1,"o":{}}'),
        ("javascript", '{"u":"a/b","n":"Зоя","f":1,"o":{}}'),
        ("php", '{"u":"a\\/b","n":"\\u0417\\u043e\\u044f","f":1,"o":[]}'),
        ("ruby", '{"u":"a/b","n":"Зоя","f":1.0,"o":{}}'),
    ],
)
def test_justwallet_writes_and_signs_its_receivers_serialization(
    serializer: str | None, data: str
) -> None:
    secret = "s3cret"
    ev = EventData("evt_5", "payout", NOW, {"u": "a/b", "n": "Зоя", "f": 1.0, "o": {}}, "p")
    profile = get_profile("justwallet", serializer)
    body = profile.body(ev)
    headers = profile.sign(msg_id=ev.id, timestamp=NOW, body=body, secrets=[secret])
    assert body == ('{"event.type":"payout","meta":null,"data":' + data + "}").encode()
    assert headers == {"Signature": hex_hmac(secret, body)}  # the bytes sent are the bytes signed
    assert verify(body, headers, secret, profile="justwallet")


def test_only_justwallet_reserializes() -> None:
    assert RESERIALIZING_PROFILES == ("justwallet",)
    assert get_profile("standard", "php") is get_profile("standard")  # ignored elsewhere
    assert get_profile("justwallet", "php") is get_profile("justwallet", "php")  # one each
    with pytest.raises(KeyError, match="serializer"):
        get_profile("justwallet", "perl")


def test_justwallet_success_is_200_only() -> None:
    profile = get_profile("justwallet")
    assert profile.is_success(200)
    assert not any(profile.is_success(s) for s in (201, 202, 204, 301, 302, 304, 400, 500))


# -- byl -------------------------------------------------------------------------


def test_byl_contract() -> None:
    secret = generate_secret()
    invoice = {"id": 71, "amount": 10, "number": "TEST-0003", "status": "paid"}
    ev = EventData("evt_5", "invoice.paid", 1_691_424_856.0, invoice, "prj_byl")
    body, headers = signed("byl", [secret], ev)
    assert json.loads(body) == {
        "id": "evt_5",
        "project_id": "prj_byl",
        "type": "invoice.paid",
        "object": "invoice",
        "data": {"object": invoice},
        "created_at": "2023-08-07T16:14:16.000000Z",
        "updated_at": "2023-08-07T16:14:16.000000Z",
    }
    assert list(json.loads(body)) == [
        "id",
        "project_id",
        "type",
        "object",
        "data",
        "created_at",
        "updated_at",
    ]
    # PHP's hash_hmac('sha256', $payload, $secret) with the whole whsec_ string as key
    assert headers == {"Byl-Signature": hex_hmac(secret, body)}


def test_byl_rules() -> None:
    profile = get_profile("byl")
    assert profile.max_attempts == 3
    assert profile.is_success(200)
    assert not profile.is_success(201) and not profile.is_success(302)


@pytest.mark.parametrize("name", ["standard", "stripe", "galaxyjoy", "gluwa"])
def test_other_profiles_take_any_2xx_and_the_default_attempts(name: str) -> None:
    profile = get_profile(name)
    assert profile.max_attempts is None
    assert profile.is_success(200) and profile.is_success(204) and profile.is_success(299)
    assert not profile.is_success(302) and not profile.is_success(500)


# -- standard: ed25519 ---------------------------------------------------------


def test_standard_asymmetric_keys() -> None:
    secret, public = generate_keypair()
    assert secret.startswith("whsk_") and public.startswith("whpk_")
    assert len(base64.b64decode(secret[5:])) == 64 and len(base64.b64decode(public[5:])) == 32
    assert public_key_for(secret) == public
    assert public_key_for(generate_secret()) is None
    profile = get_profile("standard")
    assert profile.validate_secret(secret) is None
    assert profile.validate_secret(public) is not None  # cannot sign
    seed_only = "whsk_" + base64.b64encode(base64.b64decode(secret[5:])[:32]).decode()
    assert profile.validate_secret(seed_only) is None
    assert public_key_for(seed_only) == public
    other, _ = generate_keypair()
    mismatched = (
        "whsk_"
        + base64.b64encode(
            base64.b64decode(secret[5:])[:32] + base64.b64decode(other[5:])[32:]
        ).decode()
    )
    assert profile.validate_secret(mismatched) is not None


def test_standard_v1a_signature_verifies_with_the_public_key() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    secret, public = generate_keypair()
    body, headers = signed("standard", [secret])
    version, _, sig = headers["webhook-signature"].partition(",")
    assert version == "v1a"
    # Independent check with the raw ed25519 primitive.
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public[5:]))
    key.verify(base64.b64decode(sig), f"{EVENT.id}.{int(NOW)}.".encode() + body)
    assert verify(body, headers, public, now=NOW)["data"] == EVENT.payload
    assert verify(body, headers, secret, now=NOW)  # the holder of the secret can verify too
    _, stranger = generate_keypair()
    with pytest.raises(WebhookVerificationError):
        verify(body, headers, stranger, now=NOW)
    with pytest.raises(WebhookVerificationError):
        verify(body.replace(b"20.15", b"20.16"), headers, public, now=NOW)


def test_standard_rotation_from_symmetric_to_asymmetric() -> None:
    old = generate_secret()
    new, public = generate_keypair()
    profile = get_profile("standard")
    body = profile.body(EVENT)
    headers = profile.sign(msg_id=EVENT.id, timestamp=time.time(), body=body, secrets=[new, old])
    versions = [s.split(",")[0] for s in headers["webhook-signature"].split()]
    assert versions == ["v1a", "v1"]
    assert verify(body, headers, public)
    assert verify(body, headers, old)
    # A symmetric-only verifier skips the v1a entry and still finds its v1.
    standardwebhooks.Webhook(old).verify(body, headers)
    svix.Webhook(old).verify(body, headers)


@pytest.mark.parametrize("lib", ["standardwebhooks", "svix"])
def test_standard_rotation_third_party_verifiers(lib: str) -> None:
    old, new = generate_secret(), generate_secret()
    profile = get_profile("standard")
    body = profile.body(EVENT)
    headers = profile.sign(msg_id=EVENT.id, timestamp=time.time(), body=body, secrets=[new, old])
    verifier: Any = standardwebhooks.Webhook if lib == "standardwebhooks" else svix.Webhook
    for secret in (old, new):
        verifier(secret).verify(body, headers)
    with pytest.raises(Exception, match=r"(?i)signature"):
        verifier(generate_secret()).verify(body, headers)


# -- verify() behaviour shared by all profiles -------------------------------------


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_header_names_are_case_insensitive(name: str) -> None:
    secret = generate_secret()
    body, headers = signed(name, [secret])
    for variant in (
        {k.lower(): v for k, v in headers.items()},
        {k.upper(): v for k, v in headers.items()},
    ):
        assert verify(body, variant, secret, profile=name, now=NOW)


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_missing_signature_is_malformed_and_wrong_secret_is_not(name: str) -> None:
    secret = generate_secret()
    body, headers = signed(name, [secret])
    with pytest.raises(MalformedWebhookError):
        verify(body, {}, secret, profile=name, now=NOW)
    with pytest.raises(WebhookVerificationError) as info:
        verify(body, headers, generate_secret(), profile=name, now=NOW)
    assert not isinstance(info.value, MalformedWebhookError)


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_generated_secrets_are_accepted_by_every_profile(name: str) -> None:
    assert get_profile(name).validate_secret(generate_secret()) is None


@pytest.mark.parametrize("name", [n for n in PROFILE_NAMES if n != "standard"])
def test_raw_secret_profiles_take_plain_text_but_not_keys(name: str) -> None:
    profile = get_profile(name)
    assert profile.validate_secret("my own secret") is None
    assert profile.validate_secret(" padded ") is not None
    assert profile.validate_secret("line\nbreak") is not None
    assert profile.validate_secret(generate_keypair()[0]) is not None


def test_unknown_profile_and_empty_secrets_are_verification_errors() -> None:
    with pytest.raises(WebhookVerificationError, match="unknown profile"):
        verify(b"{}", {}, "s", profile="nope")
    with pytest.raises(WebhookVerificationError, match="no secret"):
        verify(b"{}", {}, [])


@pytest.mark.parametrize("name", ["standard", "stripe", "galaxyjoy"])
def test_nan_tolerance_or_clock_fails_closed(name: str) -> None:
    secret = generate_secret()
    body, headers = signed(name, [secret])
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify(body, headers, secret, profile=name, tolerance=float("nan"), now=NOW)
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify(body, headers, secret, profile=name, now=float("nan"))
