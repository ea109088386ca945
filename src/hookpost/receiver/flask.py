"""Flask: a view decorator that verifies the raw body and passes the event in.

::

    from hookpost.receiver.flask import verify_webhook

    @app.post("/webhooks")
    @verify_webhook(lambda: app.config["WEBHOOK_SECRET"], profile="justwallet")
    def hook(event):
        ...
        return "", 200

The verified event is the view's first argument (URL variables follow as
keyword arguments). Failures answer ``{"error": ...}`` with 400 or 401.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from flask import abort, jsonify, request

from hookpost.profiles import Profile
from hookpost.receiver._core import SecretSource, WebhookVerifier, status_for
from hookpost.verify import WebhookVerificationError

P = ParamSpec("P")
R = TypeVar("R")


def verify_webhook(
    secret: SecretSource, *, profile: str | Profile = "standard", tolerance: float = 300
) -> Callable[[Callable[Concatenate[Any, P], R]], Callable[P, R]]:
    verifier = WebhookVerifier(secret, profile, tolerance)

    def decorate(view: Callable[Concatenate[Any, P], R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            # get_data() is the raw body; cache=True keeps it for the view too.
            body = request.get_data(cache=True)
            try:
                event = verifier(body, dict(request.headers.items()))
            except WebhookVerificationError as exc:
                response = jsonify(error=str(exc))
                response.status_code = status_for(exc)
                abort(response)
            return view(event, *args, **kwargs)

        return wrapper

    return decorate
