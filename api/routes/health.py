"""Liveness and metrics: ``/api/health`` for people and probes, ``/metrics`` for Prometheus.

Both answer without a login: they carry counts, never incident data.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from huiyin.api import schemas as s
from huiyin.api.deps import CtxDep

router = APIRouter(tags=["health 运行状态"])
VERSION = "0.1.0"


@router.get("/api/health", response_model=s.HealthOut, summary="运行状态")
def health(ctx: CtxDep) -> s.HealthOut:
    try:
        with ctx.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # report, do not fail: the probe wants to know what is down
        database = f"error: {type(exc).__name__}"
    bus = "absent" if ctx.bus is None else type(ctx.bus).__name__
    hub = ctx.hub
    stream = "absent" if hub is None else ("running" if hub.running and not hub.error else f"error: {hub.error}")
    ok = database == "ok" and not stream.startswith("error")
    return s.HealthOut(status="ok" if ok else "degraded", database=database, bus=bus, stream=stream, version=VERSION)


@router.get(
    "/metrics",
    response_class=Response,
    summary="Prometheus 指标",
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}, "description": "指标文本"}},
)
def metrics(ctx: CtxDep) -> Response:
    return Response(ctx.metrics.render(), media_type=CONTENT_TYPE_LATEST)
