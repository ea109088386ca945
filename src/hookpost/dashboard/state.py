"""What the dashboard keeps per app: its signer and its templates."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from jinja2 import Environment

from hookpost.dashboard.tokens import Signer
from hookpost.store import Store
from hookpost.store.sessions import SessionPolicy

SESSION_COOKIE = "hookpost_session"


@dataclass(frozen=True, slots=True)
class Dashboard:
    signer: Signer
    templates: Environment


def dashboard(request: Request) -> Dashboard:
    state: Dashboard = request.app.state.dashboard
    return state


def store(request: Request) -> Store:
    value: Store = request.app.state.store
    return value


def session_policy(request: Request) -> SessionPolicy:
    """How long operator sessions last: HOOKPOST_SESSION_IDLE_SECONDS / _MAX_SECONDS."""
    settings = request.app.state.settings
    return SessionPolicy(settings.session_idle_seconds, settings.session_max_seconds)


def now(request: Request) -> float:
    """The service clock (a ManualClock in tests), so expiries follow simulated time."""
    return store(request).clock.now()
