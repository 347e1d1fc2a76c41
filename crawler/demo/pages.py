"""Pages of the demo site, each in the style (markup, encoding, date format) of a kind of real site.

zhengding     县级网上留言板: GBK declared in <meta>, relative dates ("3小时前", "昨天 14:20"), replies
shijiazhuang  市级网络问政: GB18030 with no charset anywhere, table layout, absolute dates
news          RSS 2.0 in UTF-8 with RFC 822 dates
weibo         a Weibo-style JSON API: cards, ``since_id`` cursors, counts such as "1.2万"
"""

from __future__ import annotations

import json
import zlib
from datetime import datetime, timedelta
from email.utils import format_datetime
from html import escape
from xml.sax.saxutils import escape as xml_escape

from huiyin.crawler.demo.corpus import DemoPost

BANNER = "演示数据 · 本站内容为回音（Huiyin）项目编写的虚构示例，不是真实留言或新闻"


def _page(title: str, body: str, charset_meta: str | None) -> str:
    meta = f'<meta http-equiv="Content-Type" content="text/html; charset={charset_meta}">' if charset_meta else ""
    return (
        f"<!DOCTYPE html><html><head>{meta}<title>{escape(title)}（演示数据）</title></head><body>"
        f'<div class="demo-banner">{BANNER}</div>{body}</body></html>'
    )


def _recent_cn(at: datetime, now: datetime) -> str | None:
    """The relative forms both sites share: 刚刚 / N分钟前 / N小时前 / 昨天 HH:MM, else None."""
    delta = now - at
    if delta < timedelta(minutes=1):
        return "刚刚"
    if delta < timedelta(hours=1):
        return f"{int(delta.total_seconds() // 60)}分钟前"
    if delta < timedelta(hours=24) and at.date() == now.date():
        return f"{int(delta.total_seconds() // 3600)}小时前"
    if at.date() == (now - timedelta(days=1)).date():
        return f"昨天 {at:%H:%M}"
    return None


def relative_cn(at: datetime, now: datetime) -> str:
    """Board style: the recent forms, else YYYY年M月D日."""
    return _recent_cn(at, now) or f"{at.year}年{at.month}月{at.day}日"


def weibo_time(at: datetime, now: datetime) -> str:
    """Weibo mobile style: the recent forms, else MM-DD this year or YYYY-MM-DD."""
    return _recent_cn(at, now) or (f"{at:%m-%d}" if at.year == now.year else f"{at:%Y-%m-%d}")


# ------------------------------------------------------------------ 正定县网上留言板 (GBK)


def board_list(chunk: list[DemoPost], now: datetime, base: str, next_href: str | None, title: str = "正定县网上留言板") -> str:
    """One list page of a 留言板 (``chunk`` are its posts; ``base`` is the board's path prefix)."""
    items = []
    for p in chunk:
        href = f"/private/liuyan/thread?tid={p.id}" if p.private else f"{base}/thread?tid={p.id}"
        state = "已回复" if p.reply else "未回复"
        items.append(
            f'<li class="msg-item"><a class="msg-title" href="{href}">{escape(p.title or "")}</a>'
            f'<span class="msg-state">{state}</span><span class="msg-time">{relative_cn(p.at, now)}</span></li>'
        )
    pager = f'<a class="next-page" href="{next_href}">下一页</a>' if next_href else ""
    body = f'<h2>{escape(title)}</h2><ul class="msg-list">{"".join(items)}</ul><div class="pager">{pager}</div>'
    return _page(title, body, "gbk")


def board_thread(p: DemoPost, now: datetime) -> str:
    """A 留言 detail page with its official reply, if any."""
    paragraphs = "".join(f"<p>{escape(line)}</p>" for line in p.body.splitlines() if line.strip())
    reply = ""
    if p.reply:
        reply = (
            f'<div class="official-reply"><div class="reply-unit">{escape(p.reply.unit)}</div>'
            f'<span class="reply-time">{p.reply.at:%m-%d %H:%M}</span>'
            f'<div class="reply-body">{escape(p.reply.text)}</div></div>'
        )
    body = (
        f'<div class="msg-detail"><h1 class="msg-title">{escape(p.title or "")}</h1>'
        f'<div class="msg-meta">留言人：<span class="msg-author">{escape(p.author)}</span>'
        f' 留言时间：<span class="msg-time">{relative_cn(p.at, now)}</span>'
        f' 支持：<span class="msg-likes">{escape(str(p.likes))}</span>'
        f' 回复：<span class="msg-replies">{escape(str(p.replies))}</span></div>'
        f'<div class="msg-body">{paragraphs}</div>{reply}</div>'
    )
    return _page(p.title or "留言", body, "gbk")


# ------------------------------------------------------------------ 石家庄市网络问政 (GB18030, undeclared)


