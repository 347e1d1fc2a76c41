"""The dashboard's pages: static HTML and JavaScript (no build step, nothing from a CDN).

Pages load their data from the API with the session cookie. Every page is served with a strict
Content-Security-Policy (scripts only from this origin, no inline script), and the scripts put
post text into the page with ``textContent`` only, so nothing a crawled page contains can run.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, RedirectResponse

UI_DIR = Path(__file__).resolve().parent.parent / "ui"
PAGES = {"login": "login.html", "queue": "queue.html", "inbox": "inbox.html", "board": "board.html",
         "users": "users.html"}

router = APIRouter(include_in_schema=False)


@router.get("/")
def index() -> RedirectResponse:
    return RedirectResponse("/login", status_code=302)


@router.get("/{page}")
def page(page: str) -> FileResponse:
    name = PAGES.get(page)
    if name is None:
        raise HTTPException(404, detail="页面不存在")
    return FileResponse(UI_DIR / name, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})
