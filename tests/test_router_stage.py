"""The router stage on the embedded bus: posts.raw → incidents.routed, poison records, replays."""

from __future__ import annotations

from datetime import UTC, datetime

from huiyin.classifier.stage import ROUTER_GROUP, RouterStage, make_router_handler
from huiyin.config.settings import Settings
from huiyin.responder.bus.embedded import EmbeddedBus
from huiyin.responder.bus.messages import PostRecord, RoutedPost
from tests.classifier_support import org, rules_judge


def post(pid: str, text: str, **extra: object) -> dict:
    record = PostRecord(id=f"demo:{pid}", source="demo", external_id=pid, text=text,
                        fetched_at=datetime(2026, 11, 20, 8, 0, tzinfo=UTC), **extra)  # type: ignore[arg-type]
    return record.model_dump(mode="json")


def read_all(bus: EmbeddedBus, topic: str) -> list:
    with bus.consumer([topic], "reader") as consumer:
        found = []
        while batch := consumer.poll(0.2, 500):
            found.extend(batch)
        return found


def test_posts_are_routed_to_incidents_routed_keyed_by_cluster(settings: Settings) -> None:
    bus = EmbeddedBus(settings.data_dir / "bus.db")
    topics = settings.topics
    bus.publish_many(topics.posts_raw, [
        ("demo:1", post("1", "正定县一化工厂发生爆炸，已造成12人死亡")),
        ("demo:2", post("2", "网传正定县化工厂爆炸死了12人", cluster_id="c-blast", reposts=40)),
        ("demo:3", post("3", "新华区某小区冬季供暖不热", source_region="130900")),
        ("demo:3", post("3", "新华区某小区冬季供暖不热", source_region="130900", kind="update", likes=9)),
    ])
    bus.flush()
    runner = RouterStage(settings, org(), bus, judge=rules_judge())
    assert runner.run_until_idle() == 4
    routed = read_all(bus, topics.incidents_routed)
    assert [m.key for m in routed] == ["demo:1", "c-blast", "demo:3", "demo:3"]
    parsed = [RoutedPost.model_validate(m.value) for m in routed]
    assert parsed[0].routing.rule == "severity_tier" and parsed[0].routing.unit_name == "河北省人民政府"
    assert parsed[1].cluster_key == "c-blast" and parsed[1].routing.signals["rumour"]["flag"]
    assert parsed[2].routing.place.city == "沧州市"
    assert parsed[3].post.kind == "update" and parsed[3].post.likes == 9
    assert bus.lag(ROUTER_GROUP, topics.posts_raw) == 0 and bus.end_offsets(topics.dead_letter) == 0


def test_a_malformed_record_is_dead_lettered_and_the_rest_published_once(settings: Settings) -> None:
    bus = EmbeddedBus(settings.data_dir / "bus.db")
    topics = settings.topics
    bus.publish_many(topics.posts_raw, [
        ("demo:1", post("1", "石家庄市长安区建北街道和青园街道多个小区停水")),
        ("bad", {"id": "bad", "text": "缺少 source 和 external_id"}),
        ("demo:2", post("2", "北京市朝阳区某小区物业乱收费")),
    ])
    bus.flush()
    RouterStage(settings, org(), bus, judge=rules_judge()).run_until_idle()
    routed = read_all(bus, topics.incidents_routed)
    assert [m.key for m in routed] == ["demo:1", "demo:2"]  # the bad batch published nothing before the retry
    (dead,) = read_all(bus, topics.dead_letter)
    assert dead.value["stage"] == "router" and dead.value["key"] == "bad"
    assert bus.lag(ROUTER_GROUP, topics.posts_raw) == 0


def test_a_replay_gives_the_same_decisions(settings: Settings) -> None:
    bus = EmbeddedBus(settings.data_dir / "bus.db")
    handler = make_router_handler(settings, org(), bus, judge=rules_judge())
    bus.publish(settings.topics.posts_raw, post("1", "正定县诸福屯街道征地补偿款迟迟不发"), key="demo:1")
    bus.flush()
    with bus.consumer([settings.topics.posts_raw], "replay") as consumer:
        (message,) = consumer.poll(1.0)
    handler([message])
    handler([message])  # as after a crash between publish and commit
    first, second = (RoutedPost.model_validate(m.value) for m in read_all(bus, settings.topics.incidents_routed))
    assert first.routing == second.routing and first.post == second.post
