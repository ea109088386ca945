"""A claimed endpoint as the store hands one to an attempt, for the pure tests of the
dispatcher's parts (secrets, health, the prepared request)."""

from __future__ import annotations

from hookpost.domain import ClaimedEndpoint

#: One standard-profile endpoint, healthy, without custom headers; tests vary it with
#: ``dataclasses.replace``.
CLAIMED_ENDPOINT = ClaimedEndpoint(
    id="ep_1",
    project_id="proj_1",
    url="http://127.0.0.1:9/",
    wire_url="http://127.0.0.1:9/",
    profile="standard",
    profile_definition=None,
    serializer=None,
    secret="whsec_now",
    old_secrets=(),
    headers={},
    secret_headers=(),
    success_rule=None,
    max_attempts=None,
    retry_schedule=None,
    timeout_seconds=None,
    max_concurrency=None,
    rate_limit=None,
    fifo=False,
    consecutive_failures=0,
    circuit_open_until=None,
)
