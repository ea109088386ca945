"""The audit log's one masking rule and its diff, as a table of fields.

Each row is a field an object may carry, a value before and after, and what an
entry must show: the changed value itself, or the mask on both sides. A
secret's value must never appear in an entry, whatever its field is called.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from hookpost.domain import AUDIT_ACTIONS, audit_changes, audit_masked, check_audit_action

MASK = "[redacted]"

CASES: list[tuple[str, Any, Any, Any, Any]] = [
    # field, before, after, shown before, shown after
    ("name", "acme", "acme-2", "acme", "acme-2"),
    ("secret", "whsec_old", "whsec_new", MASK, MASK),
    ("old_secrets", [], [{"secret": "whsec_old"}], MASK, MASK),
    ("key_hash", "a" * 64, "b" * 64, MASK, MASK),
    ("password_hash", "$argon2id$x", "$argon2id$y", MASK, MASK),
    ("token_hash", "c" * 64, "d" * 64, MASK, MASK),
    ("password", "hunter2", "hunter3", MASK, MASK),
    ("api_key", "hpk_one", "hpk_two", MASK, MASK),
    ("token", "hpu_one", "hpu_two", MASK, MASK),
    ("enabled", True, False, True, False),
    (
        "url",
        "https://a.example/x",
        "https://b.example/y",
        "https://a.example/x",
        "https://b.example/y",
    ),
    (
        "url",
        "amqp://u:pw-one@mq.example/%2f?exchange=x",
        "amqp://u:pw-two@mq.example/%2f?exchange=x",
        "amqp://u:***@mq.example/%2f?exchange=x",
        "amqp://u:***@mq.example/%2f?exchange=x",
    ),
    (
        "headers",
        {"X-Team": "a", "Authorization": "Bearer one"},
        {"X-Team": "b", "Authorization": "Bearer two"},
        {"X-Team": "a", "Authorization": MASK},
        {"X-Team": "b", "Authorization": MASK},
    ),
    ("secret", None, "whsec_new", None, MASK),
]


@pytest.mark.parametrize(("field", "old", "new", "shown_old", "shown_new"), CASES)
def test_a_changed_field_is_shown_or_masked(
    field: str, old: Any, new: Any, shown_old: Any, shown_new: Any
) -> None:
    before, after = audit_changes({"id": "x", field: old}, {"id": "x", field: new})
    assert before == {field: shown_old}
    assert after == {field: shown_new}
    text = json.dumps([before, after])
    for value in ("whsec_", "hpk_", "hpu_", "hunter", "Bearer", "pw-one", "pw-two", "argon2"):
        assert value not in text


def test_a_header_marked_secret_is_masked_by_its_mark() -> None:
    before = {"headers": {"X-Custom": "one"}, "secret_headers": ["X-Custom"]}
    after = {"headers": {"X-Custom": "two"}, "secret_headers": ["X-Custom"]}
    old, new = audit_changes(before, after)
    assert old == {"headers": {"X-Custom": MASK}}
    assert new == {"headers": {"X-Custom": MASK}}


def test_only_changed_fields_are_kept_and_noise_is_dropped() -> None:
    before = {"id": "ep_1", "url": "https://a", "enabled": True, "updated_at": 1.0}
    after = {"id": "ep_1", "url": "https://a", "enabled": False, "updated_at": 2.0}
    assert audit_changes(before, after) == ({"enabled": True}, {"enabled": False})
    assert audit_changes(before, before) == ({}, {})


def test_a_create_shows_every_field_and_a_delete_every_field_before() -> None:
    row = {"id": "ep_1", "secret": "whsec_x", "wire_url": "amqp://u:p@h/", "updated_at": 1.0}
    assert audit_changes(None, row) == (None, {"id": "ep_1", "secret": MASK})
    assert audit_changes(row, None) == ({"id": "ep_1", "secret": MASK}, None)
    assert audit_masked(None) is None


def test_every_action_is_dotted_and_described_and_others_are_refused() -> None:
    for action, meaning in AUDIT_ACTIONS.items():
        assert action.count(".") >= 1 and action == action.lower(), action
        assert meaning, action
        assert check_audit_action(action) == action
    with pytest.raises(ValueError, match="unknown audit action"):
        check_audit_action("endpoint.explode")


def test_the_security_guide_lists_exactly_the_actions() -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "security.md").read_text()
    section = guide.split("## Audit log", 1)[1].split("\n## ", 1)[0]
    listed = dict(re.findall(r"^\| `([a-z_.]+)` \| (.+) \|$", section, re.M))
    assert listed == AUDIT_ACTIONS


def test_a_create_leaves_out_fields_it_left_empty() -> None:
    row = {"id": "ep_1", "max_attempts": None, "filter": None, "enabled": True}
    assert audit_changes(None, row) == (None, {"id": "ep_1", "enabled": True})
    assert audit_changes(row, None) == ({"id": "ep_1", "enabled": True}, None)
