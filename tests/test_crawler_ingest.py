"""``huiyin ingest``: JSON Lines and CSV (a 12345 hotline export) into posts.raw, bad rows quarantined."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from huiyin.config.errors import ConfigError
from huiyin.config.settings import Settings
from huiyin.crawler.dates import SHANGHAI
from huiyin.crawler.ingest import ingest_file, parse_mapping
from huiyin.responder.bus import Bus, open_bus
from huiyin.responder.store import Database, open_database
from huiyin.responder.store.tables import Post, QuarantineRecord
from tests.crawler_support import read

NOW = datetime(2024, 3, 5, 12, 0, tzinfo=SHANGHAI)
JSONL = [
    {"id": "h-1", "text": "正定县正定镇常山西路路灯连续一周不亮，晚上出行很危险。", "title": "路灯不亮", "published_at": "2024-03-05 09:00",
     "source_region": "130123", "url": "https://12345.example.cn/gd/h-1"},
    {"id": "h-2", "text": "长安区建北街道老旧小区加装电梯进展缓慢，请加快办理。", "published_at": 1709600400, "likes": "1.2万"},
    "not json",
    {"id": "h-3", "text": "", "title": "空的"},
    {"id": "h-4", "text": "时间写错了的一行", "published_at": "很久以前"},
    {"text": "没有编号的一行"},
    ["a", "list"],
    {"id": "h-5", "text": "渠道写错", "channel": "论坛"},
]


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = open_database(settings.db_url)
    yield database
    database.dispose()


@pytest.fixture
def bus(settings: Settings) -> Iterator[Bus]:
    b = open_bus(settings)
    yield b
    b.close()


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def quarantined(db: Database) -> list[QuarantineRecord]:
    with db.session() as session:
        return list(session.scalars(select(QuarantineRecord).order_by(QuarantineRecord.id)))


def test_jsonl_rows_new_then_unchanged_then_updated(settings: Settings, db: Database, bus: Bus, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "hotline.jsonl", JSONL)
    result = ingest_file(settings, db, bus, path, source="hotline-12345", channel="hotline", clock=lambda: NOW)
    assert result.to_json() == {"new": 2, "updated": 0, "quarantined": 6, "unchanged": 0}
    posts = {v["id"]: v for v in read(settings, settings.topics.posts_raw, "t")}
    first = posts["hotline-12345:h-1"]
    assert (first["channel"], first["source_region"], first["title"]) == ("hotline", "130123", "路灯不亮")
    assert datetime.fromisoformat(first["published_at"]) == datetime(2024, 3, 5, 9, 0, tzinfo=SHANGHAI)
    assert posts["hotline-12345:h-2"]["likes"] == 12000
    reasons = [(q.url, q.reason) for q in quarantined(db)]
    assert [url for url, _ in reasons] == [f"hotline.jsonl#{n}" for n in (3, 4, 5, 6, 7, 8)]
    assert "JSON" in reasons[0][1] and "missing body" in reasons[1][1] and "published_at" in reasons[2][1]
    assert "missing id" in reasons[3][1] and "not a JSON object" in reasons[4][1] and "channel" in reasons[5][1]
    assert all(q.stage == "ingest" and q.source == "hotline-12345" for q in quarantined(db))
    # The same file again: nothing new. Changed counts: an update, not a new post.
    again = ingest_file(settings, db, bus, path, source="hotline-12345", channel="hotline", clock=lambda: NOW)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 2)
    changed = write_jsonl(tmp_path / "hotline2.jsonl", [{**JSONL[0], "likes": 5}])  # type: ignore[dict-item]
    third = ingest_file(settings, db, bus, changed, source="hotline-12345", channel="hotline", clock=lambda: NOW)
    assert (third.new, third.updated) == (0, 1)
    (update,) = read(settings, settings.topics.posts_raw, "t")
    assert update["kind"] == "update" and update["likes"] == 5


HOTLINE_CSV = (
    "工单编号,来电时间,诉求标题,诉求内容,所属区域,答复意见,答复时间\n"
    "GD001,2024-03-04 08:30:00,供暖不热,新华区革新街道某小区暖气不热，室内只有十四度。,130105,已督促热力公司检修。,2024-03-04 17:00\n"
    "GD002,2024/3/4 9:15,,长安区青园街道夜间施工噪音扰民。,130102,,\n"
    "GD003,2024-03-04 10:00,空内容,,130105,,\n"
    "GD004,明天,时间不对,正定县某村道路坑洼。,130123,,\n"
    "GD005,2024-03-04 11:00,多一列,内容,130123,,,多出来的\n"
)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk"])
def test_hotline_csv_by_header_names(settings: Settings, db: Database, bus: Bus, tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "12345导出.csv"
    path.write_bytes(HOTLINE_CSV.encode(encoding))
    result = ingest_file(settings, db, bus, path, source="hotline-12345", channel="hotline", clock=lambda: NOW)
    assert (result.new, result.quarantined) == (2, 3)
    posts = {v["external_id"]: v for v in read(settings, settings.topics.posts_raw, "t")}
    heating = posts["GD001"]
    assert heating["title"] == "供暖不热" and heating["source_region"] == "130105" and heating["reply_text"] == "已督促热力公司检修。"
    assert datetime.fromisoformat(heating["reply_at"]) == datetime(2024, 3, 4, 17, 0, tzinfo=SHANGHAI)
    assert posts["GD002"]["title"] is None and posts["GD002"]["text"] == "长安区青园街道夜间施工噪音扰民。"
    lines = sorted(q.url for q in quarantined(db))
    assert lines == [f"{path.name}#{n}" for n in (4, 5, 6)]


def test_csv_with_an_explicit_column_mapping(settings: Settings, db: Database, bus: Bus, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("单号,反映问题,日期\nA1,丛台区某幼儿园乱收费，请教育部门查处。,2024-03-01\n", encoding="utf-8")
    mapping = parse_mapping(["单号=id", "反映问题=text", "日期=published_at"])
    result = ingest_file(settings, db, bus, path, mapping=mapping, clock=lambda: NOW)
    assert result.new == 1
    (value,) = read(settings, settings.topics.posts_raw, "t")
    assert value["id"] == "ingest-export:A1" and value["source"] == "ingest-export"
    with pytest.raises(ConfigError, match="COLUMN=FIELD"):
        parse_mapping(["单号=编号"])
    with pytest.raises(ConfigError, match="not found"):
        ingest_file(settings, db, bus, tmp_path / "missing.csv")


def test_cli_ingest_routes_and_stores_before_returning(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "posts.jsonl", JSONL[:3])
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIYIN_")}
    out = subprocess.run(
        [sys.executable, "-m", "huiyin.api.cli", "ingest", "--input", str(path), "--source", "hotline-12345", "--channel", "hotline"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"new": 2, "updated": 0, "quarantined": 1, "unchanged": 0}
    db = open_database(f"sqlite:///{tmp_path / 'var' / 'huiyin.db'}", upgrade=False)
    try:
        with db.session() as session:
            stored = {p.id: p for p in session.scalars(select(Post))}
    finally:
        db.dispose()
    assert set(stored) == {"hotline-12345:h-1", "hotline-12345:h-2"}  # routed and stored by the time it returned
    assert all(p.incident_id for p in stored.values())
