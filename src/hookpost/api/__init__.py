"""The REST API: :mod:`.app` builds the ASGI app (and mounts the dashboard), :mod:`.routes`
holds one module per resource -- each parses the request, calls a service
(:mod:`hookpost.services`) or a store read, and shapes the answer -- and
:mod:`.reference` writes ``docs/api.md`` from the OpenAPI description."""
