"""Whatever a receiver answers, the attempt is recorded and every view of it renders.

A receiver's answer is bytes hookpost does not control: a one-byte ``\\x00``
body once made PostgreSQL refuse the record batch (``invalid byte sequence
for encoding "UTF8": 0x00``), and the delivery stayed ``delivering`` forever.
Each answer in :data:`ANSWERS` goes out from a raw TCP receiver; the test
checks, on SQLite and PostgreSQL, that an attempt is recorded, the delivery
reaches a final state, and the API, dashboard, portal and copy-as-curl all
answer. The second half makes the database refuse chosen rows of one record
batch (a trigger) and checks that the others are recorded once and nothing
is sent twice.
"""

from __future__ import annotations

import gzip
import shlex
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hookpost.dashboard.curl import curl_command
from hookpost.delivery.dispatcher import Dispatcher
from hookpost.store import RecordIncomplete
from tests.conftest import ADMIN, Hookpost
from tests.rawhttp import RawReceiver, raw_receiver

MARK = "[hookpost: NUL or non-UTF-8 bytes were stored as \\xNN escapes"


def answer(status: bytes, body: bytes = b"", *headers: bytes) -> bytes:
    head = b"".join(h + b"\r\n" for h in headers)
    return b"HTTP/1.1 %s\r\n%sContent-Length: %d\r\n\r\n%s" % (status, head, len(body), body)


