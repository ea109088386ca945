"""What a claim hands the dispatcher: typed, opened, built once per row.

The claim turns each endpoint row into one :class:`ClaimedEndpoint` (secrets
decrypted, a broker URL's password only in ``wire_url``, the custom profile's
definition attached) and each event row into one :class:`ClaimedEvent`; every
delivery of the claim to the same endpoint or of the same event shares that one
object, so an attempt converts nothing.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select, update

from hookpost.core.clock import ManualClock
from hookpost.core.crypto import SecretBox
from hookpost.domain import ClaimedDelivery, ClaimedEndpoint, ClaimedEvent
from hookpost.store import Store
from hookpost.store.models import deliveries, endpoints
from tests.conftest import TEST_SECRET_KEY

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
DEFINITION = {"header": "X-Acme-Signature", "signed_content": "{body}", "encoding": "hex"}
TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    s = Store.from_url(db_url, ManualClock(1000.0), box=SecretBox.from_text(TEST_SECRET_KEY))
    yield s
    await s.close()


def _values(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "url": url,
        "event_types": [],
        "profile": "standard",
        "secret": SECRET,
        "headers": {},
        "enabled": True,
        **extra,
    }


# (endpoint columns as stored, what the ClaimedEndpoint says of them)
CASES = [
    pytest.param(
        {},
        {
            "profile_definition": None,
            "serializer": None,
            "old_secrets": (),
            "headers": {},
            "secret_headers": (),
            "success_rule": None,
            "max_attempts": None,
            "retry_schedule": None,
            "timeout_seconds": None,
            "max_concurrency": None,
            "rate_limit": None,
            "fifo": False,
            "failing": False,
        },
        id="defaults",
    ),
    pytest.param(
        {
            "retry_schedule": [1, 2.5],
            "success_rule": "200",
            "max_attempts": 3,
            "timeout_seconds": 7,
            "max_concurrency": 4,
            "rate_limit": 50,
            "ordering": "fifo",
        },
        {
            "retry_schedule": (1.0, 2.5),
            "success_rule": "200",
            "max_attempts": 3,
            "timeout_seconds": 7.0,
            "max_concurrency": 4,
            "rate_limit": 50.0,
            "fifo": True,
        },
        id="policy",
    ),
    pytest.param(
        {
            "headers": {"X-Tenant": "acme", "Authorization": "Bearer t0k3n"},
            "secret_headers": ["X-Tenant"],
        },
        {
            "headers": {"X-Tenant": "acme", "Authorization": "Bearer t0k3n"},
            "secret_headers": ("X-Tenant", "Authorization"),
        },
        id="secret-headers-opened",
    ),
    pytest.param(
        {"old_secrets": [{"secret": OLD, "expires_at": 2000}]},
        {"old_secrets": ((OLD, 2000.0),)},
        id="rotated-secret",
    ),
    pytest.param(
        {"consecutive_failures": 2},
        {"consecutive_failures": 2, "failing": True},
        id="failing",
    ),
    pytest.param(
        # A circuit that opened and whose cooldown has passed: the claim takes its probe.
        {"circuit_open_until": 500.0},
        {"circuit_open_until": 500.0, "failing": True},
        id="circuit-open",
    ),
]


@pytest.mark.parametrize(("stored", "expected"), CASES)
async def test_a_claimed_endpoint_carries_its_columns_typed(
    store: Store, stored: dict[str, Any], expected: dict[str, Any]
) -> None:
    pid = (await store.create_project("p"))[0]["id"]
    health_columns = ("consecutive_failures", "circuit_open_until")
    health = {k: v for k, v in stored.items() if k in health_columns}
    values = {k: v for k, v in stored.items() if k not in health_columns}
    ep = await store.create_endpoint(pid, _values("http://127.0.0.1:9/hook", **values))
    if health:
        async with store.writer.begin() as conn:
            await conn.execute(update(endpoints).where(endpoints.c.id == ep["id"]).values(health))
    await store.publish(pid, "a.b", '{"n": 1}')
    (job,) = (await store.claim(10, 90)).jobs
    claimed = job.endpoint
    assert isinstance(job, ClaimedDelivery) and isinstance(claimed, ClaimedEndpoint)
    assert (claimed.id, claimed.project_id, claimed.profile) == (ep["id"], pid, "standard")
    assert claimed.url == claimed.wire_url == "http://127.0.0.1:9/hook"
    assert claimed.secret == SECRET
    for name, value in expected.items():
        got = getattr(claimed, name)
        assert got == value and type(got) is type(value), name


async def test_a_broker_password_is_only_in_the_wire_url(store: Store) -> None:
    pid = (await store.create_project("p"))[0]["id"]
    url = "amqp://bench:s3cr3t-pw@127.0.0.1:5672/%2F?exchange=hooks"
    await store.create_endpoint(pid, _values(url))
    await store.publish(pid, "a.b", "{}")
    (job,) = (await store.claim(10, 90)).jobs
    assert job.endpoint.wire_url == url
    assert "s3cr3t-pw" not in job.endpoint.url and job.endpoint.url.startswith("amqp://bench:")


async def test_a_custom_profile_comes_with_its_definition(store: Store) -> None:
    pid = (await store.create_project("p"))[0]["id"]
    await store.create_profile(pid, "acme", DEFINITION)
    await store.create_endpoint(pid, _values("http://127.0.0.1:9/a", profile="acme"))
    await store.create_endpoint(pid, _values("http://127.0.0.1:9/b"))
    await store.publish(pid, "a.b", "{}")
    jobs = (await store.claim(10, 90)).jobs
    by_profile = {j.endpoint.profile: j.endpoint.profile_definition for j in jobs}
    assert by_profile == {"acme": DEFINITION, "standard": None}


async def test_one_object_per_endpoint_and_per_event(store: Store) -> None:
    pid = (await store.create_project("p"))[0]["id"]
    for path in ("/a", "/b"):
        await store.create_endpoint(pid, _values(f"http://127.0.0.1:9{path}"))
    await store.publish(pid, "a.b", '{"n": 1}')
    await store.publish(pid, "c.d", '{"n": 2}', trace_context=TRACE)
    jobs = (await store.claim(10, 90)).jobs
    assert len(jobs) == 4
    endpoints = {id(j.endpoint) for j in jobs}
    events = {id(j.event) for j in jobs}
    assert len(endpoints) == 2 and len(events) == 2
    ev = next(j.event for j in jobs if j.event.event_type == "c.d")
    assert isinstance(ev, ClaimedEvent)
    assert (ev.project_id, ev.payload, ev.created_at) == (pid, '{"n": 2}', 1000.0)
    assert isinstance(ev.seq, int) and ev.trace_context == TRACE
    assert next(j.event for j in jobs if j.event.event_type == "a.b").trace_context is None


async def test_a_sqlite_claim_writes_only_the_rows_it_keeps(sqlite_url: str) -> None:
    """SQLite's claim reads the due rows under its write lock and leases only those the
    admission policy keeps: an endpoint with room for 2 of 10 costs 2 row writes, and
    the 8 left keep their place in the queue (PostgreSQL leases all 10 and hands 8 back)."""
    clock = ManualClock(1000.0)
    store = Store.from_url(sqlite_url, clock, box=SecretBox.from_text(TEST_SECRET_KEY))
    try:
        pid = (await store.create_project("p"))[0]["id"]
        ep = await store.create_endpoint(pid, _values("http://127.0.0.1:9/a", max_concurrency=2))
        for n in range(10):
            await store.publish(pid, "a.b", f'{{"n": {n}}}')
        clock.advance(5)
        claim = await store.claim(10, 90)
        assert len(claim.jobs) == 2 and claim.capped == {ep["id"]}
        async with store.reader.connect() as conn:
            rows = (await conn.execute(select(deliveries))).all()
        leased = [r for r in rows if r.status == "delivering"]
        left = [r for r in rows if r.status == "pending"]
        assert {r.id for r in leased} == {j.delivery_id for j in claim.jobs}
        assert all(r.lease == claim.jobs[0].lease and r.updated_at == 1005.0 for r in leased)
        assert len(left) == 8
        assert all(
            (r.lease, r.next_attempt_at, r.updated_at) == (None, 1000.0, 1000.0) for r in left
        )
    finally:
        await store.close()


async def test_a_sqlite_claim_commits_unsynced_and_the_writer_stays_full(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim's commit skips the disk flush (its loss only repeats a delivery, see
    ``store._claim``); publishes and records on the same connection still wait for it."""
    from hookpost.store import _queue

    levels: list[int] = []
    real = _queue.claim_sqlite

    def spy(db: Any, spec: Any, box: Any) -> Any:
        levels.append(db.execute("PRAGMA synchronous").fetchone()[0])
        return real(db, spec, box)

    monkeypatch.setattr(_queue, "claim_sqlite", spy)
    store = Store.from_url(
        sqlite_url, ManualClock(1000.0), box=SecretBox.from_text(TEST_SECRET_KEY),
        sqlite_synchronous="FULL",
    )  # fmt: skip
    try:
        pid = (await store.create_project("p"))[0]["id"]
        await store.create_endpoint(pid, _values("http://127.0.0.1:9/a"))
        await store.publish(pid, "a.b", "{}")
        assert len((await store.claim(10, 90)).jobs) == 1
        after = await store.writer.run_sqlite(
            lambda db: db.execute("PRAGMA synchronous").fetchone()[0]
        )
        assert (levels, after) == ([1], 2)  # NORMAL for the claim, FULL again after it
    finally:
        await store.close()


