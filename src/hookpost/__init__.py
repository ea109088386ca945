"""hookpost: a self-hostable webhook delivery service.

Public API: :class:`Client` / :class:`AsyncClient` (publish events, manage
endpoints) and :mod:`hookpost.verify` (check signatures on the receiving side).
"""

from hookpost.client import AsyncClient, Client, HookpostError

__version__ = "0.1.0"

__all__ = ["AsyncClient", "Client", "HookpostError", "__version__"]
