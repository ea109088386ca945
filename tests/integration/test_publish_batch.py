"""``POST /api/v1/projects/{id}/events/batch``: many events, each judged as a single publish.

A table of batches -- good, bad, duplicate, mixed -- on SQLite and PostgreSQL
(real HTTP on 127.0.0.1): each item's status is what a single publish of it
answers (202, 200 for a repeat, 409 for an ``event_id`` reused by a different
event, 422 naming the field), one bad item never rejects the others, only the
202 items create events and deliveries, and the answers line up with the
events sent. Then the client's ``publish_batch``, the group commit that keeps
a batch in one transaction, and refusals of the request as a whole.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from hookpost import AsyncClient
from hookpost.services.events import NOT_THE_SCHEMA
from tests.conftest import Hookpost


def ev(event_type: str = "user.created", payload: Any = None, **kw: Any) -> dict[str, Any]:
    return {"event_type": event_type, "payload": {"n": 1} if payload is None else payload, **kw}


#: (name, events sent, expected (status, field of the refusal or None) per item)
BATCHES: list[tuple[str, list[Any], list[tuple[int, str | None]]]] = [
    ("all good", [ev(), ev(payload={"n": 2}), ev("a.b", event_id="e-1")], [(202, None)] * 3),
    (
        "every item bad",
        [
            {"payload": {}},
            ev("not a type"),
            ev(payload=[1, 2]),
            {**ev(), "extra": 1},
            "not an object",
            ev(event_id="x" * 256),
        ],
        [
            (422, "event_type"),
            (422, "event_type"),
            (422, "payload"),
            (422, "extra"),
            (422, "event"),
            (422, "event_id"),
        ],
    ),
    (
        "duplicates",
        [
            ev(event_id="seen", payload={"n": 0}),  # published before the batch, the same
            ev(event_id="d-1"),
            ev(event_id="d-1"),  # the same again in the batch
            ev(event_id="d-2", payload={"n": 1}),
            ev(event_id="d-2", payload={"n": 2}),  # reused in the batch, another payload
            ev("other.type", event_id="seen", payload={"n": 0}),  # reused, another type
        ],
        [(200, None), (202, None), (200, None), (202, None), (409, "event_id"), (409, "event_id")],
    ),
    (
        "mixed",
        [ev(), {"event_type": "x"}, ev(event_id="seen", payload={"n": 0}), ev(payload={"n": 9})],
        [(202, None), (422, "payload"), (200, None), (202, None)],
    ),
]


@pytest.mark.parametrize(("name", "events", "expected"), BATCHES, ids=[b[0] for b in BATCHES])
async def test_each_item_is_answered_as_a_single_publish_would_be(
    hookpost_noworkers: Hookpost,
    name: str,
    events: list[Any],
    expected: list[tuple[int, str | None]],
) -> None:
    hp = hookpost_noworkers
    pid, key = await hp.project()
    await hp.endpoint(pid, "http://127.0.0.1:9/a")
    await hp.endpoint(pid, "http://127.0.0.1:9/b")
    first = await hp.publish(pid, "user.created", payload={"n": 0}, event_id="seen")
    async with AsyncClient(hp.base_url, token=key) as client:
        answer = await client.publish_batch(pid, events)

    items = answer["data"]
    assert [(i["index"], i["status"]) for i in items] == [
        (k, s) for k, (s, _) in enumerate(expected)
    ], items
    for item, (status, field) in zip(items, expected, strict=True):
        if status >= 400:
            assert item["error"] == ("conflict" if status == 409 else "validation_error")
            assert item["detail"][0]["field"] == field, item
            assert item["message"].startswith(f"{field}:") or field == "event_id", item
            assert item.get("id") is None
        else:
            assert item["deliveries"] == 2 and item["id"] and item["sequence"] > 0
            assert "payload" not in item  # the sender has it
    created = [i for i in items if i["status"] == 202]
    assert answer["created"] == len(created)
    assert answer["repeated"] == sum(1 for i in items if i["status"] == 200)
    assert answer["refused"] == sum(1 for i in items if i["status"] >= 400)
    # A repeat answers with the first event; the two d-1 items are one event.
    for item, sent in zip(items, events, strict=True):
        if item["status"] == 200 and sent.get("event_id") == "seen":
            assert item["id"] == first["id"] and item["sequence"] == first["sequence"]
    if name == "duplicates":
        assert items[1]["id"] == items[2]["id"] == "d-1"
        assert "a different payload" in items[4]["message"]
        assert "a different event_type" in items[5]["message"]

    # Only the 202 items were stored, in order, each with its deliveries.
    listed = (await hp.http.get(f"/api/v1/projects/{pid}/events?order=asc")).json()["data"]
    assert [e["id"] for e in listed] == [first["id"]] + [i["id"] for i in created]
    sequences = [i["sequence"] for i in created]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
    for item in created:
        stored = (await hp.http.get(f"/api/v1/projects/{pid}/events/{item['id']}")).json()
        assert stored["payload"] == events[item["index"]]["payload"]
    deliveries = await hp.deliveries(pid, limit=250)
    assert len(deliveries) == 2 * (1 + len(created))
    assert {d["status"] for d in deliveries} == {"pending"}


async def test_the_catalog_refuses_one_item_and_says_why_only_to_a_key_that_reads_it(
    hookpost_noworkers: Hookpost,
) -> None:
    hp = hookpost_noworkers
    pid, full = await hp.project()
    schema = {"properties": {"n": {"maximum": 7317}}}
    r = await hp.http.post(
        f"/api/v1/projects/{pid}/event-types", json={"name": "order.paid", "schema": schema}
    )
    assert r.status_code == 201, r.text
    publisher = (
        await hp.http.post(f"/api/v1/projects/{pid}/api-keys", json={"scope": "publish"})
    ).json()["key"]
    batch = [ev("order.paid", {"n": 9999}), ev("order.paid", {"n": 1})]
    for token, told in ((publisher, False), (full, True)):
        async with AsyncClient(hp.base_url, token=token) as client:
            refused, ok = (await client.publish_batch(pid, batch))["data"]
        assert (refused["status"], ok["status"]) == (422, 202)
        assert refused["detail"][0]["field"] == "payload.n"
        assert (refused["detail"][0]["message"] != NOT_THE_SCHEMA) is told
        assert ("7317" in refused["message"]) is told


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": []}, "events"),
        ({"events": [ev()] * 501}, "events"),
        ({}, "events"),
        ({"events": {"event_type": "a"}}, "events"),
        ([ev()], "body"),
    ],
    ids=["empty", "501 events", "no events", "events not a list", "a bare list"],
)
async def test_a_malformed_request_is_refused_whole(
    hookpost_noworkers: Hookpost, body: Any, field: str
) -> None:
    hp = hookpost_noworkers
    pid, _key = await hp.project()
    r = await hp.http.post(f"/api/v1/projects/{pid}/events/batch", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == field
    assert (await hp.http.get(f"/api/v1/projects/{pid}/events")).json()["data"] == []


def count_writes(hp: Hookpost, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the publish writes from now on (one per transaction), as they happen."""
    writes: list[int] = []
    real = hp.store._publish_batch

    async def counted(requests: list[Any]) -> Any:
        writes.append(len(requests))
        return await real(requests)

    monkeypatch.setattr(hp.store, "_publish_batch", counted)
    return writes


