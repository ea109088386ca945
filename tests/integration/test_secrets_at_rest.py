"""Endpoint secrets are encrypted in the database and appear nowhere in clear.

After a run that delivers with known secrets (created, rotated, rotated
again), every secret is searched for in the database's bytes (SQLite: the
files themselves; PostgreSQL: every row of every table), the captured logs
and the attempt records: none may be found.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from hookpost.config import Settings
from hookpost.core.crypto import PREFIX, SecretBox, SecretKeyError, generate_key
from hookpost.core.keyfile import key_path, load_secret_box
from hookpost.store import AuditFilter, Store
from hookpost.store.migrate import upgrade_async
from hookpost.verify import verify
from tests.conftest import Hookpost, Receiver
from tests.helpers.database import database_bytes as _database_bytes

SECRETS = [
    "whsec_c2VjcmV0LW9uZS1zZWNyZXQtb25lLXNlY3JldA==",
    "whsec_c2VjcmV0LXR3by1zZWNyZXQtdHdvLXNlY3JldA==",
    "whsec_c2VjcmV0LXRocmVlLXNlY3JldC10aHJlZS0hIQ==",
]
#: A broker URL's password is sealed like a secret (issue 19), and resealed by rotate-key.
BROKER = "amqp://hooks:broker-pw-9@rabbit.example.test:5672/%2F"


def _needles(secret: str) -> list[bytes]:
    """The secret, and its base64 key material alone (what HMAC actually uses)."""
    return [secret.encode(), secret.removeprefix("whsec_").encode()]


async def test_secrets_are_encrypted_and_never_in_clear(
    hookpost: Hookpost, receiver: Receiver, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hp = hookpost
    pid, _ = await hp.project()
    ep = await hp.endpoint(pid, receiver.url("/hook"), secret=SECRETS[0])
    base = f"/api/v1/projects/{pid}/endpoints/{ep['id']}"
    for new in SECRETS[1:]:
        r = await hp.http.post(f"{base}/rotate-secret", json={"secret": new})
        assert r.status_code == 200 and r.json()["secret"] == new, r.text
    await hp.publish(pid, event_id="evt_secret")
    (req,) = await receiver.wait_for(1)
    # the delivery is signed with the current secret and the two in their grace period
    for secret in SECRETS:
        verify(req.body, req.headers, secret)
    (dlv,) = await hp.deliveries(pid)
    detail = await hp.wait_status(pid, dlv["id"], "succeeded")
    api_views = [
        detail,
        (await hp.http.get(base)).json(),
        (await hp.http.get(f"/api/v1/projects/{pid}/endpoints")).json(),
    ]
    stored = await _database_bytes(hp, db_url)
    assert PREFIX.encode() in stored  # the secrets are there, encrypted
    haystacks = {"database": stored, "logs": caplog.text.encode(), "api": repr(api_views).encode()}
    for secret in SECRETS:
        for needle in _needles(secret):
            for where, hay in haystacks.items():
                assert needle not in hay, f"{secret} found in clear in the {where}"


async def test_rotate_key_reencrypts_everything(db_url: str) -> None:
    old, new = generate_key(), generate_key()
    store = Store.from_url(db_url, box=SecretBox.from_text(old))
    project, _ = await store.create_project("p")
    ep = await store.create_endpoint(project["id"], _endpoint_values(SECRETS[0]), max_endpoints=10)
    await store.rotate_secret(project["id"], ep["id"], SECRETS[1], 3600)
    broker = await store.create_endpoint(project["id"], {**_endpoint_values("y"), "url": BROKER})
    legacy = await store.create_endpoint(project["id"], _endpoint_values("x"))
    async with store.engine.begin() as conn:  # a row written before encryption existed
        await conn.execute(
            text("UPDATE endpoints SET secret = :s WHERE id = :id"),
            {"s": SECRETS[2], "id": legacy["id"]},
        )
    await store.close()

    rotating = Store.from_url(db_url, box=SecretBox.from_text(new, [old]))
    assert (await rotating.get_endpoint(project["id"], legacy["id"]))["secret"] == SECRETS[2]
    assert await rotating.reseal_secrets(batch=1) == {"endpoints": 3, "resealed": 3}
    assert await rotating.reseal_secrets() == {"endpoints": 3, "resealed": 0}  # idempotent
    await rotating.close()

    only_new = Store.from_url(db_url, box=SecretBox.from_text(new))
    got = await only_new.get_endpoint(project["id"], ep["id"])
    assert got["secret"] == SECRETS[1]
    assert [s["secret"] for s in got["old_secrets"]] == [SECRETS[0]]
    assert (await only_new.get_endpoint(project["id"], legacy["id"]))["secret"] == SECRETS[2]
    assert (await only_new.get_endpoint(project["id"], broker["id"]))["wire_url"] == BROKER
    await only_new.close()
    only_old = Store.from_url(db_url, box=SecretBox.from_text(old))
    with pytest.raises(SecretKeyError):
        await only_old.get_endpoint(project["id"], ep["id"])
    await only_old.close()


def _endpoint_values(secret: str) -> dict[str, object]:
    return {
        "url": "https://example.test/hook",
        "event_types": [],
        "profile": "standard",
        "secret": secret,
        "description": "",
        "headers": {},
        "enabled": True,
    }


def test_key_file_is_made_once_with_mode_0600(tmp_path: Path) -> None:
    settings = Settings(data_dir=str(tmp_path))
    box = load_secret_box(settings)
    path = key_path(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret_box(settings).key_id == box.key_id  # read back, not regenerated
    env = Settings(data_dir=str(tmp_path), secret_key=generate_key())
    assert load_secret_box(env).key_id != box.key_id  # the environment wins


async def test_rotate_key_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/rot.db"
    await upgrade_async(url)
    settings = Settings(database_url=url, data_dir=str(tmp_path))
    store = Store.from_url(url, box=load_secret_box(settings))
    project, _ = await store.create_project("p")
    ep = await store.create_endpoint(project["id"], _endpoint_values(SECRETS[0]))
    await store.close()
    before = load_secret_box(settings).key_id
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKPOST_")} | {
        "HOOKPOST_DATABASE_URL": url,
        "HOOKPOST_DATA_DIR": str(tmp_path),
    }
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "hookpost"),
        "rotate-key",
        "--generate",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out = (await asyncio.wait_for(proc.communicate(), 60))[0].decode()
    assert proc.returncode == 0, out
    assert "re-encrypted 1 of 1" in out and SECRETS[0] not in out
    after = load_secret_box(settings)
    assert after.key_id != before and len(key_path(settings).read_text().split()) == 2
    store = Store.from_url(url, box=after)
    assert (await store.get_endpoint(project["id"], ep["id"]))["secret"] == SECRETS[0]
    async with store.engine.connect() as conn:
        raw = (await conn.execute(text("SELECT secret FROM endpoints"))).scalar_one()
    assert after.is_current(raw)
    # The run is in the audit log, made from the shell, naming the new key by its id.
    page = await store.list_audit(AuditFilter(action="secret_key.rotate"), limit=5, cursor=None)
    (entry,) = page.data
    assert (entry["actor_kind"], entry["object_id"]) == ("shell", after.key_id)
    assert entry["after"] == {"endpoints": 1, "resealed": 1}
    await store.close()


def test_ciphertext_is_bound_to_its_row_and_key() -> None:
    key, other = generate_key(), generate_key()
    box = SecretBox.from_text(key)
    sealed = box.encrypt(SECRETS[0], "endpoint:ep_1")
    assert sealed.startswith(f"{PREFIX}{box.key_id}:") and SECRETS[0] not in sealed
    assert box.encrypt(SECRETS[0], "endpoint:ep_1") != sealed  # fresh nonce each time
    assert box.decrypt(sealed, "endpoint:ep_1") == SECRETS[0]
    assert box.decrypt("whsec_legacy_plaintext", "endpoint:ep_1") == "whsec_legacy_plaintext"
    tampered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    for value, ctx in [(sealed, "endpoint:ep_2"), (tampered, "endpoint:ep_1")]:
        with pytest.raises(SecretKeyError):
            box.decrypt(value, ctx)
    with pytest.raises(SecretKeyError, match="not configured"):
        SecretBox.from_text(other).decrypt(sealed, "endpoint:ep_1")
    assert SecretBox.from_text(other, [key]).decrypt(sealed, "endpoint:ep_1") == SECRETS[0]
    for bad in ("", "short", "!" * 43):
        with pytest.raises(SecretKeyError, match="32 bytes"):
            SecretBox.from_text(bad)
