"""Persistence: the tables, the migrations and the one class that speaks SQL."""

# The domain types are re-exported here while callers move to hookpost.domain.
from hookpost.domain import Claim, Conflict, HealthPolicy, Job, NotFound, Outcome, Page
from hookpost.store._record import RecordIncomplete
from hookpost.store.store import Store

__all__ = [
    "Claim",
    "Conflict",
    "HealthPolicy",
    "Job",
    "NotFound",
    "Outcome",
    "Page",
    "RecordIncomplete",
    "Store",
]
