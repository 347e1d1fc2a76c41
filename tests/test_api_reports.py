"""The leader's timeliness report: figures traced to the rows that make them, JSON and .xlsx,
on SQLite and PostgreSQL; and the Prometheus metrics.

A controlled clock drives the responder stage, the workflow, the deadline checker and the API:
  I1 教育局  一般, answered after 2 h, evaluated        → 48 h on time, closed with a response
  I2 教育局  一般, answered after 50 h                 → 48 h late (a miss answered late)
  I6 教育局  dismissed                                  → no clocks, not in the closure rate
  I3 住建局  一般, never answered                        → 48 h missed (checker), overdue
  I4 住建局  重大, info after 3 h, press conference 30 h → 5 h on time, 24 h late
  I5 教育局 → 住建局 by 转办, never answered             → 48 h missed at 住建局, one transfer each way
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from huiyin.responder.checker import DeadlineChecker
from huiyin.responder.context import Context
from huiyin.responder.store.tables import Escalation
from tests.api_support import api_settings, api_stack, routed_post

EDU, HOUSING = "130123.education", "130202.housing_construction"
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Beijing
USERS = {
    "pub_province": ("publicity", "130000.publicity"),
    "leader": ("leader", "130000.gov"),
    "leader_city": ("leader", "130100.gov"),
    "edu": ("unit", EDU),
    "housing": ("unit", HOUSING),
}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[dict]:
    clock = Clock(T0)
    with api_stack(api_settings(tmp_path, database_url), users=USERS, clock=clock) as stack:
        c = {name: stack.client(name) for name in USERS}

        def post(who: str, incident: str, command: str, body: dict | None = None, hours: float | None = None) -> dict:
            if hours is not None:
                clock.now = T0 + timedelta(hours=hours)
            r = c[who].post(f"/api/incidents/{incident}/{command}", json=body)
            assert r.status_code == 200, r.text
            return r.json()

        def new(title: str, unit: str, jid: str, severity: str = "一般") -> str:
            (iid,) = stack.store(routed_post(title=title, text=title, unit_id=unit, jurisdiction_id=jid,
                                             severity=severity, channel="news", at=T0,
                                             published_at=T0 - timedelta(minutes=30)))
            return iid

        i1, i2, i6 = (new(t, EDU, "130123") for t in ("=HYPERLINK(\"http://evil\")一", "二", "六"))
        i3 = new("三", HOUSING, "130202")
        i4 = new("四", HOUSING, "130202", severity="重大")
        i5 = new("五", EDU, "130123")
        for i in (i1, i2, i3, i4, i5):
            post("pub_province", i, "assess", {"reason": "确认"}, hours=0.1)
        post("pub_province", i6, "dismiss", {"reason": "广告"})
        post("edu", i5, "transfer", {"to_unit_id": HOUSING, "reason": "住建职责"}, hours=0.2)
        post("housing", i5, "transfer/accept")
        for i in (i1, i2):
            post("edu", i, "accept", hours=0.3)
        post("edu", i1, "responses", {"channel": "website", "content": "已处理"}, hours=1.5)
        post("pub_province", i1, "evaluate", {"effect": "满意"}, hours=3)
        post("pub_province", i4, "responses", {"channel": "new_media", "kind": "authoritative_info", "content": "权威信息"},
             hours=2.5)
        post("pub_province", i4, "consult", {"participants": [HOUSING], "decision": "住建牵头", "lead_unit_id": HOUSING},
             hours=3)
        post("housing", i4, "accept", hours=3.1)
        post("edu", i2, "responses", {"channel": "website", "content": "迟到的回应"}, hours=49.5)
        post("housing", i4, "responses", {"channel": "press_conference", "kind": "press_conference", "content": "发布会"},
             hours=29.5)
        clock.now = T0 + timedelta(hours=72)
        DeadlineChecker(stack.db, Context.from_settings(stack.settings, stack.org), stack.bus, clock=clock).check_deadlines()
        yield {"stack": stack, "clients": c, "ids": dict(zip(["i1", "i2", "i3", "i4", "i5", "i6"],
                                                             [i1, i2, i3, i4, i5, i6], strict=True))}
        for client in c.values():
            client.close()


PERIOD = {"from": (T0 - timedelta(days=1)).isoformat(), "to": (T0 + timedelta(days=1)).isoformat()}


def test_timeliness_per_unit_traces_to_the_rows(world: dict) -> None:
    r = world["clients"]["leader"].get("/api/reports/timeliness", params=PERIOD)
    assert r.status_code == 200, r.text
    report = r.json()
    units = {row["key"]: row for row in report["units"]}
    edu, housing = units[EDU], units[HOUSING]

    assert edu["incidents"] == 3 and housing["incidents"] == 3  # I1 I2 I6 | I3 I4 I5
    assert edu["clocks"]["48h"] == {"total": 2, "on_time": 1, "late": 1, "running": 0, "on_time_rate": 0.5}
    assert housing["clocks"]["48h"] == {"total": 2, "on_time": 0, "late": 2, "running": 0, "on_time_rate": 0.0}
    assert housing["clocks"]["5h"]["on_time_rate"] == 1.0 and housing["clocks"]["24h"]["on_time_rate"] == 0.0

    # First response from the earliest known time (published 30 min before detection).
    assert edu["first_response_median_s"] == pytest.approx((2.0 + 50.0) / 2 * 3600, abs=1)
    assert edu["first_response_p90_s"] == pytest.approx((2.0 + 0.9 * 48.0) * 3600, abs=1)
    assert edu["responded"] == 2 and housing["responded"] == 1

    # 事事有回音: I1 answered and closed out of I1, I2 (I6 was dismissed).
    assert (edu["closed_with_response"], edu["closure_rate"]) == (1, 0.5)
    assert (edu["transfers_out"], housing["transfers_in"]) == (1, 1)
    assert edu["overdue"] == 1 and housing["overdue"] == 3  # I2 | I3, I5, I4's press conference

    with world["stack"].db.session() as session:
        escalated = session.execute(select(Escalation.from_unit_id, Escalation.incident_id)).all()
    for unit, row in ((EDU, edu), (HOUSING, housing)):
        assert row["escalated"] == len({i for u, i in escalated if u == unit}) > 0

    overdue = {(o["incident_id"], o["rule"]) for o in report["overdue"]}
    ids = world["ids"]
    assert (ids["i3"], "response_48h") in overdue and (ids["i2"], "response_48h") in overdue
    late_answer = next(o for o in report["overdue"] if o["incident_id"] == ids["i2"])
    assert late_answer["overdue_s"] == pytest.approx(2 * 3600, abs=1) and late_answer["answered_at"]

    tiers = {t["key"]: t for t in report["tiers"]}
    assert set(tiers) == {"county"} and tiers["county"]["incidents"] == 6 == report["total"]["incidents"]
    assert {p["tier"] for p in report["trend"]} == {"county", "all"}


def test_filters_and_scope(world: dict) -> None:
    leader_city = world["clients"]["leader_city"].get("/api/reports/timeliness", params=PERIOD).json()
    # 石家庄's leader sees 正定县's incidents only: I1 I2 I6, and I5, which 路南区住建局 now holds.
    assert {u["key"]: u["incidents"] for u in leader_city["units"]} == {EDU: 3, HOUSING: 1}
    by_unit = world["clients"]["leader"].get("/api/reports/timeliness", params={**PERIOD, "unit": HOUSING}).json()
    assert [u["key"] for u in by_unit["units"]] == [HOUSING]
    decided = [p for p in by_unit["trend"] if p["tier"] == "all"]  # 48 h ×2 late, 5 h on time, 24 h late
    assert (sum(p["on_time"] for p in decided), sum(p["late"] for p in decided)) == (1, 3)
    city_tier = world["clients"]["leader"].get("/api/reports/timeliness", params={**PERIOD, "tier": "city"}).json()
    assert city_tier["units"] == [] and city_tier["total"]["incidents"] == 0
    empty = world["clients"]["leader"].get("/api/reports/timeliness", params={
        "from": (T0 + timedelta(days=5)).isoformat(), "to": (T0 + timedelta(days=6)).isoformat()}).json()
    assert empty["total"]["incidents"] == 0 and empty["total"]["closure_rate"] is None
    bad = world["clients"]["leader"].get("/api/reports/timeliness", params={"from": PERIOD["to"], "to": PERIOD["from"]})
    assert bad.status_code == 400 and "起点" in bad.json()["detail"]
    naive = world["clients"]["leader"].get("/api/reports/timeliness", params={"from": "2026-03-01T00:00:00"})
    assert naive.status_code == 422


def test_excel_export(world: dict) -> None:
    r = world["clients"]["leader"].get("/api/reports/timeliness.xlsx", params=PERIOD)
    assert r.status_code == 200
    assert "attachment" in r.headers["content-disposition"]
    wb = load_workbook(BytesIO(r.content))
    assert wb.sheetnames == ["单位时效", "层级汇总", "趋势", "超时事项", "说明"]
    rows = list(wb["单位时效"].iter_rows(values_only=True))
    header = rows[0]
    by_unit = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert by_unit[EDU]["事项数"] == 3 and by_unit[EDU]["48小时内回应 按时率"] == 0.5
    assert by_unit["all"]["名称"] == "合计"
    overdue = list(wb["超时事项"].iter_rows(values_only=True))
    assert len(overdue) - 1 == len(world["clients"]["leader"].get("/api/reports/timeliness", params=PERIOD).json()["overdue"])
    # A crawled title that looks like a formula stays text.
    cells = [c for row in wb["超时事项"].iter_rows() for c in row if isinstance(c.value, str) and c.value.startswith("=")]
    assert all(c.data_type == "s" for c in cells)


def test_metrics(world: dict) -> None:
    text = httpx.get(world["stack"].url + "/metrics").text
    assert "huiyin_posts_ingested_total 6.0" in text
    assert 'huiyin_incidents{stage="评估",status="closed"} 1.0' in text
    assert 'huiyin_deadlines_overdue{rule="response_48h"}' in text
    assert 'huiyin_bus_lag{group="huiyin-responder",topic="incidents.routed"} 0.0' in text
    assert 'huiyin_http_request_duration_seconds_count{method="POST",route="/api/incidents/{incident_id}/responses"' in text
    assert "huiyin_event_latency_seconds_count" in text
