"""The links hookpost hands out, built on ``HOOKPOST_PUBLIC_URL`` when it is set.

Behind a reverse proxy the address a request came to is the proxy's view of
hookpost, and the ``Host`` header is whatever the client sent: a portal link
built from it pointed wherever the caller's request said. With
``HOOKPOST_PUBLIC_URL`` set, every link is that base plus the route's path,
whatever the request's headers; unset, the link uses the request's own address
(scheme from ``X-Forwarded-Proto`` only when the proxy is listed in
``HOOKPOST_FORWARDED_ALLOW_IPS``, see :mod:`hookpost.core.forwarded`).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from hookpost.config import Settings
from hookpost.web.state import runtime


def served_over_https(request: Request) -> bool:
    """Do browsers reach hookpost over HTTPS (so its cookies must be ``Secure``)?

    True when ``HOOKPOST_PUBLIC_URL`` is an ``https://`` URL -- a proxy that
    ends TLS and forwards plain HTTP is the usual case, and its request looks
    like ``http`` to hookpost -- or when the request itself came over HTTPS.
    """
    base = runtime(request).settings.public_url
    return (base or "").lower().startswith("https://") or request.url.scheme == "https"


def base_url(settings: Settings) -> str:
    """Where people reach hookpost, without a request (the CLI): ``HOOKPOST_PUBLIC_URL``,
    else the address ``hookpost serve`` listens on."""
    return settings.public_url or f"http://{settings.host}:{settings.port}"


def set_password_link(settings: Settings, token: str) -> str:
    """The one-time link where an operator chooses a password (the dashboard's page)."""
    return f"{base_url(settings)}/set-password/{token}"


def public_link(request: Request, name: str, **path_params: Any) -> str:
    """The absolute URL of route ``name`` as people outside should open it."""
    base = runtime(request).settings.public_url
    if base:
        return base + str(request.app.url_path_for(name, **path_params))
    return str(request.url_for(name, **path_params))
