"""Properties every profile must have, for any payload, secret and garbage.

- sign -> verify round-trips (with each live secret alone, where the scheme
  carries several signatures);
- any change to the body is refused;
- ``verify`` on arbitrary bytes, headers and secrets only ever raises
  ``WebhookVerificationError``.
"""

from __future__ import annotations

import base64
import time
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hookpost.core import jsonenc
from hookpost.core.signing import generate_secret
from hookpost.profiles import (
    PROFILE_NAMES,
    CustomProfile,
    EventData,
    Profile,
    generate_keypair,
    get_profile,
    public_key_for,
)
from hookpost.profiles._checks import key_problem
from hookpost.verify import WebhookVerificationError, verify

MULTI_SIGNATURE = {"standard", "stripe", "galaxyjoy"}

CUSTOM = CustomProfile(
    {
        "header": "X-Custom-Signature",
        "signature_prefix": "sha256=",
        "signed_content": "{id}|{timestamp}|{body}",
        "encoding": "base64url",
        "timestamp_header": "X-Custom-Timestamp",
        "timestamp_unit": "ms",
        "id_header": "X-Custom-Id",
        "envelope": {"t": "{{type}}", "at": "{{timestamp_ms}}", "p": "{{payload}}"},
    },
    name="prop-custom",
)
PROFILES: list[Profile] = [get_profile(n) for n in PROFILE_NAMES] + [CUSTOM]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)
event_types = st.from_regex(r"[a-z][a-z_]{0,10}\.[a-z][a-z_\-]{0,10}", fullmatch=True)
event_ids = st.from_regex(r"[A-Za-z0-9_\-]{1,40}", fullmatch=True)
raw_secrets = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x2FFF, exclude_categories=["Cs", "Cc"]),
    min_size=8,
    max_size=40,
).filter(lambda s: s == s.strip() and key_problem(s) is None)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _whsk(seed: bytes) -> str:
    key = Ed25519PrivateKey.from_private_bytes(seed)
    return "whsk_" + _b64(seed + key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


# All-zero keys are the empty HMAC key (and a publicly known ed25519 seed):
# refused on both sides, see test_empty_secrets.py.
_keys = st.binary(min_size=24, max_size=64).filter(any)
whsec_secrets = _keys.map(lambda b: "whsec_" + _b64(b))
whsk_secrets = st.binary(min_size=32, max_size=32).filter(any).map(_whsk)


def secrets_for(profile: Profile) -> st.SearchStrategy[list[str]]:
    """One or two secrets this profile accepts (ed25519 keys too for standard)."""
    one = (
        whsec_secrets | whsk_secrets if profile.name == "standard" else raw_secrets | whsec_secrets
    )
    return st.lists(one, min_size=1, max_size=2)


def verifier_key(secret: str) -> str:
    """What a receiver holds: the public half for an asymmetric secret."""
    key = public_key_for(secret)
    return secret if key is None else key


def payload_of(profile: Profile, parsed: Any) -> Any:
    """Where each envelope carries the payload."""
    return {
        "standard": lambda: parsed["data"],
        "stripe": lambda: parsed["data"]["object"],
        "galaxyjoy": lambda: parsed["body"],
        "gluwa": lambda: parsed["Resource"],
        "gluwa-v1": lambda: parsed.get("Resource", parsed),
        "justwallet": lambda: parsed["data"],
        "byl": lambda: parsed["data"]["object"],
        "prop-custom": lambda: parsed["p"],
    }[profile.name]()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    profile=st.sampled_from(PROFILES),
    payload=json_values,
    event_type=event_types,
    event_id=event_ids,
    data=st.data(),
)
def test_sign_verify_round_trip(
    profile: Profile, payload: Any, event_type: str, event_id: str, data: st.DataObject
) -> None:
    secrets = data.draw(secrets_for(profile))
    assert all(profile.validate_secret(s) is None for s in secrets)
    now = time.time()
    event = EventData(event_id, event_type, now - 5, payload, "prj_prop", 1)
    body = profile.body(event)
    headers = profile.sign(msg_id=event_id, timestamp=now, body=body, secrets=secrets)
    parsed = verify(body, headers, [verifier_key(s) for s in secrets], profile=profile, now=now)
    assert parsed == verify(body, headers, verifier_key(secrets[0]), profile=profile, now=now)
    if profile.name in MULTI_SIGNATURE:
        for s in secrets[1:]:
            verify(body, headers, verifier_key(s), profile=profile, now=now)
    # the payload survives the trip, whatever the envelope, as JSON carries it:
    # JavaScript's number forms (1.0 arrives as 1, 5.531915940801861e+16 as
    # the integer 55319159408018610).
    carried = payload_of(profile, parsed)
    payload = jsonenc.loads(jsonenc.dumps(payload))
    if profile.name == "gluwa-v1" and isinstance(payload, dict):
        # V1 is flat: the payload's fields sit beside EventType/Type/ResourceID.
        common = {"EventType", "Type", "ResourceID"}
        assert {k: v for k, v in payload.items() if k not in common}.items() <= carried.items()
    elif (
        profile.name == "justwallet"
        and isinstance(payload, dict)
        and set(payload)
        == {
            "meta",
            "data",
        }
    ):
        assert [parsed["meta"], carried] == [payload["meta"], payload["data"]]
    else:
        assert carried == payload


