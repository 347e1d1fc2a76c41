"""``huiyin route --input FILE.jsonl``: print the routing decision of each post, one JSON per line.

Input lines: ``{"id", "text", "title"?, "source_region"?, "published_at"?, "likes"? …}``. Output
lines: ``id`` plus the ``Routing`` fields (unit_id, unit_name, tier, field, place, severity,
lead_unit_name, co_unit_names, rule, reasons, …). A bad line (not JSON, not an object, no text)
prints ``{"id": …, "line": n, "error": "…"}`` instead: never a crash, never a silent drop. No side
effects: no database, no bus. Lines are read as UTF-8, else GB18030 (GBK); ``source_region`` is a
jurisdiction code or a unique name (正定县, 石家庄市长安区).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import typer

from huiyin.config.org import from_settings

BATCH = 256


def register(app: typer.Typer) -> None:
    """Add ``huiyin route`` to the CLI."""
    app.command("route", help="研判派单：逐行输出每条帖子的责任单位与理由 route posts (JSONL in, JSONL out)")(route)


def route(
    ctx: typer.Context,
    input: str = typer.Option(..., "--input", "-i", help="JSONL 文件（- 为标准输入） JSONL file, - for stdin"),
) -> None:
    """Route every post of ``input`` and print one JSON object per line."""
    from huiyin.api.cli import settings_from
    from huiyin.classifier.judge import Judge

    settings = settings_from(ctx)
    stream = sys.stdin.buffer if input == "-" else _open(input)
    judge = Judge.from_settings(settings, from_settings(settings))
    out = sys.stdout
    try:
        batch: list[tuple[int, dict[str, Any], bool]] = []  # errors stay in place: output keeps input order
        for number, item, ok in _lines(stream):
            batch.append((number, item, ok))
            if len(batch) >= BATCH:
                _route_batch(judge, batch, out)
                batch = []
        if batch:
            _route_batch(judge, batch, out)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def _open(path: str) -> IO[bytes]:
    try:
        return Path(path).open("rb")
    except OSError as exc:
        typer.echo(f"无法读取输入文件 cannot read input: {path}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None


def _decode(data: bytes) -> str | None:
    """A line as text: UTF-8, else GB18030 (files saved by Chinese Windows tools); None if neither
    reads it whole (replacement characters would route garbled text as if it were a post)."""
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, dict[str, Any], bool]]:
    """(line number, post, True) per non-blank line; a bad line gives (number, error object, False)."""
    for number, data in enumerate(stream, start=1):
        raw = _decode(data)
        if raw is None:
            yield number, {"id": None, "line": number, "error": "编码无法识别（应为 UTF-8 或 GBK） undecodable line: not UTF-8 or GBK"}, False
            continue
        raw = raw.strip().lstrip("\ufeff")
        if not raw:
            continue
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield number, {"id": None, "line": number, "error": f"不是有效的 JSON invalid JSON: {exc.msg}"}, False
            continue
        if not isinstance(item, dict):
            yield number, {"id": None, "line": number, "error": "每行应为 JSON 对象 each line must be a JSON object"}, False
            continue
        pid = item.get("id")
        text, title = item.get("text"), item.get("title")
        if not isinstance(text, str) or (not text.strip() and not (isinstance(title, str) and title.strip())):
            yield number, {"id": pid, "line": number, "error": "缺少 text missing or empty text"}, False
            continue
        if title is not None and not isinstance(title, str):
            item["title"] = str(title)
        if item.get("source_region") is not None:
            item["source_region"] = str(item["source_region"])
        yield number, item, True


def _route_batch(judge: Any, batch: list[tuple[int, dict[str, Any], bool]], out: IO[str]) -> None:
    valid = [item for _, item, ok in batch if ok]
    try:
        routed = iter(judge.judge_many(valid) if valid else [])
    except Exception:  # noqa: BLE001 - fall back to one by one, so one bad post does not hide the rest
        routed = None
    for number, item, ok in batch:
        if not ok:
            _emit(out, item)
        elif routed is not None:
            _emit(out, _row(item, next(routed)))
        else:
            try:
                _emit(out, _row(item, judge.judge(item)))
            except Exception as exc:  # noqa: BLE001
                _emit(out, {"id": item.get("id"), "line": number, "error": f"研判失败 judgement failed: {exc!r}"})


def _row(item: dict[str, Any], routing: Any) -> dict[str, Any]:
    return {"id": item.get("id"), **routing.model_dump(mode="json")}


def _emit(out: IO[str], row: dict[str, Any]) -> None:
    out.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
