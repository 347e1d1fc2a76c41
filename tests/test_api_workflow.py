"""Every workflow command through HTTP, on SQLite and PostgreSQL: the life of incidents from the
publicity office's queue to a unit's response and the evaluation, with the refusals users meet."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api_support import Stack, api_settings, api_stack, routed_post

USERS = {
    "pub_city": ("publicity", "130100.publicity"),
    "leader_city": ("leader", "130100.gov"),
    "unit_a": ("unit", "130123.education"),
    "unit_c": ("unit", "130123.housing_construction"),
    "unit_b": ("unit", "130202.housing_construction"),
}


@pytest.fixture
def stack(tmp_path: Path, database_url: str) -> Iterator[Stack]:
    with api_stack(api_settings(tmp_path, database_url), users=USERS) as s:
        yield s


@pytest.fixture
def clients(stack: Stack) -> Iterator[dict[str, httpx.Client]]:
    made = {name: stack.client(name) for name in USERS}
    yield made
    for c in made.values():
        c.close()


def ok(r: httpx.Response) -> dict:
    assert r.status_code == 200, r.text
    return r.json()


def refused(r: httpx.Response, status: int, *words: str) -> None:
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    for w in words:
        assert w in detail, detail


def test_from_alert_to_evaluation_with_a_transfer(stack: Stack, clients: dict[str, httpx.Client]) -> None:
    pub, leader, a, c, b = (clients[n] for n in ("pub_city", "leader_city", "unit_a", "unit_c", "unit_b"))
    (x,) = stack.store(routed_post(title="正定县某小学违规收费", text="家长反映收取补课费", unit_id="130123.education",
                                   jurisdiction_id="130123", field_id="compulsory_education"))
    queue = ok(pub.get("/api/incidents", params={"status": "open"}))
    item = queue["items"][0]
    assert item["id"] == x and item["stage"] == "收集" and item["routing_reasons"]
    assert {k["rule"] for k in item["clocks"]} >= {"response_48h"} and item["seconds_left"] > 0

    refused(a.post(f"/api/incidents/{x}/accept"), 409, "研判")  # the publicity office assesses first
    assert ok(pub.post(f"/api/incidents/{x}/assess", json={"reason": "属实，确认派单"}))["stage"] == "研判"

    # 转办 to 正定县住建局: it sees the incident while the offer is open, and declines.
    offered = ok(a.post(f"/api/incidents/{x}/transfer", json={"to_unit_id": "130123.housing_construction",
                                                               "reason": "涉及校舍建设，属住建职责"}))
    assert offered["pending_transfer"]["to_unit_id"] == "130123.housing_construction"
    assert [i["id"] for i in ok(c.get("/api/incidents"))["items"]] == [x]
    assert ok(c.get(f"/api/incidents/{x}"))["actions"] == ["transfer_accept", "transfer_reject"]
    assert b.get(f"/api/incidents/{x}").status_code == 404
    refused(a.post(f"/api/incidents/{x}/transfer/accept"), 403, "接收单位")
    ok(c.post(f"/api/incidents/{x}/transfer/reject", json={"reason": "收费问题属教育部门"}))
    assert c.get(f"/api/incidents/{x}").status_code == 404

    # Offered again, accepted: 住建局 now holds it and 教育局 no longer sees it.
    ok(a.post(f"/api/incidents/{x}/transfer", json={"to_unit_id": "130123.housing_construction", "reason": "再次转办"}))
    held = ok(c.post(f"/api/incidents/{x}/transfer/accept"))
    assert held["unit_id"] == "130123.housing_construction" and held["pending_transfer"] is None
    assert a.get(f"/api/incidents/{x}").status_code == 404
    assert held["decisions"][-1]["current"] and "转办" in held["decisions"][-1]["reasons"][0]

    assert ok(c.post(f"/api/incidents/{x}/accept"))["stage"] == "处置"
    handled = ok(c.post(f"/api/incidents/{x}/handling", json={"action": "约谈校长，责令退费"}))
    assert any(t["kind"] == "handling" for t in handled["timeline"])
    answered = ok(c.post(f"/api/incidents/{x}/responses", json={
        "channel": "website", "kind": "response", "content": "经核查，已责令学校全额退费。", "link": "https://example.gov.cn/x"}))
    assert answered["stage"] == "回应" and answered["responses"][0]["channel"] == "website"
    assert {k["rule"]: k["status"] for k in answered["clocks"]}["response_48h"] == "met"

    refused(leader.post(f"/api/incidents/{x}/evaluate", json={"effect": "好"}), 403, "只读")
    closed = ok(pub.post(f"/api/incidents/{x}/evaluate", json={"effect": "群众满意", "score": 90}))
    assert (closed["status"], closed["stage"]) == ("closed", "评估")
    refused(c.post(f"/api/incidents/{x}/handling", json={"action": "补充"}), 409)
    assert ok(pub.post(f"/api/incidents/{x}/reopen", json={"reason": "群众再次反映"}))["status"] == "open"
    kinds = [t["kind"] for t in ok(leader.get(f"/api/incidents/{x}"))["timeline"]]
    assert len(kinds) >= 10


def test_regrade_consult_merge_dismiss_reroute(stack: Stack, clients: dict[str, httpx.Client]) -> None:
    pub, a, c = clients["pub_city"], clients["unit_a"], clients["unit_c"]
    y, z, w, v = stack.store(
        routed_post(title="正定县老旧小区改造停工", text="多个部门相互推诿", unit_id="130123.housing_construction",
                    jurisdiction_id="130123", co_unit_ids=["130123.education"], severity="较大"),
        routed_post(title="老旧小区改造停工（转帖）", text="多个部门相互推诿", unit_id="130123.housing_construction",
                    jurisdiction_id="130123"),
        routed_post(title="广告帖", text="出售二手车", unit_id="130123.gov", jurisdiction_id="130123"),
        routed_post(title="正定县街道占道经营", text="商贩占道", unit_id="130123.education", jurisdiction_id="130123"),
    )
    # Severity up: the strict 5 h / 24 h clocks of 重大 appear.
    ok(pub.post(f"/api/incidents/{v}/assess", json={"reason": "确认"}))
    regraded = ok(pub.post(f"/api/incidents/{v}/regrade", json={"severity": "重大", "reason": "涉及人员受伤"}))
    assert {"authoritative_info_5h", "press_conference_24h"} <= {k["rule"] for k in regraded["clocks"]}
    # Re-route, with the reason recorded in the new routing decision.
    rerouted = ok(pub.post(f"/api/incidents/{v}/reroute", json={"unit_id": "130123.urban_management", "reason": "属城管职责"}))
    assert rerouted["unit_id"] == "130123.urban_management"
    assert "属城管职责" in rerouted["decisions"][-1]["reasons"]
    refused(pub.post(f"/api/incidents/{v}/reroute", json={"unit_id": "no.such", "reason": "x"}), 409, "组织目录")

    # A multi-unit, 较大 matter needs a 会商 before it is accepted.
    ok(pub.post(f"/api/incidents/{y}/assess", json={"reason": "确认"}))
    refused(c.post(f"/api/incidents/{y}/accept"), 409, "会商")
    consulted = ok(pub.post(f"/api/incidents/{y}/consult", json={
        "participants": ["130123.housing_construction", "130123.education"], "decision": "住建局牵头，教育局配合",
        "lead_unit_id": "130123.housing_construction"}))
    assert consulted["stage"] == "会商" and consulted["lead_unit_id"] == "130123.housing_construction"
    assert "130123.education" in consulted["co_unit_ids"]
    assert a.get(f"/api/incidents/{y}").status_code == 200  # the co-handling unit sees it
    assert ok(c.post(f"/api/incidents/{y}/accept"))["stage"] == "处置"

    merged = ok(pub.post(f"/api/incidents/{z}/merge", json={"into_id": y, "reason": "同一事项"}))
    assert (merged["status"], merged["merged_into"]) == ("merged", y)
    assert ok(pub.get(f"/api/incidents/{y}"))["post_count"] == 2
    refused(pub.post(f"/api/incidents/{z}/merge", json={"into_id": "INC-NOPE", "reason": "x"}), 404, "目标事项")

    dismissed = ok(pub.post(f"/api/incidents/{w}/dismiss", json={"reason": "商业广告，非政务舆情"}))
    assert dismissed["status"] == "closed" and all(k["status"] != "open" for k in dismissed["clocks"])
    refused(pub.post(f"/api/incidents/{w}/dismiss", json={"reason": "again"}), 409)


def test_invalid_bodies_are_refused_before_anything_changes(stack: Stack, clients: dict[str, httpx.Client]) -> None:
    pub = clients["pub_city"]
    (x,) = stack.store(routed_post(title="t", text="t", unit_id="130123.education", jurisdiction_id="130123"))
    assert pub.post(f"/api/incidents/{x}/regrade", json={"severity": "很大", "reason": "x"}).status_code == 422
    refused(pub.post(f"/api/incidents/{x}/dismiss", json={"reason": "   "}), 409, "不能为空")  # the workflow's reason
    assert pub.post(f"/api/incidents/{x}/responses", json={
        "channel": "website", "content": "x", "link": "javascript:alert(1)"}).status_code == 422
    assert pub.post(f"/api/incidents/{x}/responses", json={
        "channel": "website", "content": "x", "published_at": "2026-01-01T08:00:00"}).status_code == 422
    assert ok(pub.get(f"/api/incidents/{x}"))["stage"] == "收集"
