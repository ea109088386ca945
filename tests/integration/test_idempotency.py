"""The API honours ``Idempotency-Key`` on POST routes (hookpost.web.idempotency), on both backends.

Each rule is checked by what was created, not only by the answers: a replay
must leave exactly one endpoint/event behind.
"""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from hookpost.core.crypto import SecretBox, generate_key
from hookpost.web.idempotency import IN_FLIGHT_SECONDS, TTL_SECONDS
from tests.conftest import ADMIN, Hookpost
from tests.helpers.database import database_bytes

KEY = {"Idempotency-Key": "k-0001"}


async def _count_endpoints(hp: Hookpost, pid: str) -> int:
    r = await hp.http.get(f"/api/v1/projects/{pid}/endpoints")
    return len(r.json()["data"])


async def test_same_key_same_body_replays_the_first_answer(hookpost_noworkers: Hookpost) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    path = f"/api/v1/projects/{pid}/endpoints"
    body = {"url": "http://127.0.0.1:9/a", "rate_limit": 2}
    first = await hp.http.post(path, json=body, headers=KEY)
    again = await hp.http.post(path, json=body, headers=KEY)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()  # the secret too: the same answer, byte for byte
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.headers["content-type"] == "application/json"
    assert await _count_endpoints(hp, pid) == 1
    other = await hp.http.post(path, json=body, headers={"Idempotency-Key": "k-0002"})
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    assert await _count_endpoints(hp, pid) == 2


@pytest.mark.parametrize(
    ("second_path", "second_body"),
    [
        ("endpoints", {"url": "http://127.0.0.1:9/b"}),  # another body
        ("events", {"event_type": "a.b", "payload": {}}),  # another route
    ],
)
async def test_a_key_reused_for_another_request_is_refused(
    hookpost_noworkers: Hookpost, second_path: str, second_body: dict[str, object]
) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    base = f"/api/v1/projects/{pid}"
    r = await hp.http.post(f"{base}/endpoints", json={"url": "http://127.0.0.1:9/a"}, headers=KEY)
    assert r.status_code == 201
    r = await hp.http.post(f"{base}/{second_path}", json=second_body, headers=KEY)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "idempotency_key_reused"
    assert r.json()["detail"][0]["field"] == "Idempotency-Key"
    assert "Idempotency-Key" in r.json()["message"]
    assert await _count_endpoints(hp, pid) == 1
    events = (await hp.http.get(f"{base}/events")).json()["data"]
    assert events == []


async def test_keys_belong_to_the_caller(hookpost_noworkers: Hookpost) -> None:
    hp = hookpost_noworkers
    pid, key = await hp.project()
    path = f"/api/v1/projects/{pid}/endpoints"
    body = {"url": "http://127.0.0.1:9/a"}
    as_admin = await hp.http.post(path, json=body, headers=KEY)
    as_key = await hp.http.post(path, json=body, headers={**KEY, "Authorization": f"Bearer {key}"})
    assert as_admin.status_code == as_key.status_code == 201
    assert "idempotent-replayed" not in as_key.headers
    assert await _count_endpoints(hp, pid) == 2