def chunked(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (
        len(body),
        body,
    )


#: name -> (raw answer, delivery status it ends in, text the attempt's
#: response_body or error must contain).
ANSWERS: dict[str, tuple[bytes, str, str]] = {
    "nul_body": (answer(b"200 OK", b"\x00"), "succeeded", "\\x00"),
    "nul_inside_text": (answer(b"200 OK", b"ok\x00done\x00"), "succeeded", "ok\\x00done"),
    "invalid_utf8_body": (answer(b"200 OK", b"caf\xe9 \xff\xfe"), "succeeded", "caf\\xe9"),
    "encoded_surrogates_body": (
        answer(b"200 OK", b"\xed\xa0\x80\xed\xbf\xbf"),
        "succeeded",
        "\\xed\\xa0\\x80",
    ),
    "binary_body": (answer(b"200 OK", bytes(range(256))), "succeeded", MARK),
    "binary_error_body": (answer(b"500 Oops", bytes(range(256)) * 2), "failed", "\\x00"),
    "huge_binary_body": (answer(b"200 OK", b"\x00\xff" * 1_000_000), "succeeded", MARK),
    "chunked_nul_body": (chunked(b"\x00\x00\xff"), "succeeded", "\\x00\\x00\\xff"),
    "gzip_nul_body": (
        answer(b"200 OK", gzip.compress(b"\x00z\xff" * 50), b"Content-Encoding: gzip"),
        "succeeded",
        "\\x00z\\xff",
    ),
    "broken_gzip_body": (
        answer(b"200 OK", b"\x00\xff\x00", b"Content-Encoding: gzip"),
        "failed",
        "response body broken",
    ),
    "close_delimited_body": (
        b"HTTP/1.0 200 OK\r\n\r\n\x00\xc3(\x00",
        "succeeded",
        "\\x00\\xc3(\\x00",
    ),
    "obs_text_header_value": (
        answer(b"200 OK", b"ok", b"X-Note: caf\xe9 \x80\xff"),
        "succeeded",
        "in the response headers",
    ),
    "utf8_header_value": (answer(b"200 OK", b"ok", "X-Note: 日本 ✓".encode()), "succeeded", "ok"),
    "nul_header_value": (answer(b"200 OK", b"ok", b"X-Note: a\x00b"), "failed", "invalid"),
    "non_token_header_name": (answer(b"200 OK", b"ok", b"X-\xe9: v"), "failed", "invalid"),
    "nul_header_name": (answer(b"200 OK", b"ok", b"X\x00Y: v"), "failed", "invalid"),
    "repeated_obs_text_headers": (
        answer(b"503 Busy", b"", b"Set-Cookie: a=\xe9", b"Set-Cookie: b=\xff"),
        "failed",
        "unsuccessful status 503",
    ),
    "garbage_retry_after": (
        answer(b"503 Busy", b"", b"Retry-After: \xff\xfe tomorrow"),
        "failed",
        "unsuccessful status 503",
    ),
    "obs_text_abort_header": (
        answer(b"500 No", b"", b"Webhook-Delivery: abort\xe9"),
        "failed",
        "unsuccessful status 500",
    ),
    "obs_text_reason_ok": (answer(b"200 \xff\xfe fine \xe9", b"ok"), "succeeded", "ok"),
    "nul_reason_error": (answer(b"500 Bad \x00 \xff", b"no"), "failed", "unsuccessful status 500"),
    "garbage_status_line": (b"\x00\xff\xfe garbage\r\n\r\n", "failed", "invalid response"),
    "bad_status_code": (b"HTTP/1.1 2x0 \xff\x00\r\n\r\n", "failed", "invalid response"),
    "bare_lf_lines": (b"HTTP/1.1 200 OK\nContent-Length: 1\n\n\x00", "succeeded", ""),
    "closed_without_answer": (b"", "failed", "server disconnected"),
}


@pytest.fixture
async def raw() -> AsyncIterator[RawReceiver]:
    async with raw_receiver() as receiver:
        yield receiver


async def portal_link(hp: Hookpost, project_id: str) -> str:
    r = await hp.http.post(f"/api/v1/projects/{project_id}/portal-link", json={"scope": "manage"})
    assert r.status_code == 200, r.text
    return str(r.json()["url"])


async def assert_views_render(hp: Hookpost, project_id: str, delivery_id: str) -> dict[str, Any]:
    """The API answer, dashboard pages, portal page and copy-as-curl of a delivery all work."""
    r = await hp.http.get(f"/api/v1/projects/{project_id}/deliveries/{delivery_id}")
    assert r.status_code == 200, r.text
    detail = dict(r.json())
    assert "\x00" not in r.text and "\\u0000" not in r.text
    r = await hp.http.get(f"/api/v1/projects/{project_id}/deliveries")
    assert r.status_code == 200, r.text
    for a in detail["attempts"]:
        cmd = curl_command(a["url"], a["request_headers"], a["request_body"])
        assert shlex.split(cmd.replace("\\\n", " "))[:4] == ["curl", "-X", "POST", a["url"]]
    async with httpx.AsyncClient(base_url=hp.base_url, timeout=30) as browser:
        r = await browser.post("/login", data={"token": ADMIN, "next": "/"})
        assert r.status_code == 303, r.text
        for path in (f"/deliveries/{delivery_id}", "", "/deliveries"):
            page = await browser.get(f"/projects/{project_id}{path}")
            assert page.status_code == 200, (path, page.text[:500])
            assert "\x00" not in page.text
        page = await browser.get(f"/projects/{project_id}/deliveries/{delivery_id}")
        assert "curl -X POST" in page.text and "Attempt 1" in page.text
        link = await portal_link(hp, project_id)
        page = await browser.get(f"{link}/deliveries/{delivery_id}")
        assert page.status_code == 200, page.text[:500]
        assert "curl -X POST" in page.text and "\x00" not in page.text
    return detail


@pytest.mark.parametrize("case", list(ANSWERS))
async def test_any_answer_is_recorded_and_every_view_renders(
    hookpost: Hookpost, raw: RawReceiver, case: str
) -> None:
    wire, final, shown = ANSWERS[case]
    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, raw.on(case, wire), max_attempts=1)
    await hookpost.publish(pid)
    await raw.wait_for(1)
    (d,) = await hookpost.deliveries(pid)
    await hookpost.wait_status(pid, d["id"], final)
    detail = await assert_views_render(hookpost, pid, d["id"])
    (attempt,) = detail["attempts"]
    recorded = f"{attempt['response_body'] or ''}\n{attempt['error'] or ''}"
    assert shown in recorded, recorded[:500]
    for text in (recorded, *(attempt["response_headers"] or {}).values()):
        assert "\x00" not in text
    assert len(raw.requests) == 1  # recorded once, never sent again


async def test_a_cut_excerpt_does_not_escape_half_a_character(
    hookpost: Hookpost, raw: RawReceiver
) -> None:
    """The 4096-byte cap falls inside a two-byte character: it is left out, not escaped."""
    body = ("a" + "é" * 3000).encode()
    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, raw.on("cut", answer(b"200 OK", body)))
    await hookpost.publish(pid)
    (d,) = await hookpost.deliveries(pid)
    d = await hookpost.wait_status(pid, d["id"], "succeeded")
    (attempt,) = (await hookpost.delivery(pid, d["id"]))["attempts"]
    assert attempt["response_body"] == "a" + "é" * 2047
    assert MARK not in attempt["response_body"]


