"""Django: a view decorator that verifies the raw body and passes the event in.

::

    from hookpost.receiver.django import verify_webhook

    @verify_webhook(lambda: settings.WEBHOOK_SECRET, profile="byl")
    def hook(request, event):
        ...
        return HttpResponse(status=200)

The view gets the verified event after ``request``. The decorator makes the
view CSRF-exempt (a webhook carries a signature, not a CSRF token -- the Just
Wallet guide warns about exactly this) and POST-only. Failures answer
``{"error": ...}`` with 400 or 401. Sync and async views both work.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase, HttpResponseNotAllowed, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from hookpost.profiles import Profile
from hookpost.receiver._core import SecretSource, WebhookVerifier, status_for
from hookpost.verify import WebhookVerificationError

View = Callable[..., Any]


def _check(verifier: WebhookVerifier, request: HttpRequest) -> tuple[Any, HttpResponseBase | None]:
    """``(event, None)``, or ``(None, error response)``."""
    if request.method != "POST":
        return None, HttpResponseNotAllowed(["POST"])
    try:
        # request.body is the raw bytes (Django buffers it, also under ASGI).
        return verifier(request.body, request.headers), None
    except WebhookVerificationError as exc:
        return None, JsonResponse({"error": str(exc)}, status=status_for(exc))


def verify_webhook(
    secret: SecretSource, *, profile: str | Profile = "standard", tolerance: float = 300
) -> Callable[[View], View]:
    verifier = WebhookVerifier(secret, profile, tolerance)

    def decorate(view: View) -> View:
        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                event, error = _check(verifier, request)
                return error if error is not None else await view(request, event, *args, **kwargs)

            exempt_async: View = csrf_exempt(markcoroutinefunction(async_wrapper))
            return exempt_async

        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            event, error = _check(verifier, request)
            return error if error is not None else view(request, event, *args, **kwargs)

        exempt: View = csrf_exempt(wrapper)
        return exempt

    return decorate
