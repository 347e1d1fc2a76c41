"""``huiyin ingest``: posts from a file (JSON Lines or CSV, e.g. a 12345 hotline export) into ``posts.raw``.

Rows go through the same normalisation, crawl state (new / update / unchanged) and near-duplicate
clusters as crawled posts. A row that cannot be used is quarantined with its line number and reason.

JSON Lines: one object per line with ``id``, ``text`` and optionally ``title``, ``url``, ``source``,
``published_at``, ``source_region``, ``author``, ``likes``, ``dislikes``, ``reposts``, ``comments``,
``reply_text``, ``reply_at``, ``channel``.
CSV: a header row; columns are recognised by common names (编号/工单编号, 诉求内容/留言详情, 标题,
来电时间/留言时间, 区域, 答复意见 …) or mapped explicitly (``--map 工单号=id``).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from huiyin.config.errors import ConfigError
from huiyin.config.settings import Settings
from huiyin.crawler.dates import parse_time
from huiyin.crawler.normalise import RawPost, Rejected, normalise
from huiyin.crawler.sink import PostSink
from huiyin.responder.bus import Bus
from huiyin.responder.store import Database

FIELDS = ("id", "text", "title", "url", "source", "published_at", "source_region", "author", "likes", "dislikes",
          "reposts", "comments", "reply_text", "reply_at", "channel")
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "编号", "工单编号", "工单号", "留言编号", "信件编号", "受理编号"),
    "text": ("text", "body", "content", "内容", "诉求内容", "留言详情", "留言内容", "详情", "正文", "来电内容", "问题描述", "信件内容"),
    "title": ("title", "subject", "标题", "主题", "留言主题", "诉求标题", "信件标题"),
    "published_at": ("published_at", "time", "date", "时间", "来电时间", "受理时间", "留言时间", "发布时间", "创建时间", "登记时间"),
    "source_region": ("source_region", "region", "区域", "所属区域", "区县", "地区", "行政区划代码", "属地"),
    "author": ("author", "user", "留言用户", "来电人", "用户", "反映人"),
    "likes": ("likes", "点赞数", "支持数"),
    "dislikes": ("dislikes", "反对数"),
    "reposts": ("reposts", "转发数"),
    "comments": ("comments", "评论数", "回复数"),
    "reply_text": ("reply_text", "reply", "答复意见", "办理结果", "回复内容", "答复内容", "处理结果"),
    "reply_at": ("reply_at", "答复时间", "回复时间", "办结时间"),
    "url": ("url", "link", "链接", "网址"),
    "source": ("source", "来源", "渠道名称"),
    "channel": ("channel", "渠道"),
}
_CHANNELS = ("留言板", "问政", "news", "政务微博", "RSS", "hotline")


@dataclass
class IngestResult:
    """Counts of one import."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0

    def to_json(self) -> dict[str, int]:
        return {"new": self.new, "updated": self.updated, "quarantined": self.quarantined, "unchanged": self.unchanged}


def parse_mapping(pairs: list[str] | None) -> dict[str, str]:
    """``["工单号=id", …]`` -> {column: field}; ConfigError for an unknown field."""
    mapping: dict[str, str] = {}
    for pair in pairs or []:
        column, sep, field = pair.partition("=")
        if not sep or field.strip() not in FIELDS:
            raise ConfigError(f"映射应为 列名=字段 mapping must be COLUMN=FIELD, FIELD one of {', '.join(FIELDS)}", key=pair, source="--map")
        mapping[column.strip()] = field.strip()
    return mapping


def read_text(path: Path, encoding: str | None) -> str:
    """The file's text: the given encoding, else UTF-8 (BOM allowed), else GB18030 (exports from Excel)."""
    raw = path.read_bytes()
    for candidate in ([encoding] if encoding else ["utf-8-sig", "gb18030"]):
        try:
            return raw.decode(candidate)
        except UnicodeDecodeError:
            continue
    raise ConfigError("文件编码无法识别 cannot decode the file (try --encoding)", source=str(path))