# -- a row the database refuses never takes its batch down ---------------------------

#: A trigger refuses every attempts row whose response body says "poison":
#: the way PostgreSQL refused a NUL, for any reason a database may have.
SQLITE_TRIGGER = [
    "DROP TRIGGER IF EXISTS refuse_poison",
    """CREATE TRIGGER refuse_poison BEFORE INSERT ON attempts
    WHEN NEW.response_body LIKE '%poison%'
    BEGIN SELECT RAISE({how}, 'poison row refused by the test'); END""",
]
PG_TRIGGER = [
    """CREATE OR REPLACE FUNCTION refuse_poison() RETURNS trigger AS $$
    BEGIN
      IF NEW.response_body LIKE '%poison%' THEN
        RAISE EXCEPTION 'poison row refused by the test' USING ERRCODE = '{how}';
      END IF;
      RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS refuse_poison ON attempts",
    """CREATE TRIGGER refuse_poison BEFORE INSERT ON attempts
    FOR EACH ROW EXECUTE FUNCTION refuse_poison()""",
]

#: How the database refuses: SQLite's RAISE kinds, PostgreSQL SQLSTATEs
#: (character_not_in_repertoire as for NUL, check_violation, raise_exception).
REFUSALS = {"sqlite": ["ABORT", "FAIL"], "postgres": ["22021", "23514", "P0001"]}

#: Batches of (receiver answer, max_attempts) where "poison" answers are refused.
BATCHES: dict[str, list[tuple[bytes, int]]] = {
    "first_of_five_succeeded": [(answer(b"200 OK", b"poison"), 3)]
    + [(answer(b"200 OK", b"fine"), 3)] * 4,
    "middle_failed_retries": [(answer(b"200 OK", b"fine"), 3)] * 2
    + [(answer(b"500 Oops", b"poison"), 3)]
    + [(answer(b"200 OK", b"fine"), 3)] * 2,
    "last_failed_for_good": [(answer(b"200 OK", b"fine"), 3)] * 4
    + [(answer(b"500 Oops", b"poison"), 1)],
    "three_of_six": [
        (answer(b"200 OK", b"poison"), 3),
        (answer(b"200 OK", b"fine"), 3),
        (answer(b"503 Busy", b"poison"), 3),
        (answer(b"200 OK", b"fine"), 3),
        (answer(b"410 Gone", b"poison"), 3),
        (answer(b"500 Oops", b"fine"), 3),
    ],
}


async def install_trigger(hp: Hookpost, how: str) -> None:
    """(Re)place the trigger so it refuses "poison" rows in the way ``how`` says."""
    async with hp.store.engine.begin() as conn:
        for sql in SQLITE_TRIGGER if hp.store.is_sqlite else PG_TRIGGER:
            await conn.exec_driver_sql(sql.format(how=how))


def refusals(db_url: str) -> list[str]:
    return REFUSALS["sqlite" if db_url.startswith("sqlite") else "postgres"]


@pytest.mark.parametrize("batch", list(BATCHES))
async def test_a_refused_row_is_recorded_alone_and_the_rest_once(
    hookpost_noworkers: Hookpost, raw: RawReceiver, db_url: str, batch: str
) -> None:
    hp = hookpost_noworkers
    rows = BATCHES[batch]
    for how in refusals(db_url):
        pid, _ = await hp.project()
        sent_before = len(raw.requests)
        endpoints = []
        for i, (wire, max_attempts) in enumerate(rows):
            url = raw.on(f"{batch}-{how}-{i}", wire)
            endpoints.append(await hp.endpoint(pid, url, max_attempts=max_attempts))
        await hp.publish(pid)
        await install_trigger(hp, how)

        dispatcher = Dispatcher(hp.store, hp.settings, clock=hp.clock)
        try:
            assert await dispatcher.run_once() == len(rows)  # one claim, one record batch
            assert await dispatcher.run_once() == 0  # nothing left to send again
        finally:
            await dispatcher.sender.close()

        assert len(raw.requests) - sent_before == len(rows)
        by_endpoint = {d["endpoint_id"]: d for d in await hp.deliveries(pid)}
        for ep, (wire, max_attempts) in zip(endpoints, rows, strict=True):
            d = await hp.delivery(pid, by_endpoint[ep["id"]]["id"])
            (attempt,) = d["attempts"]  # recorded once
            code = int(wire.split(b" ")[1])
            assert attempt["status_code"] == code
            assert d["status"] != "delivering"
            if b"poison" in wire:
                assert attempt["response_body"] is None
                assert "the database refused this attempt's record" in attempt["error"]
                assert "poison row refused by the test" in attempt["error"]
                assert attempt["request_headers"] == {}
                want = (
                    "succeeded"
                    if code == 200
                    else "held"
                    if code == 410
                    else "failed"
                    if max_attempts == 1
                    else "pending"
                )
                assert d["status"] == want, d
            else:
                assert attempt["response_body"] == "fine"
                assert attempt["request_headers"]["Content-Type"] == "application/json"
                assert d["status"] == ("succeeded" if code == 200 else "pending")


OUTAGE_TRIGGER = [
    """CREATE OR REPLACE FUNCTION refuse_poison() RETURNS trigger AS $$
    BEGIN
      IF NEW.response_body LIKE '%poison%' THEN
        RAISE EXCEPTION 'poison row refused by the test' USING ERRCODE = '22021';
      END IF;
      IF NEW.response_body LIKE '%outage%' THEN
        RAISE EXCEPTION 'could not extend file: No space left on device'
          USING ERRCODE = '{how}';
      END IF;
      RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS refuse_poison ON attempts",
    """CREATE TRIGGER refuse_poison BEFORE INSERT ON attempts
    FOR EACH ROW EXECUTE FUNCTION refuse_poison()""",
]


