"""Text out of HTML, counts, canonical URLs, page checks (encodings, binary, blocking), normalisation."""

from __future__ import annotations

from datetime import datetime

import pytest

from huiyin.crawler.dates import SHANGHAI
from huiyin.crawler.normalise import RawPost, Rejected, normalise, post_id
from huiyin.crawler.pagecheck import (
    declared_encoding,
    fallback_encoding,
    is_binary,
    marker_block_reason,
    status_block_reason,
    url_block_reason,
)
from huiyin.crawler.text import canonical_url, html_to_text, parse_count

NOW = datetime(2024, 3, 5, 12, 0, tzinfo=SHANGHAI)


def test_html_to_text_keeps_paragraphs_and_drops_scripts_styles_comments() -> None:
    html = (
        "<div class='msg'>您好：<br>我是正定县<b>居民</b>&nbsp;&nbsp;反映问题。<!-- 注释 -->"
        "<p>第二段　　全角空格</p><script>var x = '不要';</script><style>p{}</style>结尾<img alt='[哭]' src='e.png'>了</div>"
    )
    assert html_to_text(html) == "您好：\n我是正定县居民 反映问题。\n第二段 全角空格\n结尾[哭]了"


def test_html_to_text_of_a_whole_page_and_of_plain_text() -> None:
    page = "<html><head><title>标题栏</title></head><body><h1>标题</h1><div>正文 &amp; 附件</div></body></html>"
    assert html_to_text(page) == "标题\n正文 & 附件"
    assert html_to_text("  3小时前 ") == "3小时前"
    assert html_to_text("") == "" and html_to_text(None) == ""


def test_html_to_text_survives_broken_markup() -> None:
    assert html_to_text("<div><p>没有闭合的<b>标签") == "没有闭合的标签"
    assert html_to_text("<<<>>>") in ("", "<<<>>>", ">>>")  # never raises


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1.2万", 12000), ("3千+", 3000), ("10w+", 100000), ("1,234", 1234), ("评论", 0), ("赞 12", 12),
     ("1.5亿", 150_000_000), ("100+", 100), ("", 0), (None, 0), (7, 7), (-3, 0), (2.9, 2), ("2.3万", 23000)],
)
def test_engagement_counts(value: object, expected: int) -> None:
    assert parse_count(value) == expected


def test_canonical_urls_are_absolute_sorted_and_without_tracking() -> None:
    url = canonical_url("../thread?tid=5&utm_source=weixin&b=2#reply", "http://bbs.example.cn/board/list?page=1")
    assert url == "http://bbs.example.cn/thread?b=2&tid=5"
    assert canonical_url("http://a.cn/x?b=1&a=2&spm=abc") == "http://a.cn/x?a=2&b=1"


def test_encoding_fallback_for_undeclared_gbk_and_declared_charsets() -> None:
    gbk = "<html><body>正定县网上留言板</body></html>".encode("gbk")
    assert declared_encoding(gbk, "text/html") is None
    assert fallback_encoding(gbk, "text/html") == "gb18030"  # instead of Scrapy's cp1252 guess
    assert fallback_encoding("正定".encode(), "text/html") == "utf-8"
    assert fallback_encoding(b'<meta charset="gbk"><p>x</p>', "text/html") is None  # declared: keep it
    assert fallback_encoding(b"plain", "text/html; charset=utf-8") is None
    assert fallback_encoding(gbk, "text/html; charset=utf-8", forced="gbk") == "gbk"  # a source override wins
    assert "正定县网上留言板" in gbk.decode(fallback_encoding(gbk, None) or "")
    gb18030_only = "𠀀 扩展字符".encode("gb18030")  # outside GBK
    assert fallback_encoding(gb18030_only, None) == "gb18030"


def test_binary_content() -> None:
    assert is_binary(b"\x89PNG\r\n\x1a\n", "image/png")
    assert is_binary(b"%PDF-1.4", "application/pdf")
    assert is_binary(b"GIF89a\x00\x00", None)
    assert not is_binary("正文".encode(), "text/html")
    assert not is_binary(b'{"ok":1}', "application/json; charset=utf-8")
    assert not is_binary(b"<rss/>", "application/rss+xml")


def test_blocking_signals() -> None:
    assert status_block_reason(403) and status_block_reason(429) and status_block_reason(401)
    assert status_block_reason(404) is None and status_block_reason(200) is None
    assert url_block_reason("https://passport.weibo.com/visitor/visitor?entry=miniblog")
    assert url_block_reason("http://bbs.example.cn/login.php?from=list")
    assert url_block_reason("http://bbs.example.cn/user/captcha?x=1")
    assert url_block_reason("http://bbs.example.cn/thread?tid=5") is None
    assert url_block_reason("http://bbs.example.cn/catalogue/verifying-things") is None
    for marker in ("验证码", "请登录", "安全验证", "访问过于频繁"):
        assert marker_block_reason(f"<html><title>提示</title><body>{marker}</body></html>")
    assert marker_block_reason("<html><body>普通页面</body></html>") is None


def test_normalise_cleans_dates_counts_urls_and_reply() -> None:
    raw = RawPost(
        source="board", external_id=" 1001 ", url="http://a.cn/t?tid=1001&utm_source=x",
        title="<b>路灯</b> 不亮 ", body="<p>常山西路</p><p>路灯不亮</p>", author=" 居民 ", time="3小时前",
        replies="2", likes="1.2万", reply="<div>已维修</div>", reply_time="03-05 10:00", channel="留言板", source_region="130123",
    )
    record = normalise(raw, now=NOW)
    assert record.id == "board:1001" and record.external_id == "1001"
    assert record.title == "路灯 不亮" and record.text == "常山西路\n路灯不亮" and record.author == "居民"
    assert record.published_at == datetime(2024, 3, 5, 9, 0, tzinfo=SHANGHAI)
    assert (record.likes, record.comments) == (12000, 2)
    assert record.reply_text == "已维修" and record.reply_at == datetime(2024, 3, 5, 10, 0, tzinfo=SHANGHAI)
    assert record.url == "http://a.cn/t?tid=1001"
    assert record.fetched_at == NOW and record.content_hash and record.source_region == "130123"


def test_normalise_keeps_an_unreadable_time_instead_of_guessing() -> None:
    record = normalise(RawPost(source="s", external_id="1", body="正文", time="很久以前"), now=NOW)
    assert record.published_at is None
    assert record.model_dump()["published_raw"] == "很久以前"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (RawPost(source="s", external_id=None, body="正文"), "missing id"),
        (RawPost(source="s", external_id="1", title="只有标题", body="<div> </div>"), "missing body"),
        (RawPost(source="s", external_id="1", body="长" * 100_001), "too long"),
    ],
)
def test_normalise_rejects_with_a_reason(raw: RawPost, reason: str) -> None:
    with pytest.raises(Rejected, match=reason):
        normalise(raw, now=NOW)


def test_post_ids_fit_the_column() -> None:
    assert post_id("board", "1") == "board:1"
    long_id = post_id("board", "x" * 300)
    assert len(long_id) <= 128 and long_id.startswith("board:h")
