"""An attempt's prepared request: the body's record text is made once per rendered body.

Every endpoint of an event (and every retry) sends the cached body; the text
its attempt record stores comes with it, and must be what
:func:`hookpost.core.wiretext.body_text` makes of the bytes sent.
"""

from __future__ import annotations

import dataclasses

import pytest

from hookpost.core.clock import ManualClock
from hookpost.core.wiretext import body_text, with_marker
from hookpost.delivery import _attempt
from hookpost.delivery._attempt import Attempts, _Body
from hookpost.delivery.sender import Sender
from hookpost.domain import ClaimedDelivery, ClaimedEndpoint, ClaimedEvent
from tests.helpers.claims import CLAIMED_ENDPOINT

#: A claimed endpoint with a real secret and custom headers.
ENDPOINT = dataclasses.replace(
    CLAIMED_ENDPOINT,
    secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    headers={"X-Team": "blue", "Authorization": "Bearer s3cret"},
)


def _slow(raw: bytes) -> str:
    text, escaped = body_text(raw, complete=True)
    return with_marker(text, {"request body": escaped})


@pytest.mark.parametrize(
    "raw",
    [b"", b'{"a":1}', '{"é":"ünï"}'.encode(), b"a\x00b", b"\xff\xfe{}", b"ok\xe9", b"\xf0\x9f"],
)
def test_a_bodys_record_text_is_body_text_with_its_marker(raw: bytes) -> None:
    assert _Body.of(raw).text == _slow(raw)
    assert _Body.of(raw).raw == raw


def _job(
    endpoint: ClaimedEndpoint,
    n: int,
    *,
    seq: int = 7,
    payload: str = '{"amount":12,"note":"caf\u00e9\\u0000"}',
) -> ClaimedDelivery:
    event = ClaimedEvent(
        id=f"evt_{seq}",
        seq=seq,
        project_id="proj_1",
        event_type="order.paid",
        payload=payload,
        created_at=1_700_000_000.0,
        trace_context=None,
    )
    return ClaimedDelivery(f"dl_{n}", "lease", n, None, endpoint, event)


def test_every_endpoint_and_retry_of_an_event_records_the_text_of_the_bytes_it_sends() -> None:
    attempts = Attempts(Sender(), ManualClock(1_700_000_100.0), 10.0)
    other = dataclasses.replace(ENDPOINT, id="ep_2", headers={})
    prepared = [attempts.prepare(_job(ep, n), None) for n in range(3) for ep in (ENDPOINT, other)]
    assert prepared[0].body  # rendered once, then from the cache
    for p in prepared:
        assert p.failure is None
        assert p.body == prepared[0].body
        assert p.body_text == _slow(p.body)


def test_the_body_cache_is_bounded_in_bytes_as_well_as_in_count() -> None:
    attempts = Attempts(Sender(), ManualClock(1_700_000_100.0), 10.0)
    big = '{"blob":"' + "x" * (1 << 20) + '"}'  # 1 MiB payloads: 2 MiB a body with its text
    for seq in range(40):
        attempts.prepare(_job(ENDPOINT, 0, seq=seq, payload=big), None)
        held = sum(b.size for b in attempts._bodies.values())
        assert held == attempts._body_bytes <= _attempt._BODY_CACHE_BYTES
    assert 1 < len(attempts._bodies) < 40
    newest = attempts.prepare(_job(ENDPOINT, 1, seq=39, payload=big), None)
    assert newest.body is attempts._bodies[(39, "standard", None)].raw  # still cached