def rows_jsonl(text: str) -> Iterator[tuple[int, dict[str, Any] | Rejected]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            yield number, Rejected(f"第 {number} 行不是有效的 JSON invalid JSON: {exc}", line[:4000])
            continue
        if not isinstance(row, dict):
            yield number, Rejected(f"第 {number} 行不是 JSON 对象 not a JSON object", line[:4000])
            continue
        yield number, row


def rows_csv(text: str, mapping: dict[str, str]) -> Iterator[tuple[int, dict[str, Any] | Rejected]]:
    reader = csv.DictReader(io.StringIO(text))
    columns = _columns(reader.fieldnames or [], mapping)
    for row in reader:
        number = reader.line_num
        if None in row:  # more cells than headers
            yield number, Rejected(f"第 {number} 行列数多于表头 more cells than header columns", row)
            continue
        yield number, {field: row.get(column) for column, field in columns.items()}


def _columns(headers: list[str], mapping: dict[str, str]) -> dict[str, str]:
    """column -> field, from the explicit mapping first, then the aliases."""
    columns = {h: mapping[h] for h in headers if h in mapping}
    taken = set(columns.values())
    for header in headers:
        if header in columns:
            continue
        key = header.strip().lower()
        for field, names in ALIASES.items():
            if field not in taken and key in {n.lower() for n in names}:
                columns[header] = field
                taken.add(field)
                break
    return columns


def ingest_file(
    settings: Settings,
    db: Database,
    bus: Bus,
    path: Path,
    *,
    fmt: str | None = None,
    source: str | None = None,
    channel: str | None = None,
    mapping: dict[str, str] | None = None,
    encoding: str | None = None,
    clock: Callable[[], datetime] | None = None,
    resolve_region: Callable[[str], str | None] | None = None,
) -> IngestResult:
    """Import ``path`` into ``posts.raw``; returns how many were new, updated, unchanged, quarantined."""
    if not path.is_file():
        raise ConfigError("输入文件不存在 input file not found", source=str(path))
    if channel is not None and channel not in _CHANNELS:
        raise ConfigError(f"渠道应为 channel must be one of {', '.join(_CHANNELS)}", key="--channel", source=channel)
    fmt = fmt or ("csv" if path.suffix.lower() in (".csv", ".tsv") else "jsonl")
    default_source = source or _source_name(path)
    clock = clock or (lambda: datetime.now(UTC))
    sink = PostSink(settings, db, bus, clock=clock, stage="ingest").open()
    text = read_text(path, encoding)
    rows = rows_csv(text, mapping or {}) if fmt == "csv" else rows_jsonl(text)
    for number, row in rows:
        if isinstance(row, Rejected):
            sink.quarantine(source=default_source, reason=row.reason, payload=row.payload, url=f"{path.name}#{number}")
            continue
        try:
            record = normalise(_raw(row, default_source, channel, clock(), resolve_region), now=clock())
        except Rejected as rejected:
            sink.quarantine(source=default_source, reason=f"第 {number} 行：{rejected.reason}", payload=row, url=f"{path.name}#{number}")
            continue
        sink.submit(record)
    sink.close()
    return IngestResult(new=sink.counts["new"], updated=sink.counts["updated"], unchanged=sink.counts["unchanged"],
                        quarantined=sink.counts["quarantined"])


def _source_name(path: Path) -> str:
    name = re.sub(r"[^a-z0-9_-]+", "-", path.stem.lower()).strip("-")
    return f"ingest-{name}"[:60] if name else "ingest"


def _raw(row: dict[str, Any], source: str, channel: str | None, now: datetime, resolve_region: Callable[[str], str | None] | None) -> RawPost:
    """A file row as a ``RawPost``; an explicit but unreadable time or channel is an error, not a guess."""
    value = lambda key: (str(row[key]).strip() if row.get(key) not in (None, "") else None)  # noqa: E731
    published = row.get("published_at")
    if published not in (None, "") and parse_time(published, now) is None:
        raise Rejected(f"发布时间无法识别 unreadable published_at: {published!r}")
    row_channel = value("channel") or channel
    if row_channel is not None and row_channel not in _CHANNELS:
        raise Rejected(f"未知渠道 unknown channel: {row_channel!r}")
    region = value("source_region")
    if region and not region.isdigit():
        region = resolve_region(region) if resolve_region else None
    return RawPost(
        source=(value("source") or source)[:100],
        external_id=value("id"),
        url=value("url"),
        title=value("title"),
        body=row.get("text") if isinstance(row.get("text"), str) else value("text"),
        author=value("author"),
        time=published,
        replies=row.get("comments"),
        likes=row.get("likes"),
        dislikes=row.get("dislikes"),
        reposts=row.get("reposts"),
        reply=value("reply_text"),
        reply_time=row.get("reply_at"),
        channel=row_channel,
        source_region=region,
    )


def region_resolver(settings: Settings) -> Callable[[str], str | None]:
    """Place name -> jurisdiction id through the org directory (None if unknown or ambiguous)."""
    try:
        from huiyin.config.org import from_settings

        org = from_settings(settings)
    except Exception:  # noqa: BLE001 - the directory is optional for an import; names stay unresolved
        return lambda name: None

    def resolve(name: str) -> str | None:
        found = org.find(name)
        return found[0].id if len(found) == 1 else None

    return resolve
