"""Ids (``core/ids``): one at a time or a batch's at once, the same form and order."""

from __future__ import annotations

import time

from hookpost.core import ids

_DIGITS = set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def _form(value: str, prefix: str) -> str:
    head, _, rest = value.partition("_")
    assert head == prefix and len(rest) == 26 and set(rest) <= _DIGITS, value
    return rest


def test_a_batch_of_ids_has_the_form_of_one() -> None:
    before = _form(ids.new_id("dlv"), "dlv")
    made = ids.new_ids("dlv", 500)
    after = _form(ids.new_id("dlv"), "dlv")
    rests = [_form(i, "dlv") for i in made]
    assert len(set(made)) == 500
    # One millisecond for the batch, between the ids made before and after it.
    assert len({r[:10] for r in rests}) == 1
    assert before[:10] <= rests[0][:10] <= after[:10]
    assert ids.new_ids("msg", 0) == []


def test_ids_sort_by_the_millisecond_they_were_made_in() -> None:
    first = ids.new_id("msg")
    time.sleep(0.002)
    second = ids.new_ids("msg", 3)
    time.sleep(0.002)
    third = ids.new_id("msg")
    assert first < min(second) and max(second) < third


def test_every_digit_comes_up_in_the_random_part() -> None:
    seen = set("".join(_form(i, "x")[10:] for i in ids.new_ids("x", 200)))
    assert seen == _DIGITS
