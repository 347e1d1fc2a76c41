"""Schemathesis against the app's own OpenAPI schema: generated requests for every operation, with
an administrator's bearer token, must never meet a server error and must answer as the schema says.

Bounded: a few examples per operation (HUIYIN_SCHEMATHESIS_EXAMPLES, default 12), run in-process
over ASGI against a real SQLite database holding a few incidents made by the real responder stage.
The live stream (``/api/stream``) is left out: it never ends by design (test_api_stream.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from huiyin.api.app import api_app, create_app
from huiyin.responder.bus import open_bus
from huiyin.responder.store import open_database
from tests.api_support import add_users, api_settings, org_of, publish_and_store, routed_post

MAX_EXAMPLES = int(os.environ.get("HUIYIN_SCHEMATHESIS_EXAMPLES", "12"))
EXAMPLES_RUN: list[str] = []


class _Target:
    """The ASGI app schemathesis calls: the module fixture's app, built only when the tests run
    (the schema itself comes from the state-free ``api_app`` at import, without a database)."""

    app = None

    async def __call__(self, scope, receive, send):  # noqa: ANN001, ANN204 - the ASGI signature
        await self.app(scope, receive, send)


TARGET = _Target()
# A refusal of a well-formed request on its meaning (a report period backwards or over three years)
# is a 400 with a reason: an expected answer to schema-valid data, as 401/403/404/409 are.
CONFIG = schemathesis.Config.from_dict({"checks": {"positive_data_acceptance": {
    "expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]}}})
schema = schemathesis.openapi.from_dict(api_app().openapi(), config=CONFIG).exclude(path="/api/stream")
schema.app = TARGET


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    folder: Path = tmp_path_factory.mktemp("schemathesis")
    s = api_settings(folder)
    org, db, bus = org_of(s), open_database(s.db_url), open_bus(s)
    add_users(db, org, {"admin": ("admin", "130000.publicity")})
    publish_and_store(s, db, org, bus, *(
        routed_post(title=f"测试事项{i}", text="<script>alert(1)</script>", unit_id="130123.education",
                    jurisdiction_id="130123", severity=sev)
        for i, sev in enumerate(["一般", "重大", "较大", None])
    ))
    app = create_app(s, db, org, bus=bus)
    TARGET.app = app
    token = app.state.ctx.tokens.issue("admin")
    yield {"app": app, "headers": {"Authorization": f"Bearer {token}"}}
    TARGET.app = None
    print(f"\nschemathesis: {len(EXAMPLES_RUN)} generated requests, none answered with a server error")
    bus.close()
    db.dispose()


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors_and_schema_conformance(case: schemathesis.Case, api: dict) -> None:
    response = case.call_and_validate(headers=api["headers"])
    EXAMPLES_RUN.append(f"{case.method} {case.path} -> {response.status_code}")
    assert response.status_code < 500
