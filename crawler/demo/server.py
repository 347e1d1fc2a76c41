"""The demo site: a small standard-library HTTP server in a thread, serving 演示数据.

Routes (every HTML page carries the 演示数据 banner; JSON carries ``"notice": "演示数据"``):

  /robots.txt                              disallows /private/
  /zhengding/liuyan/list?page=N, /thread?tid=N   正定县网上留言板, GBK, relative dates, replies
  /sjz/wenzheng/list?p=N, /detail/N.html   石家庄市网络问政, GB18030 without a declared charset
  /news/rss.xml, /news/N.html              RSS feed
  /weibo/api/container/getIndex?since_id=  Weibo-style JSON API (cursor paging, counts)
  /shuangqiao/...                          always a captcha page (a blocked source)
  /forbidden/...  /ratelimited/...         403 / 429
  /loginwall/...                           302 to a login page
  /bad/list, /bad/thread?tid=1..5          ok, broken markup, huge, binary, 404 (quarantine)
  /boards/NAME/list, /thread               extra boards given at start (tests)
  /synth/list?page=&total=&per=, /thread   a synthetic board of any size (benchmark)

Pages that change between visits: 留言 1001 gets an official reply and more likes from its second
visit; Weibo post 4013 shows higher counts from its second appearance.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter, deque
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from huiyin.crawler.dates import SHANGHAI
from huiyin.crawler.demo import pages
from huiyin.crawler.demo.corpus import CORPUS_FILE, DemoPost, load_corpus
from huiyin.crawler.demo.synthetic import synthetic_list_ids, synthetic_post

log = logging.getLogger(__name__)
ROBOTS = "User-agent: *\nDisallow: /private/\nAllow: /\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 64
BOARD_PER_PAGE = 5


class DemoSite:
    """The demo site on ``host:port`` (port 0: any free port), served from a daemon thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Callable[[], datetime] | None = None,
        corpus_path: Path = CORPUS_FILE,
        boards: dict[str, list[DemoPost]] | None = None,
        huge_bytes: int = 3_000_000,
    ) -> None:
        self.clock = clock or (lambda: datetime.now(SHANGHAI))
        self.epoch = self.clock().astimezone(SHANGHAI)
        self.posts = load_corpus(self.epoch, corpus_path)
        self.boards = boards or {}
        self.huge_bytes = huge_bytes
        self.visits: Counter[tuple[str, int]] = Counter()
        self.changed_at: dict[tuple[str, int], datetime] = {}
        self.requests: deque[str] = deque(maxlen=200_000)
        self.user_agents: set[str] = set()
        self.served = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> DemoSite:
        self._thread = threading.Thread(target=self._server.serve_forever, name="demo-site", daemon=True)
        self._thread.start()
        log.info("演示站点已启动 demo site at %s", self.url)
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> DemoSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def site_posts(self, site: str) -> list[DemoPost]:
        """Posts of one site, newest first."""
        return sorted((p for p in self.posts if p.site == site), key=lambda p: p.at, reverse=True)

    def visit(self, site: str, post: DemoPost, *, count: bool = True) -> DemoPost:
        """The post as this visit shows it; ``changes`` apply from its second visit on."""
        key = (site, post.id)
        with self._lock:
            if count:
                self.visits[key] += 1
            visits = self.visits[key]
            if visits >= 2 and post.changes and key not in self.changed_at:
                self.changed_at[key] = self.clock().astimezone(SHANGHAI)
            changed_at = self.changed_at.get(key, self.epoch)
        return post.seen(visits, changed_at)

    # ------------------------------------------------------------------ routing

    def route(self, path: str, query: dict[str, list[str]]) -> tuple[int, str, bytes, dict[str, str]]:
        """(status, content type, body, extra headers) for a GET."""
        now = self.clock().astimezone(SHANGHAI)
        q = {k: v[0] for k, v in query.items()}
        if path == "/":
            return _html(pages.index_page(self.url))
        if path == "/robots.txt":
            return 200, "text/plain; charset=utf-8", ROBOTS.encode(), {}
        if path == "/captcha.png":
            return 200, "image/png", PNG, {}
        if path.startswith("/shuangqiao/"):
            return _html(pages.captcha_page())
        if path.startswith("/forbidden/"):
            return 403, "text/html; charset=utf-8", "<html><body><h1>403 Forbidden</h1><p>演示数据：此采集源总是拒绝访问</p></body></html>".encode(), {}
        if path.startswith("/ratelimited/"):
            return 429, "text/html; charset=utf-8", "<html><body>访问过于频繁（演示数据）</body></html>".encode(), {"Retry-After": "1"}
        if path.startswith("/loginwall/"):
            return 302, "text/html", b"", {"Location": f"/passport/login?next={path}"}
        if path.startswith("/passport/login"):
            return _html(pages._page("登录", "<form><p>请登录后查看</p><input name=user></form>", "utf-8"))
        if path.startswith("/zhengding/liuyan/"):
            return self._board("zhengding", path, q, now, "/zhengding/liuyan", self.site_posts("zhengding"))
        if path.startswith("/private/liuyan/thread"):
            post = self._find("zhengding", q.get("tid"))
            return _gbk(pages.board_thread(post, now)) if post else _not_found()
        m = re.fullmatch(r"/boards/([\w-]+)(/.*)", path)
        if m and m.group(1) in self.boards:
            board = sorted(self.boards[m.group(1)], key=lambda p: p.at, reverse=True)
            return self._board(m.group(1), m.group(2), q, now, f"/boards/{m.group(1)}", board)
        if path.startswith("/sjz/wenzheng/"):
            return self._wenzheng(path, q)
        if path == "/news/rss.xml":
            return 200, "application/rss+xml; charset=utf-8", pages.news_rss(self.site_posts("news"), self.url).encode(), {}
        m = re.fullmatch(r"/news/(\d+)\.html", path)
        if m:
            post = self._find("news", m.group(1))
            return _html(pages.news_article(post)) if post else _not_found()
        if path == "/weibo/api/container/getIndex":
            return self._weibo(q, now)
        m = re.fullmatch(r"/weibo/status/(\d+)", path)
        if m:
            post = self._find("weibo", m.group(1))
            return _html(pages.weibo_status(post)) if post else _not_found()
        if path.startswith("/bad/"):
            return self._bad(path, q, now)
        if path.startswith("/synth/"):
            return self._synthetic(path, q, now)
        return _not_found()

    def _find(self, site: str, post_id: str | None) -> DemoPost | None:
        for post in self.posts:
            if post.site == site and str(post.id) == str(post_id):
                return post
        return None

    def _board(self, site: str, sub: str, q: dict[str, str], now: datetime, base: str, posts: list[DemoPost]) -> Any:
        if sub.endswith("/list"):
            page = _int(q.get("page"), 1)
            chunk = [self.visit(site, p, count=False) for p in posts[(page - 1) * BOARD_PER_PAGE : page * BOARD_PER_PAGE]]
            more = page * BOARD_PER_PAGE < len(posts)
            return _gbk(pages.board_list(chunk, now, base, f"{base}/list?page={page + 1}" if more else None))
        if sub.endswith("/thread"):
            post = next((p for p in posts if str(p.id) == q.get("tid") and not p.private), None)
            return _gbk(pages.board_thread(self.visit(site, post), now)) if post else _not_found()
        return _not_found()

    def _wenzheng(self, path: str, q: dict[str, str]) -> Any:
        posts = self.site_posts("shijiazhuang")
        if path.endswith("/list"):
            body = pages.wenzheng_list(posts, _int(q.get("p"), 1), 4)
            return 200, "text/html", body.encode("gb18030"), {}
        m = re.search(r"/detail/(\d+)\.html$", path)
        post = self._find("shijiazhuang", m.group(1)) if m else None
        if post is None:
            return _not_found()
        return 200, "text/html", pages.wenzheng_detail(post).encode("gb18030"), {}

    def _weibo(self, q: dict[str, str], now: datetime) -> Any:
        ordered = self.site_posts("weibo")
        since = _int(q.get("since_id"), 0)
        ids = [p.id for p in ordered]
        start = ids.index(since) + 1 if since in ids else (len(ids) if since else 0)
        per = 6
        # Each appearance counts as a visit, so counts change on the next crawl.
        chunk = [self.visit("weibo", p) for p in ordered[start : start + per]]
        next_since = chunk[-1].id if chunk and start + per < len(ordered) else None
        return 200, "application/json; charset=utf-8", pages.weibo_page(chunk, next_since, len(ordered), now), {}

    def _bad(self, path: str, q: dict[str, str], now: datetime) -> Any:
        if path == "/bad/list":
            chunk = [
                DemoPost(id=i, site="bad", title=f"测试页面 {i}", body="", author="测试", at=self.epoch)
                for i in range(1, 6)
            ]
            return _gbk(pages.board_list(chunk, now, "/bad", None, title="异常页面测试板"))
        tid = _int(q.get("tid"), 0)
        ok = DemoPost(id=1, site="bad", title="正常的一页", body="这一页是正常的测试留言，有标题也有正文。", author="测试", at=self.epoch)
        if tid == 1:
            return _gbk(pages.board_thread(ok, now))
        if tid == 2:  # broken markup: the page is cut off before the body
            return 200, "text/html; charset=utf-8", '<html><body><div class="msg-detail"><h1 class="msg-title">残缺的页面'.encode(), {}
        if tid == 3:
            filler = "<p>" + "很长的内容。" * 1000 + "</p>"
            body = pages.board_thread(ok, now).replace("</body>", filler * (self.huge_bytes // len(filler.encode()) + 1) + "</body>")
            return 200, "text/html; charset=utf-8", body.encode(), {}
        if tid == 4:
            return 200, "application/octet-stream", PNG * 40, {}
        return _not_found()

    def _synthetic(self, path: str, q: dict[str, str], now: datetime) -> Any:
        if path == "/synth/list":
            page, total, per = _int(q.get("page"), 1), _int(q.get("total"), 1000), _int(q.get("per"), 20)
            chunk = [synthetic_post(i, self.epoch) for i in synthetic_list_ids(page, total, per)]
            more = page * per < total
            nxt = f"/synth/list?page={page + 1}&total={total}&per={per}" if more else None
            return _gbk(pages.board_list(chunk, now, "/synth", nxt, title="合成留言板"))
        if path == "/synth/thread":
            return _gbk(pages.board_thread(synthetic_post(_int(q.get("tid"), 1), self.epoch), now))
        return _not_found()


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _html(body: str) -> tuple[int, str, bytes, dict[str, str]]:
    return 200, "text/html; charset=utf-8", body.encode("utf-8"), {}


def _gbk(body: str) -> tuple[int, str, bytes, dict[str, str]]:
    # Charset only in the page's <meta>, as many county sites do; characters outside GBK become
    # numeric references, as real GBK sites write them.
    return 200, "text/html", body.encode("gbk", errors="xmlcharrefreplace"), {}


def _not_found() -> tuple[int, str, bytes, dict[str, str]]:
    return 404, "text/html; charset=utf-8", "<html><body>404 页面不存在（演示数据）</body></html>".encode(), {}


def _handler(site: DemoSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
        server_version = "HuiyinDemo/1.0"

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            parts = urlsplit(self.path)
            site.requests.append(self.path)
            site.user_agents.add(self.headers.get("User-Agent", ""))
            try:
                status, ctype, body, headers = site.route(parts.path, parse_qs(parts.query))
            except Exception:  # a demo bug must not kill the server thread
                log.exception("demo site failed on %s", self.path)
                status, ctype, body, headers = 500, "text/plain", b"internal error", {}
            site.served += 1
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            log.debug("demo %s", format % args)

    return Handler
