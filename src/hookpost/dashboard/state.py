"""What the dashboard keeps per app: its signer and its templates."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from jinja2 import Environment

from hookpost.dashboard.tokens import Signer
from hookpost.store import Store

#: How long an operator stays signed in.
SESSION_TTL_SECONDS = 12 * 3600
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


def now(request: Request) -> float:
    """The service clock (a ManualClock in tests), so expiries follow simulated time."""
    return store(request).clock.now()
