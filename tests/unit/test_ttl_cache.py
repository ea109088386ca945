"""TTLCache.load: one lookup for every caller that misses a key at once.

Under publish load every API-key and catalog entry expires with dozens of
requests in flight; each used to run its own lookup through the database.
"""

from __future__ import annotations

import asyncio

import pytest

from hookpost.store import _core


class Lookup:
    """A lookup that counts its calls and answers when released."""

    def __init__(self, value: object = "v", error: Exception | None = None) -> None:
        self.calls = 0
        self.release = asyncio.Event()
        self.value, self.error = value, error

    async def __call__(self) -> object:
        self.calls += 1
        await self.release.wait()
        if self.error is not None:
            raise self.error
        return self.value


async def test_callers_missing_together_share_one_lookup() -> None:
    cache = _core.TTLCache()
    lookup = Lookup()
    callers = [asyncio.create_task(cache.load("k", lookup)) for _ in range(32)]
    await asyncio.sleep(0)
    lookup.release.set()
    assert await asyncio.gather(*callers) == ["v"] * 32
    assert lookup.calls == 1
    assert await cache.load("k", lookup) == "v" and lookup.calls == 1  # now cached


async def test_a_lookup_overtaken_by_clear_answers_but_is_not_kept() -> None:
    cache = _core.TTLCache()
    stale = Lookup("old")
    first = asyncio.create_task(cache.load("k", stale))
    await asyncio.sleep(0)
    cache.clear()  # a change made while the lookup ran
    fresh = Lookup("new")
    second = asyncio.create_task(cache.load("k", fresh))  # does not join the stale one
    await asyncio.sleep(0)
    stale.release.set()
    fresh.release.set()
    assert (await first, await second) == ("old", "new")
    assert cache.get("k") == (True, "new")


async def test_an_error_reaches_every_caller_and_is_not_cached() -> None:
    cache = _core.TTLCache()
    failing = Lookup(error=RuntimeError("database down"))
    callers = [asyncio.create_task(cache.load("k", failing)) for _ in range(3)]
    await asyncio.sleep(0)
    failing.release.set()
    for outcome in await asyncio.gather(*callers, return_exceptions=True):
        assert isinstance(outcome, RuntimeError)
    assert failing.calls == 1 and cache.get("k") == (False, None)
    ok = Lookup("back")
    ok.release.set()
    assert await cache.load("k", ok) == "back"


async def test_a_cancelled_caller_leaves_the_lookup_to_the_others() -> None:
    cache = _core.TTLCache()
    lookup = Lookup()
    gone = asyncio.create_task(cache.load("k", lookup))
    staying = asyncio.create_task(cache.load("k", lookup))
    await asyncio.sleep(0)
    gone.cancel()
    lookup.release.set()
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert await staying == "v" and lookup.calls == 1


async def test_an_expired_entry_is_looked_up_again() -> None:
    cache = _core.TTLCache(ttl=0.0)
    lookup = Lookup()
    lookup.release.set()
    await cache.load("k", lookup)
    await cache.load("k", lookup)
    assert lookup.calls == 2
