"""Persistence: the tables, the migrations and the one class that speaks SQL.

Other packages import the store from here, never its modules (``store.store``
and the private ``_x`` modules may move: an import-linter contract keeps it so).
"""

# The domain types are re-exported here while callers move to hookpost.domain.
from hookpost.domain import Claim, Conflict, HealthPolicy, Job, NotFound, Outcome, Page
from hookpost.store._liveness import Presence
from hookpost.store._record import RecordIncomplete
from hookpost.store.store import MAX_BIGINT, Store, decode_cursor, encode_cursor

__all__ = [
    "MAX_BIGINT",
    "Claim",
    "Conflict",
    "HealthPolicy",
    "Job",
    "NotFound",
    "Outcome",
    "Page",
    "Presence",
    "RecordIncomplete",
    "Store",
    "decode_cursor",
    "encode_cursor",
]
