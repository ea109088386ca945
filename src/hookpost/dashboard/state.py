"""What the dashboard keeps per app (its signer and templates), and what its pages read of the
app's state -- all through :func:`hookpost.web.state.runtime`."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from jinja2 import Environment

from hookpost.dashboard.tokens import Signer
from hookpost.store import Store
from hookpost.store.sessions import SessionPolicy
from hookpost.web.state import runtime

SESSION_COOKIE = "hookpost_session"


@dataclass(frozen=True, slots=True)
class Dashboard:
    signer: Signer
    templates: Environment


def dashboard(request: Request) -> Dashboard:
    state = runtime(request).dashboard
    assert isinstance(state, Dashboard), "hookpost.dashboard.install() sets it"
    return state


def store(request: Request) -> Store:
    return runtime(request).store


def session_policy(request: Request) -> SessionPolicy:
    """How long operator sessions last: HOOKPOST_SESSION_IDLE_SECONDS / _MAX_SECONDS."""
    settings = runtime(request).settings
    return SessionPolicy(settings.session_idle_seconds, settings.session_max_seconds)


def now(request: Request) -> float:
    """The service clock (a ManualClock in tests), so expiries follow simulated time."""
    return store(request).clock.now()