@settings(max_examples=300, deadline=None)
@given(
    profile=st.sampled_from(PROFILES),
    payload=json_values,
    position=st.integers(min_value=0),
    replacement=st.integers(0, 255),
)
def test_any_changed_byte_is_refused(
    profile: Profile, payload: Any, position: int, replacement: int
) -> None:
    secret = generate_secret()
    now = time.time()
    body = profile.body(EventData("evt_1", "a.b", now, payload, "p"))
    headers = profile.sign(msg_id="evt_1", timestamp=now, body=body, secrets=[secret])
    i = position % len(body)
    if body[i] == replacement:
        return
    tampered = body[:i] + bytes([replacement]) + body[i + 1 :]
    try:
        verify(tampered, headers, secret, profile=profile, now=now)
    except WebhookVerificationError:
        return
    raise AssertionError(f"{profile.name} accepted a changed body")


header_names = st.sampled_from(
    [
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "Stripe-Signature",
        "gj-signature",
        "X-REQUEST-SIGNATURE",
        "Signature",
        "Byl-Signature",
        "X-Custom-Signature",
        "X-Custom-Timestamp",
        "X-Custom-Id",
    ]
) | st.text(max_size=20)
header_values = (
    st.text(max_size=200)
    | st.from_regex(r"t=-?[0-9]{0,25}(,v1=[0-9a-fA-F]{0,70}){0,3}", fullmatch=True)
    | st.from_regex(r"(v1a?,[A-Za-z0-9+/=_\-]{0,90} ?){0,3}", fullmatch=True)
    | st.from_regex(r"sha256=[A-Za-z0-9_\-=]{0,50}", fullmatch=True)
    | st.integers().map(str)
)
garbage_headers = st.dictionaries(header_names, header_values, max_size=6) | st.one_of(
    st.none(), st.integers(), st.lists(st.text(), max_size=3), st.text(max_size=10)
)
garbage_secrets = (
    st.text(max_size=60)
    | st.builds(generate_secret)
    | st.builds(lambda: generate_keypair()[1])
    | st.just("whsk_!!")
    | st.just("whpk_AAAA")
    | st.lists(st.text(max_size=20), max_size=3)
)


@settings(max_examples=300, deadline=None)
@given(
    profile=st.sampled_from(PROFILES),
    body=st.binary(max_size=300) | json_values.map(lambda v: repr(v).encode()),
    headers=garbage_headers,
    secret=garbage_secrets,
    now=st.floats(allow_nan=True, allow_infinity=True) | st.just(time.time()),
    tolerance=st.floats(allow_nan=True) | st.just(300.0),
)
def test_garbage_only_raises_verification_error(
    profile: Profile, body: bytes, headers: Any, secret: Any, now: float, tolerance: float
) -> None:
    try:
        verify(body, headers, secret, profile=profile, tolerance=tolerance, now=now)
    except WebhookVerificationError:
        pass


@settings(max_examples=100, deadline=None)
@given(profile=st.sampled_from(PROFILES), payload=json_values, data=st.data())
def test_forged_signatures_in_valid_syntax_are_refused(
    profile: Profile, payload: Any, data: st.DataObject
) -> None:
    """Signed by someone else's secret: well-formed, fresh, and still refused."""
    secret, forger = generate_secret(), generate_secret()
    now = time.time()
    body = profile.body(EventData("evt_1", "a.b", now, payload, "p"))
    headers = profile.sign(msg_id="evt_1", timestamp=now, body=body, secrets=[forger])
    try:
        verify(body, headers, secret, profile=profile, now=now)
    except WebhookVerificationError:
        return
    raise AssertionError(f"{profile.name} accepted a forged signature")


def test_a_float_javascript_prints_as_an_integer_survives_a_flat_envelope() -> None:
    """Found by hypothesis: 5.531915940801861e16 travels as 55319159408018610."""
    profile = get_profile("gluwa-v1")
    secret = generate_secret()
    now = time.time()
    payload = {"amount": 5.531915940801861e16}
    body = profile.body(EventData("evt_1", "a.b", now, payload, "p"))
    assert b'"amount":55319159408018610' in body
    headers = profile.sign(msg_id="evt_1", timestamp=now, body=body, secrets=[secret])
    parsed = verify(body, headers, secret, profile=profile, now=now)
    assert payload_of(profile, parsed)["amount"] == 55319159408018610
