"""Persistence: the tables, the migrations and the one class that speaks SQL."""

from hookpost.store._record import RecordIncomplete
from hookpost.store.store import Claim, Conflict, HealthPolicy, Job, NotFound, Outcome, Page, Store

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