async def test_a_claim_that_leaves_the_loop_idle_says_when_the_next_delivery_is_due(
    db_url: str,
) -> None:
    """SQLite's claim reads what the loop's own query (``next_due_at``) would answer, so an
    idle turn needs no query: a delivery scheduled later, the leases it just took, ``inf``
    for an empty queue. A claim the loop follows at once, and PostgreSQL's, read nothing."""
    clock = ManualClock(1000.0)
    store = Store.from_url(db_url, clock, box=SecretBox.from_text(TEST_SECRET_KEY))
    sqlite = db_url.startswith("sqlite")
    try:
        assert (await store.claim(10, 90)).next_due == (math.inf if sqlite else None)
        pid = (await store.create_project("p"))[0]["id"]
        await store.create_endpoint(pid, _values("http://127.0.0.1:9/a"))
        for n in range(3):
            await store.publish(pid, "a.b", f'{{"n": {n}}}')
        async with store.writer.begin() as conn:
            first = (await conn.execute(select(deliveries.c.id).limit(1))).scalar_one()
            later = update(deliveries).where(deliveries.c.id == first)
            await conn.execute(later.values(next_attempt_at=1030.0))
        busy = await store.claim(1, 90)  # two were due: the loop claims again at once
        assert len(busy.jobs) == 1 and busy.more and busy.next_due is None
        idle = await store.claim(10, 90)
        assert len(idle.jobs) == 1 and not idle.more
        assert idle.next_due == (await store.next_due_at(after=1000.0) if sqlite else None)
        assert not sqlite or idle.next_due == 1030.0
        clock.advance(100)  # the leases (due at 1090) expire, the scheduled one is due
        assert len((again := await store.claim(10, 90)).jobs) == 3 and not again.more
        assert again.next_due == (await store.next_due_at(after=1100.0) if sqlite else None)
        assert not sqlite or again.next_due == 1190.0
    finally:
        await store.close()