@pytest.mark.parametrize("bad", ["", "a b", "é", "x" * 256])
async def test_malformed_keys_are_refused_naming_the_header(
    hookpost_noworkers: Hookpost, bad: str
) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    r = await hp.http.post(
        f"/api/v1/projects/{pid}/endpoints",
        json={"url": "http://127.0.0.1:9/a"},
        headers={"Idempotency-Key": bad.encode("utf-8")},  # type: ignore[dict-item]
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == "Idempotency-Key"
    assert await _count_endpoints(hp, pid) == 0


async def test_a_refused_request_releases_its_key(hookpost_noworkers: Hookpost) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    path = f"/api/v1/projects/{pid}/endpoints"
    body = {"url": "ftp://127.0.0.1:9/a"}
    for _ in range(2):  # not stored: the second runs (and fails) again
        r = await hp.http.post(path, json=body, headers=KEY)
        assert r.status_code == 422 and "idempotent-replayed" not in r.headers
    fixed = await hp.http.post(path, json={"url": "http://127.0.0.1:9/a"}, headers=KEY)
    assert fixed.status_code == 201


async def test_running_interrupted_and_expired_keys(hookpost_noworkers: Hookpost) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    path = f"/api/v1/projects/{pid}/endpoints"
    body = b'{"url": "http://127.0.0.1:9/a"}'
    headers = {**KEY, "Content-Type": "application/json"}
    # The first request with the key is "still running": its reservation, without an answer.
    key_id = hashlib.sha256(f"Bearer {ADMIN}\nk-0001".encode()).hexdigest()
    held = await hp.store.reserve_idempotency_key(
        key_id, path, hashlib.sha256(body).hexdigest(), TTL_SECONDS
    )
    assert held is None
    r = await hp.http.post(path, content=body, headers=headers)
    assert r.status_code == 409 and r.json()["error"] == "idempotency_key_in_use"
    assert r.headers["retry-after"] == "1"
    hp.clock.advance(IN_FLIGHT_SECONDS + 1)  # its process died: never run it again
    r = await hp.http.post(path, content=body, headers=headers)
    assert r.status_code == 409 and r.json()["error"] == "idempotency_key_outcome_unknown"
    assert await _count_endpoints(hp, pid) == 0
    hp.clock.advance(TTL_SECONDS)  # expired: the key is free again
    r = await hp.http.post(path, content=body, headers=headers)
    assert r.status_code == 201 and "idempotent-replayed" not in r.headers
    assert await hp.store.purge_idempotency_keys() == 0  # the fresh one stays
    hp.clock.advance(TTL_SECONDS + 1)
    assert await hp.store.purge_idempotency_keys() == 1


async def test_publish_honours_the_header_as_well_as_event_id(
    hookpost_noworkers: Hookpost,
) -> None:
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    await hp.endpoint(pid, "http://127.0.0.1:9/a")
    path = f"/api/v1/projects/{pid}/events"
    body = {"event_type": "user.created", "payload": {"n": 1}}  # no event_id
    first = await hp.http.post(path, json=body, headers=KEY)
    again = await hp.http.post(path, json=body, headers=KEY)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    batch = {"events": [body, body]}
    b1 = await hp.http.post(f"{path}/batch", json=batch, headers={"Idempotency-Key": "b-1"})
    b2 = await hp.http.post(f"{path}/batch", json=batch, headers={"Idempotency-Key": "b-1"})
    assert b1.json() == b2.json() and b1.json()["created"] == 2
    events = (await hp.http.get(path)).json()["data"]
    assert len(events) == 3  # one single publish, one batch of two
    deliveries = (await hp.http.get(f"/api/v1/projects/{pid}/deliveries")).json()["data"]
    assert len(deliveries) == 3
    # Without the header, a repeated event_id is still answered by the first event.
    with_id = {**body, "event_id": "evt_1"}
    assert (await hp.http.post(path, json=with_id)).status_code == 202
    assert (await hp.http.post(path, json=with_id)).status_code == 200


#: POST routes whose answer carries a secret: (path under the project or "", body, field).
SECRET_ANSWERS = [
    ("", {"name": "second"}, "api_key"),  # POST /api/v1/projects: the project's first key
    ("/api-keys", {"name": "ci"}, "key"),
    ("/endpoints", {"url": "http://127.0.0.1:9/s"}, "secret"),
    ("/endpoints/{ep}/rotate-secret", {"grace_period_seconds": 0}, "secret"),
    ("/portal-link", {"scope": "manage"}, "url"),
]


@pytest.mark.parametrize(("path", "body", "field"), SECRET_ANSWERS)
async def test_a_stored_answer_keeps_no_secret_in_clear(
    hookpost_noworkers: Hookpost, db_url: str, path: str, body: dict[str, object], field: str
) -> None:
    """The answer a replay needs is kept sealed, like the endpoint secrets: an API key is
    stored only as its hash, and its stored answer must not be the way around that."""
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    ep = await hp.endpoint(pid, "http://127.0.0.1:9/a")
    url = "/api/v1/projects" + (f"/{pid}" + path.format(ep=ep["id"]) if path else "")
    first = await hp.http.post(url, json=body, headers=KEY)
    assert 200 <= first.status_code < 300, first.text
    secret = first.json()[field]
    # A portal link: its token, the path's last part; a secret is searched whole (a
    # base64 secret may hold "/", and a short piece of one can occur in any bytes).
    token = secret.rsplit("/", 1)[-1] if field == "url" else secret
    assert len(token) >= 16, secret
    assert token.encode() not in await database_bytes(hp, db_url)
    again = await hp.http.post(url, json=body, headers=KEY)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content


async def test_a_stored_answer_that_no_key_opens_is_not_replayed(
    hookpost_noworkers: Hookpost,
) -> None:
    """A replay whose sealed answer the configured keys cannot open (the key was changed
    without keeping the old one) is refused as an unknown outcome, never a 500."""
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    path = f"/api/v1/projects/{pid}/api-keys"
    assert (await hp.http.post(path, json={}, headers=KEY)).status_code == 201
    hp.store.box = SecretBox.from_text(generate_key())
    r = await hp.http.post(path, json={}, headers=KEY)
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "idempotency_key_outcome_unknown"


async def test_many_requests_racing_for_one_key_never_answer_500(
    hookpost_noworkers: Hookpost,
) -> None:
    """Requests with one key, each refused (so each releases the key), race for it: every
    one is answered (its own 422, or 409 while another holds the key), none a 500."""
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    path = f"/api/v1/projects/{pid}/endpoints"
    bad = {"url": "ftp://127.0.0.1:9/a"}
    answers = await asyncio.gather(*(hp.http.post(path, json=bad, headers=KEY) for _ in range(30)))
    assert {r.status_code for r in answers} <= {409, 422}, [r.text for r in answers]
    assert await _count_endpoints(hp, pid) == 0


async def test_a_key_on_a_long_path_is_answered_not_500(hookpost_noworkers: Hookpost) -> None:
    """The route column is bounded (512): a longer path (an unknown project id of 600
    characters) is answered as without the header (404), on PostgreSQL too."""
    hp = hookpost_noworkers
    long_id = "p" * 600
    for _ in range(2):
        r = await hp.http.post(
            f"/api/v1/projects/{long_id}/endpoints",
            json={"url": "http://127.0.0.1:9/a"},
            headers=KEY,
        )
        assert r.status_code == 404, r.text
