"""Schemathesis against ``/openapi.json``: no 5xx, and every answer matches the schema.

In-process (ASGI), on SQLite, with a bounded number of examples per operation
so the whole run stays well under a minute. About half the generated requests
get real ids for their path parameters (a seeded project, endpoint, event and
delivery), so they get past the 404 and exercise validation and the store;
DELETEs keep their generated ids so the seeds survive. DNS is a table and no
worker runs: generated endpoint URLs are never contacted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hookpost.api.app import create_app
from hookpost.config import Settings
from hookpost.core.crypto import SecretBox
from hookpost.store.migrate import upgrade
from tests.conftest import ADMIN, TEST_SECRET_KEY
from tests.fakedns import FakeResolver

EXAMPLES_PER_OPERATION = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_api_conforms_to_its_openapi(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/fuzz.db"
    upgrade(url)
    settings = Settings(
        database_url=url,
        admin_token=ADMIN,
        data_dir=str(tmp_path),
        sqlite_synchronous="OFF",
        max_body_bytes=65536,
    )
    app = create_app(
        settings,
        run_workers=False,
        box=SecretBox.from_text(TEST_SECRET_KEY),
        resolver=FakeResolver({"example.com": ["93.184.216.34"]}),
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = {"Authorization": f"Bearer {ADMIN}"}
    real_ids = _seed(schema, headers)
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) > 20, "the API description lost its operations"

    for operation in operations:
        strategy = operation.as_strategy()

        @given(case=strategy, use_real=st.booleans())
        @hypothesis.settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any, use_real: bool) -> None:
            if use_real and case.method.upper() != "DELETE":
                for name in set(case.path_parameters or {}) & set(real_ids):
                    case.path_parameters[name] = real_ids[name]
            case.call_and_validate(headers=headers, checks=CHECKS)

        run()


def _seed(schema: Any, headers: dict[str, str]) -> dict[str, str]:
    """A project with an endpoint, an event and its delivery, through the API itself."""

    def post(path: str, body: dict[str, Any], **params: str) -> dict[str, Any]:
        case = schema[path]["POST"].Case(body=body, path_parameters=params or None)
        response = case.call(headers=headers)
        assert response.status_code in (201, 202), response.text
        return dict(response.json())

    pid = post("/api/v1/projects", {"name": "fuzz"})["id"]
    ep = post(
        "/api/v1/projects/{project_id}/endpoints",
        {"url": "https://example.com/hook"},
        project_id=pid,
    )
    ev = post(
        "/api/v1/projects/{project_id}/events",
        {"event_type": "user.created", "payload": {}},
        project_id=pid,
    )
    listed = schema["/api/v1/projects/{project_id}/deliveries"]["GET"].Case(
        path_parameters={"project_id": pid}
    )
    (dlv,) = listed.call(headers=headers).json()["data"]
    return {
        "project_id": pid,
        "endpoint_id": ep["id"],
        "event_id": ev["id"],
        "delivery_id": dlv["id"],
    }
