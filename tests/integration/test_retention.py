"""Retention: old attempts and finished events go; live work stays."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from tests.conftest import Hookpost, Receiver

DAY = 86400


async def test_purge_keeps_pending_and_recent(hookpost: Hookpost, receiver: Receiver) -> None:
    pid, _ = await hookpost.project()
    await hookpost.endpoint(pid, receiver.on("/ok", [200]), event_types=["ok.*"])
    await hookpost.endpoint(pid, receiver.on("/down", [500]), event_types=["down.*"])
    await hookpost.publish(pid, "ok.old", event_id="old_done")
    await hookpost.publish(pid, "down.old", event_id="old_pending")
    await receiver.wait_for(2)
    for d in await hookpost.deliveries(pid):
        for _ in range(200):
            d = await hookpost.delivery(pid, d["id"])
            if d["attempt_count"] == 1:
                break
            await asyncio.sleep(0.02)
        assert d["status"] == ("succeeded" if d["event_type"] == "ok.old" else "pending")
    hookpost.clock.advance(40 * DAY)
    await hookpost.publish(pid, "ok.new", event_id="new_done")
    await receiver.wait_for(4)  # the new event, and the old pending one's retry
    for d in await hookpost.deliveries(pid, event_id="new_done"):
        await hookpost.wait_status(pid, d["id"], "succeeded")
    for _ in range(200):
        (old,) = await hookpost.deliveries(pid, event_id="old_pending")
        if old["attempt_count"] == 2:
            break
        await asyncio.sleep(0.02)

    removed = await hookpost.store.purge(30 * DAY, batch=1)  # batch=1: the loop must go on
    assert removed["events"] == 1  # only the old, finished one
    ids = {
        e["id"] for e in (await hookpost.http.get(f"/api/v1/projects/{pid}/events")).json()["data"]
    }
    assert ids == {"old_pending", "new_done"}
    (pending,) = await hookpost.deliveries(pid, event_id="old_pending")
    d = await hookpost.delivery(pid, pending["id"])
    # its first attempt is older than the cutoff, the retry is not
    assert [a["number"] for a in d["attempts"]] == [2]
    assert removed["attempts"] >= 2


def test_purge_command(db_url: str) -> None:
    out = subprocess.run(
        [str(Path(sys.executable).parent / "hookpost"), "purge", "--older-than-days", "1"],
        env={"HOOKPOST_DATABASE_URL": db_url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "purged 0 attempts, 0 events and 0 audit entries" in out.stdout
