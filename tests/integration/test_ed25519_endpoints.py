"""ed25519 endpoints are complete, and their private key never leaves hookpost.

An endpoint can be made with ``"signing": "ed25519"`` and no key (hookpost
generates the pair), or with a ``whsk_`` key the integrator brought (from
``hookpost keygen``). Either way every answer carries ``public_key``
(``whpk_``), which is all a receiver needs: a real delivery is checked here
with ``cryptography``'s Ed25519PublicKey built from that field alone. The
private key is never shown again -- not by the API's create and rotate
answers, not by the dashboard's or the portal's "Reveal secret", not on any
portal page -- and rotation makes a new pair. Both backends.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hookpost.core.signing import generate_secret
from hookpost.dashboard.site import PROJECT_PAGES
from hookpost.profiles import generate_keypair, get_profile, public_key_for
from hookpost.verify import verify
from tests.conftest import ADMIN, Hookpost, Receiver
from tests.helpers.cli import cli_env, run

WHPK = re.compile(r"whpk_[A-Za-z0-9+/]{43}=")
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


def public_key_object(field: str) -> Ed25519PublicKey:
    """The receiver's side: only the ``public_key`` field, and ``cryptography``."""
    assert field.startswith("whpk_"), field
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(field[len("whpk_") :]))


def v1a_signatures(headers: dict[str, str]) -> list[bytes]:
    lower = {k.lower(): v for k, v in headers.items()}
    return [
        base64.b64decode(part[len("v1a,") :])
        for part in lower["webhook-signature"].split()
        if part.startswith("v1a,")
    ]


def signed_by(public_key: str, headers: dict[str, str], body: bytes) -> bool:
    """Whether one ``v1a`` signature of the request is the key's, over ``id.timestamp.body``."""
    lower = {k.lower(): v for k, v in headers.items()}
    content = f"{lower['webhook-id']}.{lower['webhook-timestamp']}.".encode() + body
    key = public_key_object(public_key)
    for sig in v1a_signatures(headers):
        try:
            key.verify(sig, content)
        except InvalidSignature:
            continue
        return True
    return False


def private_forms(secret: str) -> list[str]:
    """Every way a whsk_ key could leak: its base64 (whole or without the
    prefix), the seed's base64 or hex."""
    raw = base64.b64decode(secret[len("whsk_") :])
    return [
        secret[len("whsk_") :],
        base64.b64encode(raw[:32]).decode().rstrip("="),
        base64.urlsafe_b64encode(raw[:32]).decode().rstrip("="),
        raw[:32].hex(),
    ]


def assert_no_private_key(
    text: str, secrets: Iterable[str], where: str, *, prefix: bool = True
) -> None:
    """No key material; and (``prefix``) not even the text ``whsk_``, for pages and
    answers that have no reason to name it (a refusal may, to say what is expected)."""
    assert not (prefix and "whsk_" in text), f"whsk_ in {where}"
    for secret in secrets:
        for form in private_forms(secret):
            assert form not in text, f"{form[:12]}... of a private key in {where}"


async def stored_secrets(hp: Hookpost, pid: str, endpoint_id: str) -> list[str]:
    row = await hp.store.get_endpoint(pid, endpoint_id)
    return [row["secret"], *(s["secret"] for s in row["old_secrets"])]


# -- the API ---------------------------------------------------------------------------


async def test_ed25519_without_a_key_delivers_what_public_key_verifies(
    hookpost: Hookpost, receiver: Receiver
) -> None:
    hp = hookpost
    pid, _ = await hp.project()
    path = f"/api/v1/projects/{pid}/endpoints"
    r = await hp.http.post(path, json={"url": receiver.url("/ed"), "signing": "ed25519"})
    assert r.status_code == 201, r.text
    created = r.json()
    public = created["public_key"]
    assert WHPK.fullmatch(public), created
    assert created["signing"] == "ed25519"
    assert created["secret"] == public  # the create answer reveals only the public half
    (private,) = await stored_secrets(hp, pid, created["id"])
    assert private.startswith("whsk_") and public_key_for(private) == public
    answers = [r.text]

    got = await hp.http.get(f"{path}/{created['id']}")
    listed = await hp.http.get(path)
    patched = await hp.http.patch(f"{path}/{created['id']}", json={"description": "ed"})
    for answer in (got, listed, patched):
        assert answer.status_code == 200, answer.text
        answers.append(answer.text)
    assert got.json()["public_key"] == public and got.json()["signing"] == "ed25519"
    assert listed.json()["data"][0]["public_key"] == public
    assert patched.json()["public_key"] == public
    for text in answers:
        assert_no_private_key(text, [private], "an API answer")

    spec = (await hp.http.get("/openapi.json")).json()["components"]["schemas"]
    assert "public_key" in spec["EndpointOut"]["properties"]
    assert "public_key" in spec["EndpointCreated"]["properties"]
    assert "ed25519" in json.dumps(spec["EndpointIn"]["properties"]["signing"])

    await hp.publish(pid, "invoice.paid", payload={"amount": 12}, event_id="evt_ed_1")
    (req,) = await receiver.wait_for(1, "/ed")
    assert len(v1a_signatures(req.headers)) == 1
    assert signed_by(public, req.headers, req.body)
    assert not signed_by(generate_keypair()[1], req.headers, req.body)
    assert not signed_by(public, req.headers, req.body.replace(b"12", b"99"))
    event = verify(req.body, req.headers, public)
    assert event["data"] == {"amount": 12}


