"""The API honours ``Idempotency-Key`` on POST routes (hookpost.web.idempotency), on both backends.

Each rule is checked by what was created, not only by the answers: a replay
must leave exactly one endpoint/event behind.
"""

from __future__ import annotations

import hashlib

import pytest

from hookpost.web.idempotency import IN_FLIGHT_SECONDS, TTL_SECONDS
from tests.conftest import ADMIN, Hookpost

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
