"""FastAPI and Starlette: verify the raw body before the endpoint runs.

FastAPI::

    from hookpost.receiver.starlette import webhook_dependency

    verified = webhook_dependency(lambda: settings.webhook_secret, profile="byl")

    @app.post("/webhooks")
    async def hook(event: Annotated[dict, Depends(verified)]) -> dict:
        ...

Plain Starlette: ``event = await verified_event(request, secret)`` inside the
endpoint. Both raise Starlette's ``HTTPException`` (400 or 401), which FastAPI
and Starlette turn into the error response.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request

from hookpost.profiles import Profile
from hookpost.receiver._core import SecretSource, WebhookVerifier, status_for
from hookpost.verify import WebhookVerificationError


async def _verified(request: Request, verifier: WebhookVerifier) -> Any:
    body = await request.body()  # the raw bytes, cached for the endpoint too
    try:
        return verifier(body, request.headers)
    except WebhookVerificationError as exc:
        raise HTTPException(status_for(exc), detail=str(exc)) from None


async def verified_event(
    request: Request,
    secret: SecretSource,
    *,
    profile: str | Profile = "standard",
    tolerance: float = 300,
) -> Any:
    """The verified event of ``request``, or an ``HTTPException`` (500 if the
    secret itself is unusable: made per request, there is no set-up to refuse it)."""
    try:
        verifier = WebhookVerifier(secret, profile, tolerance)
    except WebhookVerificationError as exc:
        raise HTTPException(status_for(exc), detail=str(exc)) from None
    return await _verified(request, verifier)


def webhook_dependency(
    secret: SecretSource, *, profile: str | Profile = "standard", tolerance: float = 300
) -> Callable[[Request], Awaitable[Any]]:
    """A FastAPI dependency that yields the verified event."""
    verifier = WebhookVerifier(secret, profile, tolerance)

    async def verified_webhook(request: Request) -> Any:
        return await _verified(request, verifier)

    return verified_webhook