async def test_rotation_makes_a_new_pair_and_shows_only_its_public_key(
    hookpost: Hookpost, receiver: Receiver
) -> None:
    hp = hookpost
    pid, _ = await hp.project()
    ep = await hp.endpoint(pid, receiver.url("/rot"), signing="ed25519")
    rotate = f"/api/v1/projects/{pid}/endpoints/{ep['id']}/rotate-secret"
    seen = set(await stored_secrets(hp, pid, ep["id"]))

    r = await hp.http.post(rotate, json={"grace_period_seconds": 3600})
    assert r.status_code == 200, r.text
    rotated = r.json()
    new_public = rotated["public_key"]
    assert WHPK.fullmatch(new_public) and new_public != ep["public_key"]
    assert rotated["secret"] == new_public and rotated["signing"] == "ed25519"
    current, old = await stored_secrets(hp, pid, ep["id"])
    assert old in seen  # the former key signs through the grace period
    assert current.startswith("whsk_") and current not in seen
    seen.add(current)
    assert_no_private_key(r.text, seen, "the rotate answer")

    # during the grace period both keys sign; each public key verifies alone
    await hp.publish(pid, "invoice.paid", payload={"n": 1})
    (req,) = await receiver.wait_for(1, "/rot")
    assert len(v1a_signatures(req.headers)) == 2
    assert signed_by(new_public, req.headers, req.body)
    assert signed_by(ep["public_key"], req.headers, req.body)

    # bringing a pair from `hookpost keygen` (here its Python twin)
    brought, brought_public = generate_keypair()
    r = await hp.http.post(rotate, json={"secret": brought, "grace_period_seconds": 0})
    assert r.status_code == 200, r.text
    assert r.json()["secret"] == r.json()["public_key"] == brought_public
    assert_no_private_key(r.text, [*seen, brought], "the rotate answer")

    # and back to HMAC, explicitly: a shared secret is shown, no public key
    r = await hp.http.post(rotate, json={"signing": "hmac", "grace_period_seconds": 0})
    assert r.status_code == 200, r.text
    assert r.json()["secret"].startswith("whsec_")
    assert r.json()["public_key"] is None and r.json()["signing"] == "hmac"
    # an hmac endpoint rotates to a new hmac secret by default
    r = await hp.http.post(rotate, json={"grace_period_seconds": 0})
    assert r.json()["signing"] == "hmac" and r.json()["secret"].startswith("whsec_")


WHSK, WHSK_PUBLIC = generate_keypair()
OTHER_WHSK, OTHER_PUBLIC = generate_keypair()

#: (create body, "signing" and "public_key" of the answer) for bodies that work.
ACCEPTED: list[tuple[dict[str, Any], str, str | None]] = [
    ({"signing": "ed25519"}, "ed25519", "generated"),
    ({"secret": WHSK}, "ed25519", WHSK_PUBLIC),
    ({"signing": "ed25519", "secret": OTHER_WHSK}, "ed25519", OTHER_PUBLIC),
    ({"signing": "ed25519", "profile": "standard"}, "ed25519", "generated"),
    ({}, "hmac", None),
    ({"signing": "hmac"}, "hmac", None),
    ({"profile": "stripe"}, "hmac", None),
    ({"signing": "hmac", "secret": generate_secret()}, "hmac", None),
]

#: Bodies refused with 422 naming the field.
REFUSED: list[tuple[dict[str, Any], str]] = [
    ({"signing": "ed25519", "profile": "stripe"}, "signing"),
    ({"signing": "ed25519", "profile": "byl", "secret": WHSK}, "signing"),
    ({"profile": "gluwa", "secret": WHSK}, "secret"),
    ({"signing": "ed25519", "secret": generate_secret()}, "secret"),
    ({"signing": "hmac", "secret": WHSK}, "secret"),
    ({"secret": WHSK_PUBLIC}, "secret"),  # a public key cannot sign
    ({"signing": "ed25519", "secret": WHSK_PUBLIC}, "secret"),
    ({"signing": "ed25519", "secret": "whsk_" + "QUJD" * 10}, "secret"),  # 30 bytes
    ({"signing": "ed25519", "secret": WHSK[:-8] + "AAAAAAA="}, "secret"),  # halves differ
    ({"signing": "rsa"}, "signing"),
    ({"signing": ""}, "signing"),
]


