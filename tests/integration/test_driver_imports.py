"""A SQLite server never imports asyncpg; a PostgreSQL one handles asyncpg's errors.

asyncpg costs about 3 MB of resident memory (issue 15's RSS target); its errors
are outages only where a PostgreSQL store can raise them (``web.errors``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import asyncpg

from hookpost.api.app import create_app
from hookpost.config import Settings


def test_a_sqlite_server_answers_without_importing_asyncpg(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/h.db"
    code = (
        "import sys\n"
        "from hookpost.cli import main\n"
        "from hookpost.store import migrate\n"
        f"migrate.upgrade({url!r}, 'head')\n"
        "from starlette.testclient import TestClient\n"
        "from hookpost.api.app import create_app\n"
        "from hookpost.config import Settings\n"
        f"app = create_app(Settings(database_url={url!r}), run_workers=False)\n"
        "with TestClient(app) as client:\n"
        "    assert client.get('/readyz').status_code == 200\n"
        "    assert client.get('/api/v1/projects').status_code == 401\n"
        "print('asyncpg' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False", out.stderr


def test_a_postgres_app_maps_asyncpgs_errors_to_outages() -> None:
    app = create_app(
        Settings(database_url="postgresql://nobody@127.0.0.1:1/none"), run_workers=False
    )
    for kind in (asyncpg.PostgresError, asyncpg.InterfaceError):
        assert kind in app.exception_handlers