def wenzheng_list(posts: list[DemoPost], page: int, per_page: int) -> str:
    chunk = posts[(page - 1) * per_page : page * per_page]
    rows = "".join(
        f'<tr class="wz-row"><td class="wz-no">{p.id}</td>'
        f'<td class="wz-subject"><a href="/sjz/wenzheng/detail/{p.id}.html">{escape(p.title or "")}</a></td>'
        f'<td class="wz-date">{p.at:%Y-%m-%d %H:%M}</td><td class="wz-status">{"已办结" if p.reply else "办理中"}</td></tr>'
        for p in chunk
    )
    pager = f'<a class="pg-next" href="list?p={page + 1}">下页</a>' if page * per_page < len(posts) else ""
    body = f'<h2>石家庄市网络问政平台</h2><table class="wz-table"><tbody>{rows}</tbody></table><p class="pg">{pager}</p>'
    return _page("石家庄市网络问政平台", body, None)


def wenzheng_detail(p: DemoPost) -> str:
    answer = ""
    if p.reply:
        answer = (
            f'<div class="answer"><p class="answer-org">{escape(p.reply.unit)}</p>'
            f'<p class="answer-time">答复时间：{p.reply.at.year}年{p.reply.at.month:02d}月{p.reply.at.day:02d}日 {p.reply.at:%H:%M}</p>'
            f'<div class="answer-text">{escape(p.reply.text)}</div></div>'
        )
    body = (
        f'<div id="wz-content"><h2 class="subject">{escape(p.title or "")}</h2>'
        f'<dl class="info"><dt>网友</dt><dd class="asker">{escape(p.author)}</dd>'
        f'<dt>时间</dt><dd class="asked-at">{p.at:%Y-%m-%d %H:%M:%S}</dd>'
        f'<dt>关注</dt><dd class="follow">{escape(str(p.likes))}</dd></dl>'
        f'<div class="question">{escape(p.body)}</div>{answer}</div>'
    )
    return _page(p.title or "问政", body, None)


# ------------------------------------------------------------------ RSS (UTF-8)


def news_rss(posts: list[DemoPost], base_url: str) -> str:
    items = "".join(
        f"<item><title>{xml_escape(p.title or '')}</title><link>{base_url}/news/{p.id}.html</link>"
        f'<guid isPermaLink="false">hebnews-demo-{p.id}</guid><pubDate>{format_datetime(p.at)}</pubDate>'
        f"<author>{xml_escape(p.author)}</author><description><![CDATA[<p>{escape(p.body)}</p>]]></description></item>"
        for p in posts
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>河北新闻（演示数据）</title><link>{base_url}/news/</link>"
        f"<description>{BANNER}</description><language>zh-cn</language>{items}</channel></rss>"
    )


def news_article(p: DemoPost) -> str:
    return _page(p.title or "新闻", f"<h1>{escape(p.title or '')}</h1><p>{escape(p.body)}</p>", "utf-8")


# ------------------------------------------------------------------ Weibo-style JSON API


def weibo_page(chunk: list[DemoPost], next_since_id: int | None, total: int, now: datetime) -> bytes:
    """One page of a Weibo-style timeline; ``since_id`` in ``cardlistInfo`` continues it."""
    cards = [
        {
            "card_type": 9,
            "mblog": {
                "id": str(p.id),
                "mid": str(p.id),
                "created_at": weibo_time(p.at, now),
                "text": escape(p.body).replace("#容城爆炸#", '<a href="/weibo/search?q=%23容城爆炸%23">#容城爆炸#</a>'),
                "source": "演示数据",
                "user": {"id": 7_000_000 + zlib.crc32(p.author.encode()) % 1_000_000, "screen_name": p.author},
                "reposts_count": p.reposts,
                "comments_count": p.comments,
                "attitudes_count": p.likes,
            },
        }
        for p in chunk
    ]
    info: dict[str, object] = {"total": total}
    if next_since_id is not None:
        info["since_id"] = next_since_id
    doc = {"ok": 1, "notice": "演示数据 demo data", "data": {"cardlistInfo": info, "cards": cards}}
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def weibo_status(p: DemoPost) -> str:
    return _page("微博正文", f'<div class="weibo-text">{escape(p.body)}</div><p>— {escape(p.author)}</p>', "utf-8")


# ------------------------------------------------------------------ blocked pages


def captcha_page() -> str:
    body = '<div class="verify"><h2>安全验证</h2><p>访问过于频繁，请输入验证码后继续访问。</p><img src="/captcha.png" alt="验证码"></div>'
    return _page("安全验证", body, "utf-8")


def index_page(base_url: str) -> str:
    links = [
        ("/zhengding/liuyan/list?page=1", "正定县网上留言板（GBK，相对时间）"),
        ("/sjz/wenzheng/list?p=1", "石家庄市网络问政平台（GB18030，未声明编码）"),
        ("/news/rss.xml", "河北新闻 RSS"),
        ("/weibo/api/container/getIndex?containerid=hebei", "微博话题 JSON API"),
        ("/shuangqiao/wenzheng/list", "双桥区问政（总是返回验证码）"),
        ("/robots.txt", "robots.txt"),
    ]
    items = "".join(f'<li><a href="{href}">{escape(label)}</a></li>' for href, label in links)
    return _page("回音演示站点", f"<h1>回音演示站点</h1><ul>{items}</ul>", "utf-8")