async def test_create_bodies_table(hookpost_noworkers: Hookpost) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    path = f"/api/v1/projects/{pid}/endpoints"
    url = "http://127.0.0.1:9/hook"
    for body, field in REFUSED:
        r = await hp.http.post(path, json={"url": url, **body})
        assert r.status_code == 422, (body, r.text)
        assert field in r.json()["message"], (body, r.text)
        assert_no_private_key(r.text, [WHSK], "a refusal", prefix=False)
    assert (await hp.http.get(path)).json()["data"] == []  # nothing half-written
    ep = await hp.endpoint(pid, url)
    for body, _ in REFUSED:
        if "profile" in body:
            continue  # fixed once created
        r = await hp.http.post(f"{path}/{ep['id']}/rotate-secret", json=body)
        assert r.status_code == 422, (body, r.text)
    assert await stored_secrets(hp, pid, ep["id"]) == [ep["secret"]]

    for body, signing, public in ACCEPTED:
        r = await hp.http.post(path, json={"url": url, **body})
        assert r.status_code == 201, (body, r.text)
        out = r.json()
        assert out["signing"] == signing, body
        if public is None:
            assert (
                out["public_key"] is None
                and out["secret"] == (await stored_secrets(hp, pid, out["id"]))[0]
            )
            continue
        if public != "generated":
            assert out["public_key"] == public
        assert WHPK.fullmatch(out["public_key"]) and out["secret"] == out["public_key"]
        assert_no_private_key(r.text, await stored_secrets(hp, pid, out["id"]), str(body))


# -- the dashboard and the portal -------------------------------------------------------


def _fill(path: str, endpoint_id: str, delivery: dict[str, str]) -> str:
    return (
        path.replace("{endpoint_id}", endpoint_id)
        .replace("{delivery_id}", delivery["id"])
        .replace("{event_id}", delivery["event_id"])
    )


async def _crawl(
    client: httpx.AsyncClient, base: str, endpoint_ids: list[str], delivery: dict[str, str]
) -> dict[str, httpx.Response]:
    """Every GET page of the project surface (and its live fragment), per endpoint."""
    pages: dict[str, httpx.Response] = {}
    for method, path, *_ in PROJECT_PAGES:
        if method != "GET":
            continue
        for endpoint_id in endpoint_ids if "{endpoint_id}" in path else endpoint_ids[:1]:
            url = base + _fill(path, endpoint_id, delivery)
            for query in ("", "?fragment=live"):
                pages[url + query] = await client.get(url + query)
    return pages


async def _post_form(client: httpx.AsyncClient, page_url: str, action: str) -> httpx.Response:
    page = await client.get(page_url)
    found = CSRF_RE.search(page.text)
    assert found, page.text
    data = {"csrf": found.group(1), "grace_hours": "1"}
    return await client.post(action, data=data)


