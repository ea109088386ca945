"""An endpoint's ``serializer``: validated, stored, shown, and what its deliveries are.

Only a re-serializing profile (justwallet) takes one; every other profile, an
unknown name or a wrong type is refused with 422 naming ``serializer`` and
nothing written, on create and on update, in the API and in the dashboard's
form. Stored, it comes back in every answer (``javascript`` when not set on a
re-serializing profile, null elsewhere) and on the endpoint's page, survives
the database (both backends), and decides the bytes delivered: the body the
receiver got is the serializer's output and the ``Signature`` is over exactly it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any

import httpx

from hookpost.core import serializers
from tests.conftest import ADMIN, Hookpost, Receiver
from tests.helpers.api import expect_field

CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
URL = "http://127.0.0.1:9/hook"

#: Create bodies refused, each naming serializer.
REFUSED: list[dict[str, Any]] = [
    {"profile": "standard", "serializer": "php"},
    {"profile": "standard", "serializer": "javascript"},
    {"profile": "stripe", "serializer": "ruby"},
    {"profile": "gluwa", "serializer": "php"},
    {"profile": "byl", "serializer": "php"},
    {"profile": "justwallet", "serializer": "perl"},
    {"profile": "justwallet", "serializer": "PHP"},
    {"profile": "justwallet", "serializer": ""},
    {"profile": "justwallet", "serializer": 1},
    {"profile": "justwallet", "serializer": ["php"]},
]

#: (create body, the serializer every answer shows)
ACCEPTED: list[tuple[dict[str, Any], str | None]] = [
    ({"profile": "justwallet"}, "javascript"),
    ({"profile": "justwallet", "serializer": None}, "javascript"),
    ({"profile": "justwallet", "serializer": "javascript"}, "javascript"),
    ({"profile": "justwallet", "serializer": "php"}, "php"),
    ({"profile": "justwallet", "serializer": "ruby"}, "ruby"),
    ({"profile": "standard"}, None),
    ({"profile": "stripe", "serializer": None}, None),
]


async def test_create_and_update_table(hookpost_noworkers: Hookpost) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    path = f"/api/v1/projects/{pid}/endpoints"
    for body in REFUSED:
        expect_field(await hp.http.post(path, json={"url": URL, **body}), "serializer")
    assert (await hp.http.get(path)).json()["data"] == []  # nothing half-written

    for body, shown in ACCEPTED:
        r = await hp.http.post(path, json={"url": URL, **body})
        assert r.status_code == 201, (body, r.text)
        assert r.json()["serializer"] == shown, body
        got = await hp.http.get(f"{path}/{r.json()['id']}")
        assert got.json()["serializer"] == shown, body
    listed = {
        e["profile"] + ":" + str(e["serializer"]) for e in (await hp.http.get(path)).json()["data"]
    }
    assert listed == {
        "justwallet:javascript",
        "justwallet:php",
        "justwallet:ruby",
        "standard:None",
        "stripe:None",
    }

    jw = await hp.endpoint(pid, URL, profile="justwallet")
    std = await hp.endpoint(pid, URL)
    for value in ("php", "javascript"):
        r = await hp.http.patch(f"{path}/{std['id']}", json={"serializer": value})
        expect_field(r, "serializer")
    for value in ("perl", 7):
        expect_field(
            await hp.http.patch(f"{path}/{jw['id']}", json={"serializer": value}), "serializer"
        )
    r = await hp.http.patch(f"{path}/{std['id']}", json={"serializer": None, "description": "x"})
    assert r.status_code == 200 and r.json()["serializer"] is None, r.text
    for value, shown in (("php", "php"), ("ruby", "ruby"), (None, "javascript")):
        r = await hp.http.patch(f"{path}/{jw['id']}", json={"serializer": value})
        assert r.status_code == 200, r.text
        assert r.json()["serializer"] == shown
        assert (await hp.http.get(f"{path}/{jw['id']}")).json()["serializer"] == shown
    # Other edits leave it as it is.
    await hp.http.patch(f"{path}/{jw['id']}", json={"serializer": "php"})
    r = await hp.http.patch(f"{path}/{jw['id']}", json={"description": "billing"})
    assert r.json()["serializer"] == "php"


PAYLOAD = {
    "url": "https://pay.example/r/1",
    "name": "Зоя 😀",
    "amount": 20.15,
    "rate": 1.0,
    "tiny": 0.00001,
    "empty": {},
    "list": [],
}


async def test_each_serializer_decides_the_bytes_sent_and_signed(
    hookpost: Hookpost, receiver: Receiver
) -> None:
    secret = "our own webhook secret"
    pid, _ = await hookpost.project()
    for name in serializers.SERIALIZERS:
        await hookpost.endpoint(
            pid, receiver.url(f"/{name}"), profile="justwallet", secret=secret, serializer=name
        )
    await hookpost.publish(pid, "payout", payload=PAYLOAD)
    await receiver.wait_for(len(serializers.SERIALIZERS))
    bodies = {}
    for name in serializers.SERIALIZERS:
        (got,) = receiver.at(f"/{name}")
        envelope = {"event.type": "payout", "meta": None, "data": PAYLOAD}
        assert got.body == serializers.dumps(envelope, name), name
        want = hmac.new(secret.encode(), got.body, hashlib.sha256).hexdigest()
        assert got.headers["Signature"] == want, name
        assert json.loads(got.body)["data"]["name"] == "Зоя 😀"
        bodies[name] = got.body
    assert b'"url":"https:\\/\\/pay.example\\/r\\/1"' in bodies["php"]
    assert b'"empty":[]' in bodies["php"]
    assert b'"rate":1.0,"tiny":1.0e-05' in bodies["ruby"]
    assert b'"rate":1,"tiny":0.00001' in bodies["javascript"]


async def test_dashboard_form(hookpost_noworkers: Hookpost) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    async with httpx.AsyncClient(base_url=hp.base_url, timeout=30) as browser:
        r = await browser.post("/login", data={"token": ADMIN, "next": "/"})
        assert r.status_code == 303, r.text
        form_url = f"/projects/{pid}/endpoints/new"
        page = (await browser.get(form_url)).text
        assert 'name="serializer"' in page and "PHP: json_encode" in page
        csrf = CSRF_RE.search(page)
        assert csrf
        base = {"csrf": csrf.group(1), "url": URL, "enabled": "1"}

        # A serializer on a profile that signs the raw body: the form again, the field marked.
        r = await browser.post(form_url, data={**base, "profile": "standard", "serializer": "php"})
        assert r.status_code == 422, r.text
        assert re.search(r'id="serializer"[^>]*aria-invalid="true"', r.text), r.text
        assert "only for profiles whose receivers re-serialize" in r.text
        assert (await hp.http.get(f"/api/v1/projects/{pid}/endpoints")).json()["data"] == []

        r = await browser.post(
            form_url, data={**base, "profile": "justwallet", "serializer": "php"}
        )
        assert r.status_code == 303, r.text
        endpoint_id = r.headers["location"].split("/endpoints/")[1].split("?")[0]
        page = (await browser.get(r.headers["location"])).text
        assert "PHP\u2019s json_encode" in page

        edit_url = f"/projects/{pid}/endpoints/{endpoint_id}/edit"
        page = (await browser.get(edit_url)).text
        assert re.search(r'<option value="php" selected>', page), page
        csrf = CSRF_RE.search(page)
        assert csrf
        r = await browser.post(
            edit_url, data={"csrf": csrf.group(1), "url": URL, "serializer": "ruby", "enabled": "1"}
        )
        assert r.status_code == 303, r.text
        got = await hp.http.get(f"/api/v1/projects/{pid}/endpoints/{endpoint_id}")
        assert got.json()["serializer"] == "ruby"

        # A standard endpoint's edit form has no serializer to choose.
        std = await hp.endpoint(pid, URL)
        page = (await browser.get(f"/projects/{pid}/endpoints/{std['id']}/edit")).text
        assert 'name="serializer"' not in page
