"""``hookpost serve`` settles its heap before serving: what is alive is frozen, and the
youngest generation is collected every 10,000 allocations (issue 15: the collector's
walks cost the publish path up to a third of its CPU)."""

from __future__ import annotations

import gc

from hookpost.cli._server import GC_YOUNG_THRESHOLD, _settle_heap


def test_settling_freezes_what_is_alive_and_spaces_the_young_collections() -> None:
    before = gc.get_threshold()
    try:
        _settle_heap()
        assert gc.get_freeze_count() > 1000
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *before[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
