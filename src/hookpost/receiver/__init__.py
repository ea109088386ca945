"""Framework helpers that verify webhooks on the raw request body.

The classic receiver bug (the GalaxyJoy guide warns about it) is verifying a
body that a JSON middleware already parsed and re-serialized. Each helper here
reads the raw bytes itself, verifies them with :func:`hookpost.verify.verify`
and answers 400 (not a webhook: header missing, body not JSON) or 401 (bad or
stale signature) before the handler runs:

- :mod:`hookpost.receiver.starlette` -- a FastAPI dependency / Starlette helper
- :mod:`hookpost.receiver.flask` -- a Flask view decorator
- :mod:`hookpost.receiver.django` -- a Django view decorator (CSRF-exempt)

Each framework module imports its framework, so import the one you use.
"""

from hookpost.receiver._core import SecretSource, WebhookVerifier, status_for

__all__ = ["SecretSource", "WebhookVerifier", "status_for"]
