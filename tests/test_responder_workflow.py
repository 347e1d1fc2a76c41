"""The incident state machine: every transition, every refusal, transfers, regrades, merges, reopening."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from huiyin.config.errors import WorkflowError
from huiyin.config.settings import Settings
from huiyin.responder import audit
from huiyin.responder.bus.base import Message
from huiyin.responder.bus.embedded import EmbeddedBus
from huiyin.responder.context import Context
from huiyin.responder.stage import ResponderHandler
from huiyin.responder.store import Database, open_database
from huiyin.responder.store.tables import (
    Accountability, AuditRecord, Consultation, Deadline, Incident, Post, Response, RoutingDecision, StageEvent, Transfer,
)
from huiyin.responder.visibility import can_see, visible_filter
from huiyin.responder.workflow import Actor, Workflow
from tests.responder_support import T0, FakeClock, responder_settings, routed, small_org

PUB = Actor("xuan", "130123.publicity", "publicity")  # 正定县委宣传部
CITY_PUB = Actor("shi", "130100.publicity", "publicity")  # 石家庄市委宣传部
OTHER_PUB = Actor("bao", "130600.publicity", "publicity")  # 保定: outside 正定
HOUSING = Actor("zhu", "130123.housing", "unit")  # 正定县住建局: the router's choice
EDU = Actor("jiao", "130123.education", "unit")
EMERGENCY = Actor("ying", "130123.emergency", "unit")
TOWN = Actor("zhen", "130123100.gov", "unit")
LEADER = Actor("lingdao", "130123.gov", "leader")
ADMIN = Actor("root", "130000.gov", "admin")


@dataclass
class Env:
    settings: Settings
    db: Database
    bus: EmbeddedBus
    clock: FakeClock
    wf: Workflow

    def incident(self, post_id: str = "test:1", **kw: Any) -> str:
        """Create an incident the way production does: a routed post through the responder stage."""
        handler = ResponderHandler(self.db, Context.from_settings(self.settings, small_org()), self.bus,
                                   group="wf-tests", clock=self.clock)
        handler([Message("incidents.routed", 0, 0, post_id, routed(post_id, **kw))])
        with self.db.session() as s:
            return s.scalars(select(Post.incident_id).where(Post.id == post_id)).one()

    def get(self, incident_id: str) -> Incident:
        with self.db.session() as s:
            inc = s.get(Incident, incident_id)
            assert inc is not None
            _ = inc.deadlines
            return inc

    def count(self, model: type, **where: Any) -> int:
        with self.db.session() as s:
            q = select(func.count()).select_from(model)
            for k, v in where.items():
                q = q.where(getattr(model, k) == v)
            return int(s.scalar(q) or 0)

    def events(self) -> list[dict[str, Any]]:
        with self.bus.consumer([self.settings.topics.incident_events], "test-reader") as c:
            out = []
            while batch := c.poll(0.05, 1000):
                out += [m.value for m in batch]
            return out


def _env(tmp_path: Path, url: str | None = None) -> Iterator[Env]:
    settings = responder_settings(tmp_path)
    db = open_database(url or settings.db_url)
    bus = EmbeddedBus(tmp_path / "bus.db")
    clock = FakeClock()
    yield Env(settings, db, bus, clock, Workflow(db, small_org(), settings, bus, clock))
    bus.close()
    db.dispose()


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    yield from _env(tmp_path)


@pytest.fixture
def env_any_db(tmp_path: Path, database_url: str) -> Iterator[Env]:
    yield from _env(tmp_path, database_url)


def refused(match: str, fn: Any, *args: Any, **kw: Any) -> WorkflowError:
    with pytest.raises(WorkflowError, match=match) as info:
        fn(*args, **kw)
    return info.value


# -- the whole path ---------------------------------------------------------------------------
def test_simple_matter_goes_straight_from_assessment_to_handling_and_closes(env: Env) -> None:
    iid = env.incident()
    assert env.get(iid).stage == "收集"
    inc = env.wf.assess(iid, PUB, reason="属实")
    assert inc.stage == "研判" and [d.rule for d in inc.deadlines] == ["response_48h"]
    assert env.wf.accept(iid, HOUSING).stage == "处置"
    assert env.wf.record_handling(iid, HOUSING, action="已派人抢修供水管道").stage == "处置"
    env.clock.advance(hours=3)
    inc = env.wf.record_response(iid, HOUSING, channel="website", content="供水已于今日恢复，详见公告。",
                                 link="https://www.zd.gov.cn/gg/1")
    assert inc.stage == "回应"
    assert {d.rule: d.status for d in inc.deadlines} == {"response_48h": "met"}
    inc = env.wf.evaluate(iid, PUB, effect="群众满意，舆情平息", score=90)
    assert (inc.stage, inc.status, inc.resolution) == ("评估", "closed", "evaluated")

    with env.db.session() as s:
        kinds = s.scalars(select(StageEvent.kind).where(StageEvent.incident_id == iid).order_by(StageEvent.id)).all()
        assert kinds == ["stage", "stage", "stage", "handling", "response", "evaluation"]
        actions = s.scalars(select(AuditRecord.action).where(AuditRecord.entity_id == iid)
                            .order_by(AuditRecord.seq)).all()
        assert actions == ["created", "assessed", "accepted", "handling", "response", "evaluated"]
        response = s.scalars(select(Response)).one()
        assert (response.channel, response.link, response.unit_id) == ("website", "https://www.zd.gov.cn/gg/1",
                                                                       "130123.housing")
        assert audit.verify(s).ok
    types = [e["type"] for e in env.events() if e["incident_id"] == iid]
    assert types == ["created", "assessed", "accepted", "handling", "response", "evaluated"]


def test_major_matter_needs_consultation_and_the_lead_unit_then_holds_it(env: Env) -> None:
    iid = env.incident(severity="较大")
    env.wf.assess(iid, PUB)
    refused("须先会商再受理", env.wf.accept, iid, HOUSING)
    refused("会商决定不能为空", env.wf.consult, iid, PUB, participants=["130123.housing"], decision=" ",
            lead_unit_id="130123.gov")
    refused("参加单位不能为空", env.wf.consult, iid, PUB, participants=[], decision="x", lead_unit_id="130123.gov")
    inc = env.wf.consult(iid, PUB, participants=["130123.housing", "130123.emergency", "县应急办张主任"],
                         decision="县政府牵头，住建局、应急局配合，两小时内发布权威信息", lead_unit_id="130123.gov")
    assert (inc.stage, inc.unit_id, inc.lead_unit_id) == ("会商", "130123.gov", "130123.gov")
    assert sorted(inc.co_unit_ids) == ["130123.emergency", "130123.housing"]
    assert {d.unit_id for d in inc.deadlines} == {"130123.gov"}
    # The former holder now co-handles: it still sees the matter but cannot accept it.
    assert can_see(small_org(), HOUSING, inc)
    refused("不是该事件的承办单位", env.wf.accept, iid, HOUSING)
    gov = Actor("gov", "130123.gov", "unit")
    assert env.wf.accept(iid, gov).stage == "处置"
    with env.db.session() as s:
        c = s.scalars(select(Consultation)).one()
        assert c.lead_unit_id == "130123.gov" and "县应急办张主任" in c.participants


def test_multi_unit_matter_needs_consultation_even_when_minor(env: Env) -> None:
    iid = env.incident(co_unit_ids=["130123.education"])
    env.wf.assess(iid, PUB)
    refused("涉及多个单位，须先会商", env.wf.accept, iid, HOUSING)


# -- refusals -----------------------------------------------------------------------------------
def test_refusals_change_nothing(env: Env) -> None:
    iid = env.incident()
    before_audit = env.count(AuditRecord)
    before = env.get(iid)
    refused("请先完成研判", env.wf.accept, iid, HOUSING)  # a skipped stage
    refused("请先完成研判", env.wf.record_response, iid, HOUSING, channel="website", content="x")
    refused("研判由宣传部门负责", env.wf.assess, iid, HOUSING)
    refused("领导账号只能查看", env.wf.assess, iid, LEADER)
    refused("不在本单位（130600.publicity）的职责或辖区范围内", env.wf.assess, iid, OTHER_PUB)
    refused("不在本单位（130123.education）的职责或辖区范围内", env.wf.transfer, iid, EDU, to_unit_id="130123.gov",
            reason="x")
    refused("不存在", env.wf.assess, "INC-nope", PUB)
    refused("严重程度只能是", env.wf.assess, iid, PUB, severity="很大")
    refused("不在组织目录中", env.wf.assess, iid, PUB, unit_id="999.gov")
    refused("不在组织目录中", env.wf.assess, iid, PUB, field_id="astrology")
    refused("排除理由不能为空", env.wf.dismiss, iid, PUB, reason="  ")
    refused("未知的角色", env.wf.assess, iid, Actor("x", "130123.publicity", "guest"))
    env.wf.assess(iid, PUB)
    env.wf.accept(iid, HOUSING)
    refused("回应内容不能为空", env.wf.record_response, iid, HOUSING, channel="website", content="   ")
    refused("发布渠道只能是", env.wf.record_response, iid, HOUSING, channel="fax", content="x")
    refused("回应类型只能是", env.wf.record_response, iid, HOUSING, channel="website", content="x", kind="rumour")
    refused("链接须以", env.wf.record_response, iid, HOUSING, channel="website", content="x", link="ftp://x")
    refused("不能晚于当前时间", env.wf.record_response, iid, HOUSING, channel="website", content="x",
            published_at=env.clock() + timedelta(days=1))
    refused("处置情况不能为空", env.wf.record_handling, iid, HOUSING, action="")
    refused("只能在“回应”阶段", env.wf.evaluate, iid, PUB, effect="好")  # not yet responded
    refused("已过研判阶段|只能在“收集、研判”阶段", env.wf.assess, iid, PUB)
    refused("承办单位已受理", env.wf.reroute, iid, PUB, unit_id="130123.gov", reason="x")
    refused("只有已办结或已排除的事件可以重新打开", env.wf.reopen, iid, PUB, reason="x")
    refused("领导账号只能查看", env.wf.record_handling, iid, LEADER, action="x")
    after = env.get(iid)
    assert (after.stage, after.unit_id, after.version) == ("处置", before.unit_id, before.version + 2)
    assert env.count(AuditRecord) == before_audit + 2  # only the two accepted commands
    assert env.count(Response) == 0


def test_a_unit_cannot_act_on_an_incident_it_does_not_hold(env: Env) -> None:
    iid = env.incident()
    env.wf.assess(iid, PUB)
    err = refused("不在本单位（130123.education）的职责或辖区范围内", env.wf.accept, iid, EDU)
    assert err.code == "forbidden"
    env.wf.accept(iid, HOUSING)
    refused("不在本单位", env.wf.record_response, iid, EDU, channel="website", content="x")


def test_closed_and_merged_incidents_refuse_commands(env: Env) -> None:
    iid = env.incident()
    env.wf.dismiss(iid, PUB, reason="广告帖，不属于政务舆情")
    refused("已办结或已排除", env.wf.assess, iid, PUB)
    refused("已办结或已排除", env.wf.regrade, iid, PUB, severity="重大", reason="x")


# -- 研判 corrections, dismissal, regrade, reroute --------------------------------------------------
def test_assessment_corrects_field_place_severity_and_unit(env: Env) -> None:
    iid = env.incident()
    inc = env.wf.assess(iid, PUB, field_id="compulsory_education", severity="一般", unit_id="130123.education",
                        place={"county": "正定县", "township": "正定镇", "jurisdiction_id": "130123100"},
                        reason="实为学校周边问题")
    assert (inc.field_id, inc.severity, inc.unit_id, inc.jurisdiction_id) == (
        "compulsory_education", "一般", "130123.education", "130123100")
    assert inc.jurisdiction_path == "/130000/130100/130123/130123100/"
    assert {d.unit_id for d in inc.deadlines} == {"130123.education"}
    with env.db.session() as s:
        decisions = s.scalars(select(RoutingDecision).where(RoutingDecision.incident_id == iid)
                              .order_by(RoutingDecision.id)).all()
        assert [(d.decided_by, d.current) for d in decisions] == [("router", False), ("xuan", True)]
        assert "实为学校周边问题" in decisions[-1].reasons
    # The previous holder no longer sees it; the new one does.
    assert not can_see(small_org(), HOUSING, inc) and can_see(small_org(), EDU, inc)
    refused("改正后的地点不在本单位辖区内", env.wf.assess, iid, PUB, place={"jurisdiction_id": "130600"})


def test_dismissal_stops_the_clocks_and_reopening_restores_them(env: Env) -> None:
    iid = env.incident()
    inc = env.wf.dismiss(iid, PUB, reason="商业广告")
    assert (inc.status, inc.resolution) == ("closed", "dismissed")
    assert [d.status for d in inc.deadlines] == ["cancelled"]
    refused("重新打开的理由不能为空", env.wf.reopen, iid, PUB, reason="")
    refused("重新打开由宣传部门负责", env.wf.reopen, iid, HOUSING, reason="x")
    inc = env.wf.reopen(iid, PUB, reason="经核实确为小区停水投诉")
    assert (inc.status, inc.stage, inc.resolution) == ("open", "收集", None)
    assert [(d.status, d.due_at) for d in inc.deadlines] == [("open", T0 + timedelta(hours=48))]


def test_reopening_an_evaluated_matter_returns_it_to_handling(env: Env) -> None:
    iid = env.incident()
    env.wf.assess(iid, PUB)
    env.wf.accept(iid, HOUSING)
    env.wf.record_response(iid, HOUSING, channel="new_media", content="已处理")
    env.wf.evaluate(iid, HOUSING, effect="已回复")
    inc = env.wf.reopen(iid, CITY_PUB, reason="群众反映问题复发")
    assert (inc.stage, inc.status) == ("处置", "open")
    env.wf.record_handling(iid, HOUSING, action="再次维修")


def test_regrade_starts_stricter_clocks_from_the_original_start(env: Env) -> None:
    event = T0 - timedelta(hours=2)  # it happened two hours before it was detected
    iid = env.incident(published_at=event)
    env.clock.advance(hours=3)  # regraded three hours after detection
    refused("调整理由不能为空", env.wf.regrade, iid, PUB, severity="重大", reason="")
    inc = env.wf.regrade(iid, PUB, severity="重大", reason="已造成3人死亡")
    clocks = {d.rule: d for d in inc.deadlines}
    assert clocks["response_48h"].status == "cancelled"
    five = clocks["authoritative_info_5h"]
    assert five.starts_at == event and five.due_at == event + timedelta(hours=5)  # not regrade time + 5 h
    assert clocks["press_conference_24h"].due_at == event + timedelta(hours=24)
    assert inc.severity == "重大"
    refused("事件已是“重大”", env.wf.regrade, iid, PUB, severity="重大", reason="x")
    refused("调整严重程度由宣传部门负责", env.wf.regrade, iid, HOUSING, severity="一般", reason="x")
    # Downgrading brings the 48 h clock back, still from the original start.
    inc = env.wf.regrade(iid, PUB, severity="一般", reason="核实后伤亡不实")
    clocks = {d.rule: d for d in inc.deadlines}
    assert clocks["response_48h"].status == "open" and clocks["response_48h"].due_at == event + timedelta(hours=48)
    assert clocks["authoritative_info_5h"].status == "cancelled"


def test_reroute_before_acceptance(env: Env) -> None:
    iid = env.incident()
    refused("改派理由不能为空", env.wf.reroute, iid, PUB, unit_id="130123.gov", reason="")
    refused("事件已由该单位承办", env.wf.reroute, iid, PUB, unit_id="130123.housing", reason="x")
    refused("改派由宣传部门负责", env.wf.reroute, iid, HOUSING, unit_id="130123.gov", reason="x")
    inc = env.wf.reroute(iid, PUB, unit_id="130123100.gov", reason="属地问题，由镇政府办理")
    assert inc.unit_id == "130123100.gov" and inc.deadlines[0].unit_id == "130123100.gov"
    assert can_see(small_org(), TOWN, inc)


# -- 转办 ----------------------------------------------------------------------------------------
def test_transfer_waits_for_the_receiving_unit(env: Env) -> None:
    iid = env.incident()
    env.wf.assess(iid, PUB)
    env.wf.accept(iid, HOUSING)
    refused("转办理由不能为空", env.wf.transfer, iid, HOUSING, to_unit_id="130123100.gov", reason=" ")
    refused("不能转办给本单位", env.wf.transfer, iid, HOUSING, to_unit_id="130123.housing", reason="x")
    refused("不在组织目录中", env.wf.transfer, iid, HOUSING, to_unit_id="nowhere.gov", reason="x")
    inc = env.wf.transfer(iid, HOUSING, to_unit_id="130123100.gov", reason="小区供水属镇自来水站管理")
    assert (inc.unit_id, inc.pending_transfer_to) == ("130123.housing", "130123100.gov")
    assert can_see(small_org(), TOWN, inc)  # the receiving unit sees what is offered to it
    refused("等待对方接收", env.wf.transfer, iid, HOUSING, to_unit_id="130123.gov", reason="x")
    refused("转办的接收单位是 130123100.gov", env.wf.accept_transfer, iid, HOUSING)
    inc = env.wf.accept_transfer(iid, TOWN)
    assert (inc.unit_id, inc.pending_transfer_to, inc.stage) == ("130123100.gov", None, "处置")
    assert [d.unit_id for d in inc.deadlines] == ["130123100.gov"]
    assert [d.due_at for d in inc.deadlines] == [T0 + timedelta(hours=48)]  # the clock keeps running
    refused("没有待接收的转办", env.wf.accept_transfer, iid, TOWN)
    with env.db.session() as s:
        t = s.scalars(select(Transfer)).one()
        assert (t.status, t.decided_by, t.reason) == ("accepted", "zhen", "小区供水属镇自来水站管理")
    env.wf.record_response(iid, TOWN, channel="website", content="镇自来水站已恢复供水")


def test_rejected_transfer_leaves_the_matter_with_its_holder(env: Env) -> None:
    iid = env.incident()
    env.wf.transfer(iid, HOUSING, to_unit_id="130123.emergency", reason="疑似安全事故")
    refused("拒收理由不能为空", env.wf.reject_transfer, iid, EMERGENCY, reason="")
    inc = env.wf.reject_transfer(iid, EMERGENCY, reason="不属于安全生产事故")
    assert (inc.unit_id, inc.pending_transfer_to) == ("130123.housing", None)
    assert not can_see(small_org(), EMERGENCY, inc)
    with env.db.session() as s:
        assert s.scalars(select(Transfer.status)).one() == "rejected"


# -- 回应 ----------------------------------------------------------------------------------------
def test_press_conference_clock_needs_a_press_conference(env: Env) -> None:
    iid = env.incident(severity="重大")
    env.wf.assess(iid, PUB)
    # Publicity may release authoritative information before the unit has accepted.
    env.clock.advance(hours=2)
    inc = env.wf.record_response(iid, PUB, channel="new_media", content="县政府通报：事故已造成…", kind="authoritative_info")
    assert inc.stage == "研判"
    clocks = {d.rule: d.status for d in inc.deadlines}
    assert clocks == {"authoritative_info_5h": "met", "press_conference_24h": "open"}
    refused("只能在“处置、回应”阶段", env.wf.record_response, iid, PUB, channel="website", content="x")
    env.wf.consult(iid, PUB, participants=["130123.housing"], decision="住建局牵头", lead_unit_id="130123.housing")
    env.wf.accept(iid, HOUSING)
    inc = env.wf.record_response(iid, HOUSING, channel="website", content="网传“死亡10人”系谣言", kind="clarification")
    assert {d.rule: d.status for d in inc.deadlines}["press_conference_24h"] == "open"
    env.clock.advance(hours=10)
    inc = env.wf.record_response(iid, HOUSING, channel="press_conference", content="召开新闻发布会通报处置进展",
                                 kind="press_conference")
    assert {d.rule: d.status for d in inc.deadlines} == {"authoritative_info_5h": "met", "press_conference_24h": "met"}
    with env.db.session() as s:
        assert sorted(s.scalars(select(Response.kind)).all()) == ["authoritative_info", "clarification",
                                                                  "press_conference"]


def test_a_late_response_is_a_miss_with_accountability(env: Env) -> None:
    iid = env.incident()
    env.wf.assess(iid, PUB)
    env.wf.accept(iid, HOUSING)
    env.clock.advance(hours=50)  # the checker has not run yet
    inc = env.wf.record_response(iid, HOUSING, channel="website", content="迟到的回复")
    (clock,) = inc.deadlines
    assert clock.status == "missed" and clock.met_at == env.clock()
    with env.db.session() as s:
        acc = s.scalars(select(Accountability)).one()
        assert (acc.unit_id, acc.rule) == ("130123.housing", "response_48h")
    assert "deadline_missed" in [e["type"] for e in env.events()]


# -- merge ---------------------------------------------------------------------------------------
def test_merge_moves_posts_and_stops_the_duplicate(env: Env) -> None:
    a = env.incident("test:a", likes=10)
    b = env.incident("test:b")
    refused("不能把事件合并到自身", env.wf.merge, a, PUB, into_id=a, reason="x")
    refused("合并理由不能为空", env.wf.merge, a, PUB, into_id=b, reason="")
    refused("目标事件 INC-x 不存在", env.wf.merge, a, PUB, into_id="INC-x", reason="x")
    refused("合并由宣传部门负责", env.wf.merge, a, HOUSING, into_id=b, reason="x")
    inc = env.wf.merge(a, PUB, into_id=b, reason="同一小区停水")
    assert (inc.status, inc.merged_into, inc.resolution) == ("merged", b, "merged")
    assert [d.status for d in inc.deadlines] == ["cancelled"]
    target = env.get(b)
    assert target.post_count == 2 and target.heat == pytest.approx(3.0)
    with env.db.session() as s:
        assert set(s.scalars(select(Post.incident_id)).all()) == {b}
    refused("已合并到其他事件", env.wf.assess, a, PUB)
    refused("已合并的事件不能重新打开", env.wf.reopen, a, PUB, reason="x")
    # A later post of the merged cluster lands on the surviving incident.
    env.incident("test:c", cluster_key="test:a")
    assert env.get(b).post_count == 3
    assert {e["incident_id"] for e in env.events() if e["type"] == "merged"} == {a, b}


# -- visibility on both databases ---------------------------------------------------------------
def test_visibility_filter_matches_can_see(env_any_db: Env) -> None:
    env = env_any_db
    org = small_org()
    a = env.incident("test:a")  # 正定县住建局, place 正定县
    b = env.incident("test:b", unit_id="130123100.gov", jid="130123100", co_unit_ids=["130123.education"])
    c = env.incident("test:c", unit_id="130600.housing", jid="130600")  # 保定
    env.wf.transfer(c, ADMIN, to_unit_id="130123.emergency", reason="测试")
    expected = {
        HOUSING: {a}, EDU: {b}, TOWN: {b}, EMERGENCY: {c}, PUB: {a, b}, CITY_PUB: {a, b}, OTHER_PUB: {c},
        LEADER: {a, b}, ADMIN: {a, b, c}, Actor("p", "130000.publicity", "publicity"): {a, b, c},
        Actor("x", "130123.hous_ng", "unit"): set(),  # LIKE wildcards in ids are escaped
    }
    with env.db.session() as s:
        rows = s.scalars(select(Incident)).all()
        for actor, want in expected.items():
            got = set(s.scalars(select(Incident.id).where(visible_filter(org, actor))).all())
            assert got == want, actor
            assert {r.id for r in rows if can_see(org, actor, r)} == want, actor


def test_concurrent_commands_on_one_incident_do_not_both_apply(env_any_db: Env) -> None:
    env = env_any_db
    iid = env.incident()
    env.wf.assess(iid, PUB)
    import threading

    results: list[str] = []

    def accept() -> None:
        try:
            env.wf.accept(iid, HOUSING)
            results.append("ok")
        except WorkflowError as exc:
            results.append(exc.code)

    threads = [threading.Thread(target=accept) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 1
    assert env.count(StageEvent, incident_id=iid, to_stage="处置") == 1
    with env.db.session() as s:
        assert audit.verify(s).ok


def test_deadline_rows_come_back_detached(env: Env) -> None:
    iid = env.incident()
    inc = env.wf.assess(iid, PUB)
    assert isinstance(inc.deadlines[0], Deadline) and inc.deadlines[0].rule == "response_48h"


def test_stage_workflow_and_checker_run_concurrently(env_any_db: Env) -> None:
    """Posts keep arriving while officers work and the checker runs: no deadlock, no lost update."""
    import threading

    env = env_any_db
    ids = [env.incident(f"test:{i}") for i in range(12)]
    handler = ResponderHandler(env.db, Context.from_settings(env.settings, small_org()), env.bus,
                               group="wf-tests", clock=env.clock)
    from huiyin.responder.checker import DeadlineChecker

    checker = DeadlineChecker(env.db, Context.from_settings(env.settings, small_org()), env.bus,
                              lambda: env.clock() + timedelta(hours=47))
    errors: list[BaseException] = []

    def guard(fn: Any) -> Any:
        def run() -> None:
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
        return run

    def officers() -> None:
        for iid in ids:
            env.wf.assess(iid, PUB)
            env.wf.accept(iid, HOUSING)
            env.wf.record_response(iid, HOUSING, channel="website", content="已处理")

    def posts() -> None:
        for round_ in range(6):
            handler([Message("incidents.routed", 0, 0, None, routed(f"test:{i}-{round_}", cluster_key=f"test:{i}"))
                     for i in range(12)])

    def checks() -> None:
        for _ in range(6):
            checker.check_deadlines()

    threads = [threading.Thread(target=guard(f)) for f in (officers, posts, checks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    with env.db.session() as s:
        incidents = s.scalars(select(Incident).where(Incident.id.in_(ids))).all()
        assert {i.stage for i in incidents} == {"回应"}
        assert {i.post_count for i in incidents} == {7}
        assert audit.verify(s).ok