async def test_a_batch_is_one_transaction_of_the_group_commit(
    sqlite_api: Hookpost, monkeypatch: pytest.MonkeyPatch
) -> None:
    """500 events (more than a group-commit batch of single publishes) in one write."""
    hp = sqlite_api
    pid, key = await hp.project()
    await hp.endpoint(pid, "http://127.0.0.1:9/a")
    writes = count_writes(hp, monkeypatch)
    events = [ev(event_id=f"big-{i}", payload={"i": i}) for i in range(500)]
    async with AsyncClient(hp.base_url, token=key) as client:
        answer = await client.publish_batch(pid, events)
    assert answer["created"] == 500
    assert writes == [500]
    assert [i["id"] for i in answer["data"]] == [f"big-{i}" for i in range(500)]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
async def test_a_non_finite_number_refuses_its_item_alone(
    hookpost_noworkers: Hookpost, number: str
) -> None:
    """Python reads these from a body; the item holding one is a 422 of its own, its
    neighbours are stored (the request as a whole used to be refused)."""
    hp = hookpost_noworkers
    pid, _key = await hp.project()
    body = (
        '{"events":[{"event_type":"a.b","payload":{"n":1}},'
        f'{{"event_type":"a.b","payload":{{"n":{number}}}}},'
        '{"event_type":"a.b","payload":{"n":3}}]}'
    )
    r = await hp.http.post(
        f"/api/v1/projects/{pid}/events/batch",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert [i["status"] for i in data] == [202, 422, 202]
    assert data[1]["detail"][0]["field"] == "payload"
    assert "not valid JSON" in data[1]["message"]
    stored = (await hp.http.get(f"/api/v1/projects/{pid}/events")).json()["data"]
    assert sorted(e["payload"]["n"] for e in stored) == [1, 3]


async def test_an_event_id_repeated_in_a_later_batch_answers_with_the_first_event(
    hookpost_noworkers: Hookpost,
) -> None:
    """Idempotency across batches: the same event_id, type and payload again is a 200
    with the first event (nothing created); another payload or type is a 409."""
    hp = hookpost_noworkers
    pid, key = await hp.project()
    await hp.endpoint(pid, "http://127.0.0.1:9/a")
    first_batch = [ev(event_id="x-1", payload={"n": 1}), ev(event_id="x-2", payload={"é": "😀"})]
    again = [
        ev(event_id="x-2", payload={"é": "😀"}),  # the same, sent again
        ev(event_id="x-1", payload={"n": 1.0}),  # 1.0 is not 1: another payload
        ev("other.type", event_id="x-1", payload={"n": 1}),
        ev(event_id="x-3"),
    ]
    async with AsyncClient(hp.base_url, token=key) as client:
        first = (await client.publish_batch(pid, first_batch))["data"]
        answer = await client.publish_batch(pid, again)
    items = answer["data"]
    assert [i["status"] for i in items] == [200, 409, 409, 202]
    assert (items[0]["id"], items[0]["sequence"]) == (first[1]["id"], first[1]["sequence"])
    assert items[0]["deliveries"] == 1
    assert "a different payload" in items[1]["message"]
    assert "a different event_type" in items[2]["message"]
    assert (answer["created"], answer["repeated"], answer["refused"]) == (1, 1, 2)
    listed = (await hp.http.get(f"/api/v1/projects/{pid}/events")).json()["data"]
    assert sorted(e["id"] for e in listed) == ["x-1", "x-2", "x-3"]


#: Items a batch reads without the model, and items only the model reads: each answered
#: as a single publish of it is, and stored as that one is.
SINGLES: list[Any] = [
    ev(),
    ev(payload={"n": "Зоя 😀", "f": 1e-05, "g": 1.0, "big": 2**70, "e": "\u2028"}),
    ev(payload={"a": [[i] for i in range(70)]}),  # more brackets than levels: walked
    ev(event_id="only:once.1"),
    ev("a.b\n"),
    ev(event_id=""),
    ev(event_id=7),
    ev(payload={"s": "\ud800"}),
    ev(payload=json.loads('{"a":' + "[" * 64 + "1" + "]" * 64 + "}")),  # 65 levels
    {"event_type": "a.b", "payload": {}, "extra": None},
    {"event_type": "a.b"},
]


async def test_each_item_answers_and_is_stored_as_its_single_publish(
    sqlite_api: Hookpost,
) -> None:
    hp = sqlite_api
    alone, _ = await hp.project()
    together, _ = await hp.project()

    async def post(path: str, body: Any) -> httpx.Response:
        # json.dumps writes an unpaired surrogate as \ud800, which httpx's encoder refuses.
        headers = {"content-type": "application/json"}
        return await hp.http.post(path, content=json.dumps(body), headers=headers)

    singles = []
    for event in SINGLES:
        r = await post(f"/api/v1/projects/{alone}/events", event)
        singles.append((r.status_code, r.json()))
    r = await post(f"/api/v1/projects/{together}/events/batch", {"events": SINGLES})
    assert r.status_code == 200, r.text
    items = r.json()["data"]
    for (status, single), item, event in zip(singles, items, SINGLES, strict=True):
        assert item["status"] == status, (event, single, item)
        if status >= 400:
            assert (item["error"], item["message"], item["detail"]) == (
                single["error"], single["message"], single["detail"]
            )  # fmt: skip
            continue
        assert item["event_type"] == single["event_type"]
        stored = (await hp.http.get(f"/api/v1/projects/{together}/events/{item['id']}")).json()
        assert stored["payload"] == single["payload"] == event["payload"]
    # The stored text, byte for byte: what the deliveries are signed from.
    texts = []
    for pid in (alone, together):
        rows = await hp.store.list_events(pid, limit=100, cursor=None, order="asc")
        texts.append([e["payload"] for e in rows.data])
    assert texts[0] == texts[1] and len(texts[0]) == sum(1 for s, _ in singles if s == 202)


async def test_concurrent_batches_share_a_commit_up_to_its_size(
    sqlite_api: Hookpost, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches waiting together are one SQLite transaction (one wait for the disk), up to
    2,000 events; a batch is never split: the next one waits for the next commit. (The
    first finds the writer free and goes alone.)"""
    hp = sqlite_api
    pid, _key = await hp.project()
    await hp.endpoint(pid, "http://127.0.0.1:9/a")
    writes = count_writes(hp, monkeypatch)
    batches = [
        [("a.b", f'{{"n":{k}}}', f"b{b}-{k}") for k in range(size)]
        for b, size in enumerate([500, 500, 400, 500, 500, 200, 300])
    ]
    answers = await asyncio.gather(*(hp.store.publish_many(pid, b) for b in batches))
    assert writes == [500, 1900, 500]  # 1,900 does not take the next 500: it waits
    for batch, answer in zip(batches, answers, strict=True):
        assert [event["id"] for event, _count, created in answer if created] == [
            eid for _t, _p, eid in batch
        ]


#: Payload texts as the store is given them: escapes, quotes, non-ASCII, line separators.
TEXTS = [
    '{"q":"a\\"b\\\\c","u":"\\u0000\\u001f\\n","n":-0.0,"f":1e-05,"big":123456789012345678901}',
    '{"é":"Зоя 😀","ls":"\u2028\u2029","s":"/<>&\'"}',
    "{}",
    '{"nested":[[[{"a":null,"b":true,"c":false}]]]}',
]


async def test_the_stored_rows_are_exactly_what_was_published(sqlite_api: Hookpost) -> None:
    """SQLite writes a batch's rows through one JSON text a statement: each payload's
    text comes back byte for byte, the times exactly as Python had them."""
    hp = sqlite_api
    pid, _key = await hp.project()
    await hp.endpoint(pid, "http://127.0.0.1:9/a")
    await hp.endpoint(pid, "http://127.0.0.1:9/b", enabled=False)
    published = await hp.store.publish_many(
        pid, [("a.b", text, None) for text in TEXTS], trace_context="00-abc-def-01"
    )
    stored = (await hp.store.list_events(pid, limit=10, cursor=None, order="asc")).data
    assert [e["payload"] for e in stored] == TEXTS
    for (event, count, created), row in zip(published, stored, strict=True):
        assert created and count == 2
        assert row["created_at"] == event["created_at"] and row["seq"] == event["seq"]
        assert row["trace_context"] == "00-abc-def-01"
    deliveries = await hp.deliveries(pid, limit=20)
    assert sorted(d["status"] for d in deliveries) == ["held"] * 4 + ["pending"] * 4
    for d in deliveries:
        assert (d["next_attempt_at"] is None) is (d["status"] == "held")
        assert d["created_at"] == d["updated_at"]
