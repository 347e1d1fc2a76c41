"""The access matrix: every role × every endpoint, over a real uvicorn server, on SQLite and PostgreSQL.

Three incidents, created by the real responder stage:
  A — 正定县 (under 石家庄), held by 正定县教育局;
  B — 唐山市路南区, held by 路南区住建局;
  C — 正定县, held by 正定县人民政府 with 正定县住建局 co-handling.
Who sees what (contracts.md visibility rule): a unit its own, co-handled or offered incidents; a
publicity office or leader its jurisdiction and below; admin all. No token: 401 everywhere but the
health and metrics endpoints. Command bodies are chosen so that no command changes who may see an
incident (re-routes and transfers name units the workflow refuses), which keeps the cases independent.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.api_support import USERS, api_settings, api_stack, module_database, routed_post

PRINCIPALS = [*USERS, "anonymous"]
VISIBLE = {
    "admin": "ABC", "pub_province": "ABC", "pub_city": "AC", "pub_other": "B", "leader_city": "AC",
    "unit_a": "A", "unit_b": "B", "unit_c": "C", "anonymous": "",
}
# Command path -> JSON body. Bodies are valid for the schema; those that could move an incident to
# another unit name a unit that does not exist, so the workflow refuses them (409).
COMMANDS: dict[str, dict | None] = {
    "assess": {"reason": "确认"},
    "dismiss": {"reason": "测试：不属于政务舆情"},
    "regrade": {"severity": "一般", "reason": "测试"},
    "reroute": {"unit_id": "999999.none", "reason": "测试"},
    "consult": {"participants": ["130123.gov"], "decision": "测试", "lead_unit_id": "999999.none"},
    "accept": None,
    "transfer": {"to_unit_id": "999999.none", "reason": "测试"},
    "transfer/accept": None,
    "transfer/reject": {"reason": "测试"},
    "handling": {"action": "测试处置"},
    "responses": {"channel": "website", "content": "测试回应"},
    "evaluate": {"effect": "测试评估"},
    "reopen": {"reason": "测试"},
    "merge": {"into_id": "SELF", "reason": "测试"},
}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    folder = tmp_path_factory.mktemp(f"access-{request.param}")
    with module_database(request, folder, request.param) as url, api_stack(api_settings(folder, url)) as stack:
        ids = stack.store(
            routed_post(title="正定县某小学违规收费", text="家长反映学校收取补课费", unit_id="130123.education",
                        jurisdiction_id="130123", field_id="compulsory_education"),
            routed_post(title="路南区保障房分配", text="群众质疑保障房分配", unit_id="130202.housing_construction",
                        jurisdiction_id="130202", field_id="affordable_housing"),
            routed_post(title="正定县老旧小区改造停工", text="多个部门相互推诿", unit_id="130123.gov",
                        jurisdiction_id="130123", co_unit_ids=["130123.housing_construction"], severity="较大"),
        )
        tokens = {name: stack.token(name) for name in USERS}
        with httpx.Client(base_url=stack.url, timeout=30) as client:
            yield {"stack": stack, "ids": dict(zip("ABC", ids, strict=True)), "tokens": tokens, "client": client}


def call(world: dict, who: str, method: str, path: str, **kwargs) -> httpx.Response:
    headers = {} if who == "anonymous" else {"Authorization": f"Bearer {world['tokens'][who]}"}
    return world["client"].request(method, path, headers=headers, **kwargs)


# -- reading ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("who", PRINCIPALS)
def test_list_shows_exactly_what_the_caller_may_see(world: dict, who: str) -> None:
    r = call(world, who, "GET", "/api/incidents")
    if who == "anonymous":
        assert r.status_code == 401
        return
    assert r.status_code == 200
    expected = {world["ids"][k] for k in VISIBLE[who]}
    assert {i["id"] for i in r.json()["items"]} == expected
    assert r.json()["total"] == len(expected)


@pytest.mark.parametrize("letter", "ABC")
@pytest.mark.parametrize("who", PRINCIPALS)
def test_detail_is_404_outside_the_callers_view(world: dict, who: str, letter: str) -> None:
    r = call(world, who, "GET", f"/api/incidents/{world['ids'][letter]}")
    expected = 401 if who == "anonymous" else (200 if letter in VISIBLE[who] else 404)
    assert r.status_code == expected, r.text
    if expected == 200:
        body = r.json()
        assert body["posts"] and body["decisions"][0]["reasons"] and body["clocks"]
        assert body["actions"] == [] if who == "leader_city" else True
    elif expected == 404:
        assert r.json() == {"detail": "事项不存在或无权查看"}  # the same answer as for a missing incident


GET_ENDPOINTS = {
    "missing incident": ("/api/incidents/INC-NOPE", {"anonymous": 401, "*": 404}),
    "org search": ("/api/org?q=正定县", {"anonymous": 401, "*": 200}),
    "org fields": ("/api/org/fields", {"anonymous": 401, "*": 200}),
    "org unit": ("/api/org/units/130123.gov", {"anonymous": 401, "*": 200}),
    "report": ("/api/reports/timeliness", {"anonymous": 401, "*": 200}),
    "report xlsx": ("/api/reports/timeliness.xlsx", {"anonymous": 401, "*": 200}),
    "users": ("/api/users", {"anonymous": 401, "admin": 200, "*": 403}),
    "me": ("/api/auth/me", {"anonymous": 401, "*": 200}),
    "stream": ("/api/stream", {"anonymous": 401}),  # authenticated streams: test_api_stream.py
    "health": ("/api/health", {"*": 200}),
    "metrics": ("/metrics", {"*": 200}),
}


READ_CASES = [(who, endpoint) for endpoint, (_, expected) in GET_ENDPOINTS.items() for who in PRINCIPALS
              if who in expected or "*" in expected]


@pytest.mark.parametrize(("who", "endpoint"), READ_CASES)
def test_read_endpoints(world: dict, who: str, endpoint: str) -> None:
    path, expected = GET_ENDPOINTS[endpoint]
    r = call(world, who, "GET", path)
    assert r.status_code == expected.get(who, expected.get("*")), r.text


@pytest.mark.parametrize("who", [p for p in PRINCIPALS if p != "anonymous"])
def test_report_counts_only_visible_incidents(world: dict, who: str) -> None:
    r = call(world, who, "GET", "/api/reports/timeliness")
    assert r.json()["total"]["incidents"] == len(VISIBLE[who])
    shown_units = {row["key"] for row in r.json()["units"]}
    own = {"A": "130123.education", "B": "130202.housing_construction", "C": "130123.gov"}
    assert shown_units <= {own[k] for k in VISIBLE[who]}


# -- commands ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("letter", "ABC")
@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("who", PRINCIPALS)
def test_commands(world: dict, who: str, command: str, letter: str) -> None:
    incident = world["ids"][letter]
    body = COMMANDS[command]
    if body and body.get("into_id") == "SELF":
        body = {**body, "into_id": incident}
    r = call(world, who, "POST", f"/api/incidents/{incident}/{command}", json=body)
    if who == "anonymous":
        assert r.status_code == 401
    elif who == "leader_city":
        assert r.status_code == 403 and "只读" in r.json()["detail"]
    elif letter not in VISIBLE[who]:
        assert r.status_code == 404 and r.json() == {"detail": "事项不存在或无权查看"}
    else:
        # Visible: the workflow decides (done, not permitted, or not in this state), in Chinese.
        assert r.status_code in (200, 403, 409), r.text
        if r.status_code != 200:
            assert isinstance(r.json()["detail"], str) and r.json()["detail"]


@pytest.mark.parametrize("who", PRINCIPALS)
def test_account_management_is_for_admins(world: dict, who: str) -> None:
    create = call(world, who, "POST", "/api/users",
                  json={"username": f"new-{who}", "password": "long-enough-pw", "unit_id": "130123.gov", "role": "unit"})
    change = call(world, who, "PATCH", "/api/users/unit_c", json={"display_name": "住建局"})
    expected = {"anonymous": 401, "admin": None}.get(who, 403)
    if expected is None:
        assert create.status_code == 201 and change.status_code == 200
    else:
        assert create.status_code == expected and change.status_code == expected


def test_a_unit_refused_by_the_workflow_gets_403_with_the_reason(world: dict) -> None:
    r = call(world, "unit_a", "POST", f"/api/incidents/{world['ids']['A']}/assess", json={"reason": "x"})
    assert r.status_code == 403
    assert "宣传部门" in r.json()["detail"]
