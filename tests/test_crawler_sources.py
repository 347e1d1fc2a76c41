"""sources.yaml: the shipped demo sources load, and every mistake names the source and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from huiyin.config.errors import ConfigError
from huiyin.config.settings import Settings, load_settings
from huiyin.crawler.sources import get_source, load_sources, load_sources_file, uses_demo_site

GOOD = {
    "name": "county-board",
    "kind": "html",
    "channel": "留言板",
    "jurisdiction": "130123",
    "start_urls": ["https://www.example.gov.cn/liuyan/list?page=1"],
    "interval": "10m",
    "html": {"list": {"item": "li.msg", "link": "a::attr(href)"}, "detail": {"body": "div.content"}},
}


def write(tmp_path: Path, *entries: dict) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": list(entries)}, allow_unicode=True), encoding="utf-8")
    return path


def test_shipped_sources_are_the_demo_sources(settings: Settings) -> None:
    sources = load_sources(settings)
    kinds = {s.kind for s in sources}
    assert kinds == {"html", "rss", "json_api"}
    assert all(uses_demo_site(s, settings.crawler.demo_url) for s in sources)
    assert all(u.startswith(settings.crawler.demo_url) for s in sources for u in s.start_urls)  # {demo} resolved
    board = get_source(settings, "zhengding-liuyan")
    assert board.jurisdiction == "130123" and board.channel == "留言板" and board.interval == 600


def test_a_good_entry_and_durations(tmp_path: Path) -> None:
    (source,) = load_sources_file(write(tmp_path, {**GOOD, "interval": "2h"}))
    assert source.interval == 7200 and source.enabled and source.max_pages == 5
    (source,) = load_sources_file(write(tmp_path, {**GOOD, "interval": 90}))
    assert source.interval == 90


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"kind": "ftp"}, "sources[county-board].kind"),
        ({"channel": "论坛"}, "sources[county-board].channel"),
        ({"jurisdiction": "正定县"}, "sources[county-board].jurisdiction"),
        ({"interval": "often"}, "sources[county-board].interval"),
        ({"interval": "1s"}, "sources[county-board].interval"),
        ({"encoding": "klingon"}, "sources[county-board].encoding"),
        ({"start_urls": ["ftp://x"]}, "sources[county-board].start_urls"),
        ({"start_urls": []}, "sources[county-board].start_urls"),
        ({"start_url": ["https://x.cn"]}, "sources[county-board].start_url"),
        ({"html": None}, "sources[county-board]"),
        ({"html": {"list": {"item": "li >> a"}}}, "sources[county-board].html.list.item"),
        ({"html": {"list": {"item": "li"}, "detail": {"boddy": "div"}}}, "sources[county-board].html.detail"),
        ({"html": {"list": {"item": "xpath://li[[["}}}, "sources[county-board].html.list.item"),
        ({"html": {"list": {"item": "li"}, "id_pattern": "tid=\\d+"}}, "sources[county-board].html.id_pattern"),
        ({"name": "县留言板"}, "sources[县留言板].name"),
    ],
)
def test_errors_name_the_source_and_the_key(tmp_path: Path, change: dict, key: str) -> None:
    path = write(tmp_path, {**GOOD, **change})
    with pytest.raises(ConfigError) as info:
        load_sources_file(path)
    assert info.value.key == key, str(info.value)
    assert info.value.source == str(path)


def test_json_api_needs_items_id_and_body(tmp_path: Path) -> None:
    entry = {**GOOD, "kind": "json_api", "html": None, "json_api": {"items": "data.cards[].mblog", "fields": {"id": "id"}}}
    with pytest.raises(ConfigError) as info:
        load_sources_file(write(tmp_path, entry))
    assert info.value.key == "sources[county-board].json_api.fields" and "body" in str(info.value)
    entry["json_api"] = {"items": "data.[[", "fields": {"id": "id", "body": "text"}}
    with pytest.raises(ConfigError) as info:
        load_sources_file(write(tmp_path, entry))
    assert info.value.key == "sources[county-board].json_api.items"


def test_duplicate_names_and_bad_documents(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="duplicate"):
        load_sources_file(write(tmp_path, GOOD, GOOD))
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="YAML"):
        load_sources_file(bad)
    bad.write_text("- just a list\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="sources"):
        load_sources_file(bad)


def test_user_sources_file_replaces_the_shipped_one(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    settings = load_settings(config_dir=str(tmp_path), data_dir=tmp_path / "var")
    assert [s.name for s in load_sources(settings)] == ["county-board"]
    with pytest.raises(ConfigError, match="county-board"):
        get_source(settings, "zhengding-liuyan")