async def test_no_private_key_on_any_portal_or_dashboard_page(
    hookpost: Hookpost, receiver: Receiver
) -> None:
    hp = hookpost
    pid, _ = await hp.project()
    generated = await hp.endpoint(pid, receiver.url("/gen"), signing="ed25519")
    brought = await hp.endpoint(pid, receiver.url("/brought"), secret=generate_keypair()[0])
    hmac_ep = await hp.endpoint(pid, receiver.url("/hmac"))
    ed_ids = [generated["id"], brought["id"]]
    await hp.publish(pid, "invoice.paid", payload={"x": 1})
    await receiver.wait_for(3)
    delivery = next(d for d in await hp.deliveries(pid) if d["endpoint_id"] == generated["id"])
    await hp.wait_status(pid, delivery["id"], "succeeded")

    async def private_keys() -> list[str]:
        keys: list[str] = []
        for endpoint_id in ed_ids:
            keys += await stored_secrets(hp, pid, endpoint_id)
        return keys

    async def check_surface(client: httpx.AsyncClient, base: str, manage: bool) -> None:
        pages = await _crawl(client, base, [*ed_ids, hmac_ep["id"]], delivery)
        for url, page in pages.items():
            assert page.status_code in (200, 403), (url, page.status_code)
            assert_no_private_key(page.text, await private_keys(), url)
        for endpoint_id in ed_ids:
            page = pages[f"{base}/endpoints/{endpoint_id}"]
            public = (await hp.http.get(f"/api/v1/projects/{pid}/endpoints/{endpoint_id}")).json()
            assert public["public_key"] in page.text  # every viewer sees the public key
        if not manage:
            return
        for endpoint_id in ed_ids:
            page_url = f"{base}/endpoints/{endpoint_id}"
            for action in ("reveal-secret", "rotate-secret"):
                r = await _post_form(client, page_url, f"{page_url}/{action}")
                assert r.status_code == 200, (action, r.text)
                assert_no_private_key(r.text, await private_keys(), f"{action} answer")
                assert WHPK.search(r.text), action
        # the HMAC endpoint's reveal still shows its shared secret
        page_url = f"{base}/endpoints/{hmac_ep['id']}"
        r = await _post_form(client, page_url, f"{page_url}/reveal-secret")
        assert hmac_ep["secret"] in r.text

    for scope in ("view", "manage"):
        r = await hp.http.post(f"/api/v1/projects/{pid}/portal-link", json={"scope": scope})
        assert r.status_code == 200, r.text
        assert_no_private_key(r.text, await private_keys(), "the portal-link answer")
        async with httpx.AsyncClient(timeout=30) as client:
            await check_surface(client, r.json()["url"], manage=scope == "manage")

    async with httpx.AsyncClient(base_url=hp.base_url, timeout=30) as browser:
        r = await browser.post("/login", data={"token": ADMIN, "next": "/"})
        assert r.status_code == 303, r.text
        await check_surface(browser, f"{hp.base_url}/projects/{pid}", manage=True)

        # creating an ed25519 endpoint from the dashboard's form
        form_url = f"{hp.base_url}/projects/{pid}/endpoints/new"
        found = CSRF_RE.search((await browser.get(form_url)).text)
        assert found
        data = {
            "csrf": found.group(1),
            "url": receiver.url("/form"),
            "profile": "standard",
            "signing": "ed25519",
            "enabled": "1",
        }
        r = await browser.post(form_url, data=data)
        assert r.status_code == 303, r.text
        page = await browser.get(hp.base_url + r.headers["location"])
        endpoint_id = r.headers["location"].split("/endpoints/")[1].split("?")[0]
        (secret,) = await stored_secrets(hp, pid, endpoint_id)
        assert secret.startswith("whsk_")
        assert public_key_for(secret) in page.text
        assert_no_private_key(page.text, [secret], "the new endpoint's page")


# -- hookpost keygen --------------------------------------------------------------------


async def test_keygen_pair_round_trips_through_verify(tmp_path: Path) -> None:
    env = cli_env()
    (code, text), (jcode, jtext) = (
        await run("keygen", env=env, cwd=tmp_path),
        await run("keygen", "--json", env=env, cwd=tmp_path),
    )
    assert code == 0 and jcode == 0, (text, jtext)
    pairs = [
        (
            re.search(r"whsk_[A-Za-z0-9+/=]+", text).group(0),  # type: ignore[union-attr]
            re.search(r"whpk_[A-Za-z0-9+/=]+", text).group(0),  # type: ignore[union-attr]
        ),
        tuple(json.loads(jtext)[k] for k in ("secret_key", "public_key")),
    ]
    assert pairs[0] != pairs[1]  # a new pair each time
    profile = get_profile("standard")
    body = b'{"type":"invoice.paid","timestamp":"2024-01-01T00:00:00.000Z","data":{"n":1}}'
    for secret, public in pairs:
        assert public_key_for(secret) == public
        headers = profile.sign(msg_id="evt_kg", timestamp=10**9, body=body, secrets=[secret])
        (tmp_path / "h.json").write_text(json.dumps(headers))
        (tmp_path / "b.json").write_bytes(body)
        args = ("--headers", str(tmp_path / "h.json"), "--body", str(tmp_path / "b.json"))
        forever = ("--tolerance", str(10**10))
        code, out = await run("verify", "--secret", public, *args, *forever, env=env, cwd=tmp_path)
        assert code == 0 and "valid" in out, out
        other = generate_keypair()[1]
        code, out = await run("verify", "--secret", other, *args, *forever, env=env, cwd=tmp_path)
        assert code == 1 and "invalid" in out, out
        assert signed_by(public, headers, body)


async def test_keygen_pair_works_as_an_endpoint_secret(
    hookpost: Hookpost, receiver: Receiver, tmp_path: Path
) -> None:
    code, out = await run("keygen", "--json", env=cli_env(), cwd=tmp_path)
    assert code == 0, out
    pair = json.loads(out)
    pid, _ = await hookpost.project()
    ep = await hookpost.endpoint(pid, receiver.url("/kg"), secret=pair["secret_key"])
    assert ep["secret"] == ep["public_key"] == pair["public_key"]
    await hookpost.publish(pid)
    (req,) = await receiver.wait_for(1, "/kg")
    assert signed_by(pair["public_key"], req.headers, req.body)