@pytest.mark.parametrize("how", ["53100", "40P01", "57P01"])  # disk full, deadlock, shutdown
async def test_an_outage_mid_batch_leaves_only_the_unwritten_rows_to_retry(
    hookpost_noworkers: Hookpost, raw: RawReceiver, db_url: str, how: str
) -> None:
    """The database fails (not the row): written rows stay written once, the rest come back."""
    if db_url.startswith("sqlite"):
        pytest.skip("a SQLite trigger can only refuse a row, not fail the database")
    hp = hookpost_noworkers
    pid, _ = await hp.project()
    answers = [b"fine", b"poison", b"fine", b"outage", b"fine", b"fine"]
    for i, body in enumerate(answers):
        await hp.endpoint(pid, raw.on(f"o{how}-{i}", answer(b"200 OK", body)))
    await hp.publish(pid)
    async with hp.store.engine.begin() as conn:
        for sql in OUTAGE_TRIGGER:
            await conn.exec_driver_sql(sql.format(how=how))

    dispatcher = Dispatcher(hp.store, hp.settings, clock=hp.clock)
    await dispatcher.sender.start()
    try:
        claim = await hp.store.claim(100, 60)
        outcomes = [await dispatcher.attempt(job) for job in claim.jobs]
    finally:
        await dispatcher.sender.close()
    # In answer order: the batch fails on the poison row, then row by row on the outage.
    outcomes.sort(key=lambda o: int(o.url.rsplit("-", 1)[1]))
    with pytest.raises(RecordIncomplete) as failed:
        await hp.store.record(outcomes)
    remaining = failed.value.remaining
    assert remaining[0].response_body == "outage"
    assert remaining == outcomes[outcomes.index(remaining[0]) :]

    async def attempts_of(delivery_id: str) -> list[dict[str, Any]]:
        return list((await hp.delivery(pid, delivery_id))["attempts"])

    left = {o.delivery_id for o in remaining}
    for o in outcomes:
        assert len(await attempts_of(o.delivery_id)) == (0 if o.delivery_id in left else 1)

    async with hp.store.engine.begin() as conn:  # the database is back
        await conn.exec_driver_sql("DROP TRIGGER refuse_poison ON attempts")
    await hp.store.record(remaining)
    for o in outcomes:
        (attempt,) = await attempts_of(o.delivery_id)  # each recorded exactly once
        refused = o.response_body == "poison"
        assert ("the database refused" in (attempt["error"] or "")) is refused
        d = await hp.delivery(pid, o.delivery_id)
        assert d["status"] == "succeeded"
