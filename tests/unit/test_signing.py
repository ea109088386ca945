"""The standard profile against the spec's test vector and third-party verifiers."""

from __future__ import annotations

import time

import pytest
import standardwebhooks
import svix

from hookpost.core.signing import generate_secret
from hookpost.profiles import EventData, get_profile
from hookpost.verify import WebhookVerificationError, verify

SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TS = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_spec_vector() -> None:
    for _ in range(2):  # the second signs with the key decoded by the first
        headers = get_profile("standard").sign(
            msg_id=SPEC_ID, timestamp=SPEC_TS, body=SPEC_BODY, secrets=[SPEC_SECRET]
        )
        assert headers["webhook-signature"] == SPEC_SIG
    assert headers["webhook-id"] == SPEC_ID
    assert headers["webhook-timestamp"] == str(SPEC_TS)
    assert verify(SPEC_BODY, headers, SPEC_SECRET, now=SPEC_TS + 10) == {"test": 2432232314}


def _signed(secrets: list[str]) -> tuple[bytes, dict[str, str]]:
    profile = get_profile("standard")
    body = profile.body(
        EventData(id="msg_1", type="user.created", created_at=time.time(), payload={"a": "ü"})
    )
    return body, profile.sign(msg_id="msg_1", timestamp=time.time(), body=body, secrets=secrets)


@pytest.mark.parametrize("lib", ["standardwebhooks", "svix"])
def test_third_party_verifiers_accept(lib: str) -> None:
    secret = generate_secret()
    body, headers = _signed([secret])
    if lib == "svix":
        svix.Webhook(secret).verify(body, headers)  # raises when the signature is wrong
        with pytest.raises(svix.webhooks.WebhookVerificationError):
            svix.Webhook(secret).verify(body.replace(b"user", b"usEr"), headers)
    else:
        out = standardwebhooks.Webhook(secret).verify(body, headers)
        assert out["data"] == {"a": "ü"}
        with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
            standardwebhooks.Webhook(secret).verify(body.replace(b"user", b"usEr"), headers)


def test_multiple_signatures_verify_with_either_secret() -> None:
    old, new = generate_secret(), generate_secret()
    body, headers = _signed([new, old])
    assert len(headers["webhook-signature"].split()) == 2
    for s in (old, new):
        svix.Webhook(s).verify(body, headers)
        assert verify(body, headers, s)["type"] == "user.created"
    with pytest.raises(svix.webhooks.WebhookVerificationError):
        svix.Webhook(generate_secret()).verify(body, headers)


def test_tampered_body_and_stale_timestamp_rejected() -> None:
    secret = generate_secret()
    body, headers = _signed([secret])
    with pytest.raises(WebhookVerificationError):
        verify(body + b" ", headers, secret)
    with pytest.raises(WebhookVerificationError):
        verify(body, headers, secret, now=time.time() + 301)
    upper = {k.upper(): v for k, v in headers.items()}
    assert verify(body, upper, secret)["type"] == "user.created"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"webhook-id": "x", "webhook-timestamp": "nan", "webhook-signature": "v1,AAAA"},
        {"webhook-id": "x", "webhook-timestamp": "1", "webhook-signature": "garbage"},
        {
            "webhook-id": "x",
            "webhook-timestamp": str(int(time.time())),
            "webhook-signature": "v1,%%%",
        },
        None,
    ],
)
def test_garbage_only_raises_verification_error(headers: object) -> None:
    with pytest.raises(WebhookVerificationError):
        verify(b"\xff\xfe", headers, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")  # type: ignore[arg-type]
