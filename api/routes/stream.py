"""The live stream: Server-Sent Events of incident changes the caller may see.

Events: ``ready`` once connected (the client reloads its list then, so nothing between its last
load and the connection is missed), ``incident`` for each change (the IncidentEvent JSON),
``resync`` when the client fell behind; a comment line every 15 s keeps proxies from closing it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import StreamingResponse

from huiyin.api import schemas as s
from huiyin.api.deps import CtxDep, CurrentUser
from huiyin.api.events import RESYNC
from huiyin.responder.visibility import can_see

router = APIRouter(prefix="/api", tags=["stream 实时推送"])
KEEPALIVE_S = 15.0


def _frame(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


@router.get(
    "/stream",
    response_class=StreamingResponse,
    summary="实时推送（Server-Sent Events）：新告警与事项变化",
    responses={
        200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}, "description": "事件流"},
        401: {"model": s.ErrorOut, "description": "未登录"},
        503: {"model": s.ErrorOut, "description": "实时推送不可用"},
    },
)
async def stream(ctx: CtxDep, user: CurrentUser) -> StreamingResponse:
    hub = ctx.hub
    if hub is None or not hub.running:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="实时推送不可用（未连接消息总线）")
    org = ctx.org
    sub = hub.subscribe(lambda incident: can_see(org, user, incident))
    ctx.metrics.stream_clients.inc()

    async def frames() -> AsyncIterator[str]:
        try:
            yield "retry: 3000\n" + _frame("ready", {"user": user.username})
            idle = 0.0
            while hub.running and not ctx.closing.is_set():
                try:
                    event = await asyncio.wait_for(sub.queue.get(), timeout=1.0)
                except TimeoutError:
                    idle += 1.0
                    if idle >= KEEPALIVE_S:
                        idle = 0.0
                        yield ": keepalive\n\n"
                    continue
                idle = 0.0
                yield _frame("resync" if event is RESYNC else "incident", event)
        finally:
            hub.unsubscribe(sub)
            ctx.metrics.stream_clients.dec()

    return StreamingResponse(
        frames(), media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
