"""An empty or degenerate secret never verifies anything, and is never accepted to sign.

A receiver doing ``verify(raw, headers, os.environ.get("WEBHOOK_SECRET", ""))``
must not accept a signature made with the empty HMAC key -- which anyone can
make. The kind: every key that is no key at all (empty, blank, invisible,
``whsec_``/``whsk_``/``whpk_`` with nothing or only zero bytes after the
prefix, which HMAC cannot tell from the empty key), alone or as one entry of a
list, through every way to verify (the function, each profile's ``verify``,
the FastAPI/Starlette, Flask and Django helpers, ``hookpost listen`` and
``hookpost verify``) and every profile; and the sending side, where such a
secret cannot be set on an endpoint (422 naming ``secret``, both backends).

Each forgery here is signed with the degenerate key itself, so before the fix
it verified.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from pathlib import Path
from typing import Any

import flask
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hookpost.core.signing import generate_secret
from hookpost.profiles import CustomProfile, EventData, Profile, generate_keypair, get_profile
from hookpost.receiver import WebhookVerifier
from hookpost.receiver.flask import verify_webhook as flask_verify_webhook
from hookpost.receiver.starlette import verified_event, webhook_dependency
from hookpost.verify import InvalidSecretError, WebhookVerificationError, verify
from tests.conftest import Hookpost
from tests.helpers.cli import cli_env, run


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


#: Keys that are no keys: each must be refused by every profile and entry point.
DEGENERATE = [
    "",
    " ",
    "\t\r\n ",
    "\u00a0\u2003",  # no-break and em spaces
    "\ufeff",  # a BOM alone, as read from a file
    "\u200b\u200b",  # zero-width spaces
    "\x00\x00",  # NUL bytes: HMAC's padding makes them the empty key
    "whsec_",
    "whsec_ ",
    "whsec_\n",
    "whsec_==",
    "whsec_AAAA",  # base64 of zero bytes
    "whsec_" + _b64(bytes(24)),
    "whpk_",
    "whpk_   ",
    "whpk_" + _b64(bytes(32)),
    "whsk_",
    "whsk_" + _b64(bytes(64)),
]
GOOD_RAW = "a-real-shared-secret"
GOOD_WHSEC = generate_secret()
_, GOOD_WHPK = generate_keypair()

#: Lists with one degenerate entry (and where it is): the whole list is
#: refused, the entry never skipped.
DEGENERATE_LISTS: list[tuple[list[str], int]] = [
    ([""], 0),
    ([GOOD_RAW, ""], 1),
    (["", GOOD_RAW], 0),
    ([GOOD_WHSEC, "whsec_"], 1),
    ([GOOD_RAW, "   "], 1),
    ([GOOD_WHPK, "whpk_"], 1),
    ([GOOD_RAW, GOOD_WHSEC, "\u200b"], 2),
]

CUSTOM = CustomProfile(
    {
        "header": "X-Hub-Signature-256",
        "signature_prefix": "sha256=",
        "signed_content": "{timestamp}.{body}",
        "timestamp_header": "X-Timestamp",
    },
    name="acme",
)
PROFILES: list[Profile] = [
    *(
        get_profile(n)
        for n in ("standard", "stripe", "galaxyjoy", "gluwa", "gluwa-v1", "justwallet", "byl")
    ),
    CUSTOM,
]
PROFILE_IDS = [p.name for p in PROFILES]


def forged(profile: Profile, key: str) -> tuple[bytes, dict[str, str]]:
    """A request signed with ``key`` itself (or with the empty HMAC key where
    ``key`` cannot sign, like a ``whpk_``): what a forger can always make."""
    now = time.time()
    body = profile.body(EventData("evt_forged", "invoice.paid", now, {"amount": 10**6}, "prj"))
    try:
        headers = profile.sign(msg_id="evt_forged", timestamp=now, body=body, secrets=[key])
    except ValueError:
        headers = profile.sign(msg_id="evt_forged", timestamp=now, body=body, secrets=["whsec_"])
    return body, {"Content-Type": "application/json", **headers}


def _id(key: Any) -> str:
    """A test id naming the generated keys by their names: their text differs in each
    process, and every pytest-xdist worker must collect the same ids."""
    text = repr(key)
    for name, value in (("GOOD_WHSEC", GOOD_WHSEC), ("GOOD_WHPK", GOOD_WHPK)):
        text = text.replace(repr(value), name)
    return text


def _ids(keys: list[Any]) -> list[str]:
    return [_id(k)[:24] for k in keys]


# -- the function and the profile methods ---------------------------------------------


@pytest.mark.parametrize("key", DEGENERATE, ids=_ids(DEGENERATE))
@pytest.mark.parametrize("profile", PROFILES, ids=PROFILE_IDS)
def test_degenerate_key_verifies_nothing(profile: Profile, key: str) -> None:
    body, headers = forged(profile, key)
    for secrets in (key, [key]):
        with pytest.raises(InvalidSecretError) as caught:
            verify(body, headers, secrets, profile=profile)
        assert isinstance(caught.value, WebhookVerificationError)
        assert isinstance(caught.value, ValueError)  # a configuration error
        with pytest.raises(InvalidSecretError):
            profile.verify(body, headers, [key], tolerance=300, now=time.time())
    # the key is refused before the request is looked at
    with pytest.raises(InvalidSecretError):
        verify(b"", {}, key, profile=profile)


@pytest.mark.parametrize(("keys", "bad"), DEGENERATE_LISTS, ids=_ids(DEGENERATE_LISTS))
@pytest.mark.parametrize("profile", PROFILES, ids=PROFILE_IDS)
def test_one_degenerate_entry_refuses_the_list(profile: Profile, keys: list[str], bad: int) -> None:
    body, headers = forged(profile, keys[bad])
    with pytest.raises(InvalidSecretError) as caught:
        verify(body, headers, keys, profile=profile)
    if len(keys) > 1:
        assert f"{bad + 1} of {len(keys)}" in str(caught.value)
    with pytest.raises(InvalidSecretError):
        profile.verify(body, headers, keys, tolerance=300, now=time.time())
    with pytest.raises(InvalidSecretError):
        profile.verify(body, headers, tuple(keys), tolerance=300, now=time.time())


@pytest.mark.parametrize(
    "secret",
    [None, [], (), [None], b"", b"whsec_", bytearray(), 0, ["good-secret", 7]],
    ids=repr,
)
def test_missing_or_non_text_secret_is_a_configuration_error(secret: Any) -> None:
    body, headers = forged(get_profile("stripe"), "")
    with pytest.raises(InvalidSecretError):
        verify(body, headers, secret, profile="stripe")


@pytest.mark.parametrize("profile", PROFILES, ids=PROFILE_IDS)
def test_real_keys_still_verify(profile: Profile) -> None:
    """The control: the check refuses no real key, alone or in a list."""
    good = GOOD_WHSEC if profile.name == "standard" else GOOD_RAW
    now = time.time()
    body = profile.body(EventData("evt_ok", "invoice.paid", now, {"ok": True}, "prj"))
    headers = profile.sign(msg_id="evt_ok", timestamp=now, body=body, secrets=[good])
    assert verify(body, headers, good, profile=profile)
    assert verify(body, headers, [generate_secret(), good], profile=profile)
    with pytest.raises(WebhookVerificationError) as caught:
        verify(body, headers, [generate_secret()], profile=profile)
    assert not isinstance(caught.value, InvalidSecretError)


# -- the sending side: no endpoint gets such a secret -------------------------------


@pytest.mark.parametrize("key", DEGENERATE, ids=_ids(DEGENERATE))
@pytest.mark.parametrize("profile", PROFILES, ids=PROFILE_IDS)
def test_profiles_refuse_to_sign_with_a_degenerate_secret(profile: Profile, key: str) -> None:
    assert profile.validate_secret(key)


CUSTOM_DEFINITION = {"header": "X-Acme-Signature", "encoding": "base64"}
#: What the API can carry (JSON, at least the schema's 8 characters or not).
API_KEYS = [k for k in DEGENERATE if k] + ["whsec_" + _b64(bytes(48)), "        "]


@pytest.mark.parametrize("profile", [*PROFILE_IDS[:-1], "acme"])
async def test_api_refuses_degenerate_secrets(hookpost_noworkers: Hookpost, profile: str) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    if profile == "acme":
        r = await hp.http.post(
            f"/api/v1/projects/{pid}/profiles",
            json={"name": "acme", "definition": CUSTOM_DEFINITION},
        )
        assert r.status_code == 201, r.text
    path = f"/api/v1/projects/{pid}/endpoints"
    ep = await hp.endpoint(pid, "http://127.0.0.1:9/hook", profile=profile)
    for key in API_KEYS:
        r = await hp.http.post(
            path, json={"url": "http://127.0.0.1:9/hook", "profile": profile, "secret": key}
        )
        assert r.status_code == 422, (key, r.text)
        assert "secret" in r.json()["message"], r.text
        r = await hp.http.post(f"{path}/{ep['id']}/rotate-secret", json={"secret": key})
        assert r.status_code == 422, (key, r.text)
        assert "secret" in r.json()["message"], r.text
    listed = (await hp.http.get(path)).json()["data"]
    assert [e["id"] for e in listed] == [ep["id"]]  # nothing half-written
    stored = await hp.store.get_endpoint(pid, ep["id"])
    assert stored["secret"] == ep["secret"] and stored["old_secrets"] == []


# -- the framework helpers ------------------------------------------------------------

SETUPS = {
    "WebhookVerifier": lambda key, profile: WebhookVerifier(key, profile),
    "fastapi": lambda key, profile: webhook_dependency(key, profile=profile),
    "flask": lambda key, profile: flask_verify_webhook(key, profile=profile),
    "django": lambda key, profile: _django_decorator(key, profile),
}


def _django_decorator(key: Any, profile: str) -> Any:
    from tests.integration.test_receivers_frameworks import _django

    _django()
    from hookpost.receiver.django import verify_webhook

    return verify_webhook(key, profile=profile)


@pytest.mark.parametrize(
    "key", [*DEGENERATE, *(keys for keys, _ in DEGENERATE_LISTS), None, []], ids=_id
)
@pytest.mark.parametrize("setup", SETUPS)
def test_helpers_refuse_a_degenerate_secret_at_setup(setup: str, key: Any) -> None:
    for profile in ("standard", "byl"):
        with pytest.raises(InvalidSecretError):
            SETUPS[setup](key, profile)


def _fastapi_post(source: Any, profile: str, body: bytes, headers: dict[str, str]) -> Any:
    handled: list[Any] = []
    app = FastAPI()
    dependency = webhook_dependency(source, profile=profile)

    @app.post("/hook")
    async def hook(event: Any = Depends(dependency)) -> dict[str, bool]:
        handled.append(event)
        return {"ok": True}

    r = TestClient(app).post("/hook", content=body, headers=headers)
    return r.status_code, r.text, handled


def _starlette_post(source: Any, profile: str, body: bytes, headers: dict[str, str]) -> Any:
    handled: list[Any] = []

    async def hook(request: Request) -> JSONResponse:
        handled.append(await verified_event(request, source, profile=profile))
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    r = TestClient(app).post("/hook", content=body, headers=headers)
    return r.status_code, r.text, handled


def _flask_post(source: Any, profile: str, body: bytes, headers: dict[str, str]) -> Any:
    handled: list[Any] = []
    app = flask.Flask(__name__)

    @app.post("/hook")
    @flask_verify_webhook(source, profile=profile)
    def hook(event: Any) -> tuple[str, int]:
        handled.append(event)
        return "", 200

    r = app.test_client().post("/hook", data=body, headers=headers)
    return r.status_code, r.get_data(as_text=True), handled


def _django_post(source: Any, profile: str, body: bytes, headers: dict[str, str]) -> Any:
    from django.http import HttpRequest, HttpResponse
    from django.test import RequestFactory

    handled: list[Any] = []

    @_django_decorator(source, profile)
    def hook(request: HttpRequest, event: Any) -> HttpResponse:
        handled.append(event)
        return HttpResponse(status=200)

    extra = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    request = RequestFactory().post(
        "/hook", data=body, content_type="application/json", headers=extra
    )
    r = hook(request)
    return r.status_code, r.content.decode(), handled


POSTS = {
    "fastapi": _fastapi_post,
    "starlette": _starlette_post,
    "flask": _flask_post,
    "django": _django_post,
}
PER_REQUEST_KEYS = ["", " \n", "whsec_", "whsec_AAAA", "\x00"]


@pytest.mark.parametrize("key", PER_REQUEST_KEYS, ids=_ids(PER_REQUEST_KEYS))
@pytest.mark.parametrize("framework", POSTS)
@pytest.mark.parametrize("profile", ["standard", "stripe", "justwallet"])
def test_helpers_refuse_a_degenerate_secret_read_per_request(
    framework: str, profile: str, key: str
) -> None:
    """A secret read at request time (a function) cannot be checked at set-up:
    the request is refused with 500 (the receiver's fault) and the handler never runs."""
    body, headers = forged(get_profile(profile), key)
    for source in (lambda: key, lambda: [GOOD_RAW, key]):
        if framework == "starlette":
            source = source()  # verified_event takes the value per request
        status, text, handled = POSTS[framework](source, profile, body, headers)
        assert status == 500, (status, text)
        assert handled == []
        assert "secret" in text
    # the control: a real secret read per request still lets a real webhook in
    good = GOOD_WHSEC if profile == "standard" else GOOD_RAW
    now = time.time()
    prof = get_profile(profile)
    body = prof.body(EventData("evt_ok", "invoice.paid", now, {"ok": True}, "prj"))
    headers = {
        "Content-Type": "application/json",
        **prof.sign(msg_id="evt_ok", timestamp=now, body=body, secrets=[good]),
    }
    source = good if framework == "starlette" else (lambda: good)
    status, text, handled = POSTS[framework](source, profile, body, headers)
    assert status == 200, text
    assert len(handled) == 1


# -- the CLI ---------------------------------------------------------------------------

CLI_KEYS = ["", "   ", "whsec_", "whsec_ \t", "whsec_AAAA", "whpk_", "\u200b"]


async def test_cli_refuses_degenerate_secrets_with_one_line(tmp_path: Path) -> None:
    headers = tmp_path / "headers.json"
    body, signed_headers = forged(get_profile("standard"), "whsec_")
    headers.write_text(json.dumps(signed_headers))
    body_file = tmp_path / "body.json"
    body_file.write_bytes(body)
    env = cli_env()
    verify_args = ("--headers", str(headers), "--body", str(body_file))
    runs: list[tuple[str, ...]] = []
    for n, key in enumerate(CLI_KEYS):
        profile = ("standard", "byl", "stripe")[n % 3]
        runs.append(("listen", "--secret", key, "--profile", profile, "--port", "9"))
        runs.append(("verify", "--secret", key, "--profile", profile, *verify_args))
        runs.append(("verify", "--secret", GOOD_RAW, "--secret", key, *verify_args))
    slots = asyncio.Semaphore(4)  # a shared machine: a few processes at a time

    async def one(args: tuple[str, ...]) -> tuple[int, str]:
        async with slots:
            return await run(*args, env=env, cwd=tmp_path)

    results = await asyncio.gather(*(one(args) for args in runs))
    for args, (code, out) in zip(runs, results, strict=True):
        assert code == 2, (args, out)
        assert "Traceback" not in out, (args, out)
        lines = out.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: --secret"), (args, out)


@pytest.mark.parametrize("profile", ["ed25519", "no-such-profile", "standard"])
@pytest.mark.parametrize("key", ["", "whsec_", "whpk_", [GOOD_WHPK, ""]], ids=_id)
def test_the_key_is_refused_before_the_profile_name_is_looked_up(profile: str, key: Any) -> None:
    """The unusable key is the first thing to fix, whatever the profile argument says."""
    body, headers = forged(get_profile("standard"), "whsec_")
    with pytest.raises(InvalidSecretError):
        verify(body, headers, key, profile=profile)
