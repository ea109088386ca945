"""Custom profiles: an operator describes a wire format as data; hookpost speaks it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from hookpost.profiles import (
    CustomProfile,
    EventData,
    InvalidProfileError,
    MalformedWebhookError,
    validate_custom_profile,
)
from hookpost.verify import WebhookVerificationError, verify

NOW = 1_700_000_000.75
EVENT = EventData(
    id="evt_9",
    type="order.shipped",
    created_at=1_699_999_000.123,
    payload={"order": 7, "to": "Ulaanbaatar", "braces": "{body}{{x}}"},
    project_id="prj_c",
)

GITHUB_LIKE = {
    "header": "X-Hub-Signature-256",
    "signature_prefix": "sha256=",
    "id_header": "X-GitHub-Delivery",
    "envelope": {"action": "{{type}}", "payload": "{{payload}}"},
}


def mac(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def test_github_like_profile_matches_an_independent_receiver() -> None:
    profile = CustomProfile(GITHUB_LIKE, name="gh")
    body = profile.body(EVENT)
    assert json.loads(body) == {"action": "order.shipped", "payload": EVENT.payload}
    headers = profile.sign(msg_id=EVENT.id, timestamp=NOW, body=body, secrets=["s3cret-value"])
    assert headers == {
        "X-Hub-Signature-256": "sha256=" + mac("s3cret-value", body).hex(),
        "X-GitHub-Delivery": "evt_9",
    }
    assert verify(body, headers, "s3cret-value", profile=profile)["action"] == "order.shipped"
    with pytest.raises(WebhookVerificationError):
        verify(body + b" ", headers, "s3cret-value", profile=profile)


def test_timestamped_base64url_profile() -> None:
    definition = {
        "header": "X-Sig",
        "signed_content": "{id}:{timestamp}:{body}",
        "encoding": "base64url",
        "timestamp_header": "X-Sig-Time",
        "timestamp_unit": "ms",
        "id_header": "X-Sig-Id",
        "success": "200",
        "max_attempts": 4,
    }
    profile = CustomProfile(definition)
    body = profile.body(EVENT)
    assert json.loads(body) == EVENT.payload  # default envelope: the payload itself
    headers = profile.sign(msg_id="evt_9", timestamp=NOW, body=body, secrets=["k" * 16])
    stamp = str(int(NOW * 1000))
    digest = mac("k" * 16, f"evt_9:{stamp}:".encode() + body)
    assert headers == {
        "X-Sig": base64.urlsafe_b64encode(digest).decode().rstrip("="),
        "X-Sig-Time": stamp,
        "X-Sig-Id": "evt_9",
    }
    assert verify(body, headers, "k" * 16, profile=profile, now=NOW)
    padded = headers | {"X-Sig": base64.urlsafe_b64encode(digest).decode()}
    assert verify(body, padded, "k" * 16, profile=profile, now=NOW)
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify(body, headers, "k" * 16, profile=profile, now=NOW + 301)
    with pytest.raises(WebhookVerificationError):  # the id is signed
        verify(body, headers | {"X-Sig-Id": "evt_8"}, "k" * 16, profile=profile, now=NOW)
    assert profile.max_attempts == 4
    assert profile.is_success(200) and not profile.is_success(204)


def test_base64_encoding_and_missing_headers() -> None:
    profile = CustomProfile({"header": "Sig", "encoding": "base64"})
    body = profile.body(EVENT)
    headers = profile.sign(msg_id="x", timestamp=NOW, body=body, secrets=["a", "b"])
    assert headers == {"Sig": base64.b64encode(mac("a", body)).decode()}
    assert verify(body, headers, ["b", "a"], profile=profile)
    with pytest.raises(MalformedWebhookError):
        verify(body, {}, "a", profile=profile)
    assert profile.is_success(204)


def test_envelope_placeholders() -> None:
    profile = CustomProfile(
        {
            "header": "Sig",
            "envelope": {
                "id": "{{id}}",
                "kind": "{{type}}",
                "ts": "{{timestamp}}",
                "ts_ms": "{{timestamp_ms}}",
                "when": "{{created_at}}",
                "project": "{{project_id}}",
                "data": ["{{payload}}", "raw={{payload}}", 1, None, True],
                "label": "event {{id}} at {{timestamp}}",
                "{{id}}": "keys are literal",
            },
        }
    )
    assert json.loads(profile.body(EVENT)) == {
        "id": "evt_9",
        "kind": "order.shipped",
        "ts": 1_699_999_000,
        "ts_ms": 1_699_999_000_123,
        "when": "2023-11-14T21:56:40.123Z",
        "project": "prj_c",
        "data": [
            EVENT.payload,
            "raw=" + json.dumps(EVENT.payload, separators=(",", ":")),
            1,
            None,
            True,
        ],
        "label": "event evt_9 at 1699999000",
        "{{id}}": "keys are literal",
    }


def test_payload_text_with_braces_does_not_confuse_signing() -> None:
    profile = CustomProfile({"header": "Sig", "signed_content": "{{literal}}.{body}"})
    body = profile.body(EVENT)
    headers = profile.sign(msg_id="x", timestamp=NOW, body=body, secrets=["key"])
    assert headers["Sig"] == mac("key", b"{literal}." + body).hex()


@pytest.mark.parametrize(
    ("definition", "field", "fragment"),
    [
        ({}, "header", "required"),
        ({"header": "Bad Header"}, "header", "header name"),
        ({"header": "X-Sig\r\nEvil: 1"}, "header", "header name"),
        ({"header": "Content-Type"}, "header", "set by the HTTP client"),
        ({"header": "x-sig", "id_header": "X-SIG"}, "id_header", "already used"),
        ({"header": "S", "encoding": "base32"}, "encoding", "hex, base64, base64url"),
        ({"header": "S", "timestamp_unit": "us"}, "timestamp_unit", "s, ms"),
        ({"header": "S", "success": "3xx"}, "success", "2xx, 200"),
        ({"header": "S", "max_attempts": 0}, "max_attempts", "1 to 50"),
        ({"header": "S", "max_attempts": True}, "max_attempts", "integer"),
        ({"header": "S", "signature_prefix": "has space"}, "signature_prefix", "visible"),
        ({"header": "S", "signed_content": "{timestamp}"}, "signed_content", "{body}"),
        ({"header": "S", "signed_content": "{nonce}.{body}"}, "signed_content", "{nonce}"),
        ({"header": "S", "signed_content": "{body!r}"}, "signed_content", "unknown"),
        ({"header": "S", "signed_content": "{body"}, "signed_content", "brace"),
        (
            {"header": "S", "signed_content": "{timestamp}.{body}"},
            "signed_content",
            "timestamp_header",
        ),
        ({"header": "S", "signed_content": "{id}.{body}"}, "signed_content", "id_header"),
        ({"header": "S", "envelope": {"a": ["{{nope}}"]}}, "envelope.a[0]", "{{nope}}"),
        ({"header": "S", "envelope": {"a": float("nan")}}, "envelope", "JSON"),
        ({"header": "S", "colour": "red"}, "colour", "unknown field"),
        ("not an object", "", "JSON object"),
    ],
)
def test_validation_names_the_field(definition: object, field: str, fragment: str) -> None:
    problems = validate_custom_profile(definition)
    assert any(f == field and fragment in p for f, p in problems), problems
    with pytest.raises(InvalidProfileError) as info:
        CustomProfile(definition)  # type: ignore[arg-type]
    assert info.value.problems == problems


def test_validation_reports_every_problem_at_once() -> None:
    problems = validate_custom_profile({"encoding": "x", "success": "y", "extra": 1})
    assert {f for f, _ in problems} == {"header", "encoding", "success", "extra"}


def test_a_full_definition_is_valid() -> None:
    definition = {
        "header": "X-Sig",
        "signed_content": "{id}.{timestamp}.{body}",
        "encoding": "hex",
        "signature_prefix": "v1=",
        "timestamp_header": "X-Sig-Timestamp",
        "timestamp_unit": "s",
        "id_header": "X-Sig-Id",
        "success": "2xx",
        "max_attempts": 5,
        "envelope": {"type": "{{type}}", "data": "{{payload}}"},
    }
    assert validate_custom_profile(definition) == []
    deep: object = "{{payload}}"
    for _ in range(20):
        deep = {"d": deep}
    assert any(
        f == "envelope" for f, _ in validate_custom_profile({"header": "S", "envelope": deep})
    )
