"""Persistence: the tables, the migrations and the :class:`Store` that speaks SQL.

``Store`` (``_facade``) is composed of one mixin per aggregate (see its
module docstring for the map). Other packages import the store from here,
never its modules: the private ``_x`` modules are the store's own and may
move.
"""

# The domain types are re-exported here while callers move to hookpost.domain.
from hookpost.domain import Claim, Conflict, HealthPolicy, Job, NotFound, Outcome, Page
from hookpost.store._audit import AuditFilter
from hookpost.store._core import MAX_BIGINT, decode_cursor, encode_cursor
from hookpost.store._facade import Store
from hookpost.store._idempotency import KeyRecord
from hookpost.store._liveness import Presence
from hookpost.store._operators import SETUP_LINK_SECONDS, TOKEN_PREFIX, normalize_email
from hookpost.store._projects import KEY_SCOPES
from hookpost.store._record import RecordIncomplete

__all__ = [
    "KEY_SCOPES",
    "MAX_BIGINT",
    "SETUP_LINK_SECONDS",
    "TOKEN_PREFIX",
    "AuditFilter",
    "Claim",
    "Conflict",
    "HealthPolicy",
    "Job",
    "KeyRecord",
    "NotFound",
    "Outcome",
    "Page",
    "Presence",
    "RecordIncomplete",
    "Store",
    "decode_cursor",
    "encode_cursor",
    "normalize_email",
]
