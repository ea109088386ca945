"""The use cases: what the REST API, the dashboard and the command line ask hookpost to do.

Each module is one subject -- :mod:`.endpoints` (create, update, rotate the
secret, test, release held deliveries), :mod:`.events` (publish, with the
catalog's schema check, tracing, metrics and the workers' wake-up),
:mod:`.deliveries` (resend, recover), :mod:`.catalog` (event types, custom
profiles) and :mod:`.destinations` (the SSRF check at registration) -- so a
rule is written once and holds behind every door: the dashboard's forms call
the same functions as the API's routes.

A service takes what it needs as arguments (the :class:`~hookpost.store.Store`,
the :class:`~hookpost.config.Settings`, a :data:`Wake`), never a request, and
refuses with the domain's errors (:class:`~hookpost.domain.Invalid`,
:class:`~hookpost.domain.NotFound`, :class:`~hookpost.domain.Conflict`,
:class:`~hookpost.domain.LimitReached`); the web layer turns those into the
same JSON answers, or pages, everywhere. Plain reads (get one, list a page)
need no rule and go to the store directly.
"""

from __future__ import annotations

from collections.abc import Callable

#: Tells this process's workers there is work due now (a no-op where none run).
Wake = Callable[[], None]

__all__ = ["Wake"]
