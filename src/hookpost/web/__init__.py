"""What the REST API (:mod:`hookpost.api`) and the dashboard (:mod:`hookpost.dashboard`) share.

Both are doors to the same services, so what a door needs is here once:
:mod:`.state` the one typed view of the app's state (store, settings,
workers ...); :mod:`.deps` authentication, the API key's scope
(:mod:`.scopes`) and rate limit (:mod:`.ratelimit`), tenant scoping and paging;
:mod:`.schemas` the request bodies both validate with; :mod:`.render` rows to
the shapes both show; :mod:`.links` the public URLs both hand out;
:mod:`.errors` the domain's errors and database outages as JSON answers. The
dashboard never imports the API: what both need moves here.
"""
