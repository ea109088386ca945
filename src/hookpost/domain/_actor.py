"""Who is acting: the identity an audit entry names and a permission check asks about.

Every change hookpost makes on someone's behalf -- through the API, the
dashboard or the shell -- is made *as* an :class:`Actor`. The web layer decides
who the caller is (the admin token, a project API key, a signed-in operator or
an operator's personal token) and runs the request inside :func:`acting_as`;
the CLI's direct-database commands act as :data:`SHELL`; the worker and the
periodic tasks act as :data:`SYSTEM`, the default. The store reads
:func:`current_actor` when it writes an audit entry in the same transaction as
the change, so no layer has to pass the caller down through every call.

A context variable (:pep:`567`) is the carrier: each asyncio task sees the
value set in the task that created it, so concurrent requests never see each
other's actor.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal

#: What kind of credential acted: ``admin`` the break-glass admin token,
#: ``operator`` a signed-in operator (dashboard session), ``token`` an
#: operator's personal API token (``hpu_...``), ``api_key`` a project API key
#: (``hpk_...``), ``portal`` a portal link, ``shell`` a CLI command run against
#: the database, ``system`` hookpost itself (worker, retention, jobs), ``anonymous``
#: someone not signed in: a refused dashboard sign-in (its label is the email typed, if any).
ActorKind = Literal[
    "admin", "operator", "token", "api_key", "portal", "shell", "system", "anonymous"
]


@dataclass(frozen=True, slots=True)
class Actor:
    """One identity: its kind, a stable id and a human label (never a secret).

    ``id`` is the operator's id for ``operator`` and ``token`` (the token's
    owner), the key's id for ``api_key``, and empty otherwise. ``label`` is
    what a reader of the audit log sees: an email, a token or key *prefix*
    (``hpu_3f9a``), "admin token". ``address`` is the client's IP address when
    the change came over HTTP.
    """

    kind: ActorKind
    id: str = ""
    label: str = ""
    address: str | None = None


#: hookpost itself: the default when nobody set an actor.
SYSTEM = Actor("system", label="hookpost")
#: The break-glass admin token (no address: a request's copy carries one).
ADMIN = Actor("admin", label="admin token")
#: A CLI command that writes to the database directly (``hookpost users create``...).
SHELL = Actor("shell", label="shell")

_current: ContextVar[Actor] = ContextVar("hookpost_actor", default=SYSTEM)


def current_actor() -> Actor:
    """The actor of the running task (:data:`SYSTEM` when none was set)."""
    return _current.get()


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    """Run the ``with`` block as ``actor``, restoring the previous actor after it."""
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


def set_actor(actor: Actor) -> None:
    """Make ``actor`` the actor of the running task until it ends.

    For a FastAPI dependency, which cannot wrap the route in a ``with``: an
    ``async`` dependency runs in the request's own task, so the route and
    everything it awaits see the value, and the next request starts clean.
    """
    _current.set(actor)


__all__ = [
    "ADMIN",
    "SHELL",
    "SYSTEM",
    "Actor",
    "ActorKind",
    "acting_as",
    "current_actor",
    "set_actor",
]
