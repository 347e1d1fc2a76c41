"""The FastAPI application: ``create_app(settings, db, org, bus, workflow)``.

``huiyin serve`` and ``huiyin run`` build it; tests build it on their own database and bus. The
app reads the database, sends commands through the responder's workflow, and streams
``incident.events`` to browsers (one consumer thread per app, started by the lifespan).
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from huiyin.api.events import EventHub
from huiyin.api.metrics import ApiMetrics
from huiyin.api.routes import api_router, ui
from huiyin.api.routes.ui import UI_DIR
from huiyin.api.security import LoginThrottle, TokenService, require_secret
from huiyin.api.state import AppState, utc_now
from huiyin.config.errors import StoreError, WorkflowError
from huiyin.config.org import OrgDirectory
from huiyin.config.settings import Settings
from huiyin.responder.bus import Bus
from huiyin.responder.store import Database
from huiyin.responder.store.tables import Incident
from huiyin.responder.workflow import Workflow

log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
_DOCS_PATHS = ("/docs", "/redoc")


class EdgeMiddleware:
    """Security headers on every response and request latency per route (pure ASGI: SSE-safe)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        code = 500
        docs = scope["path"].startswith(_DOCS_PATHS)  # Swagger UI needs its CDN and inline script

        async def send_with_headers(message: Message) -> None:
            nonlocal code
            if message["type"] == "http.response.start":
                code = message["status"]
                headers = list(message.get("headers", []))
                if code == 405:  # Starlette names only the first route's methods; list every one
                    allow = ", ".join(_allowed_methods(scope))
                    headers = [(k, v) for k, v in headers if k.lower() != b"allow"] + [(b"allow", allow.encode())]
                message["headers"] = headers if docs else headers + _SECURITY_HEADERS
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            ctx = getattr(scope["app"].state, "ctx", None)
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            if ctx is not None and path != "/api/stream":  # a stream's duration is its connection time
                ctx.metrics.requests.labels(scope["method"], path, str(code)).observe(time.perf_counter() - started)


def _allowed_methods(scope: Scope) -> list[str]:
    """Methods of every route whose path matches the request's path."""
    methods: set[str] = set()
    for route in scope["app"].router.routes:
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(scope["path"]):
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def _snapshot_resolver(db: Database) -> Callable[[dict[str, Any]], Any]:
    """Event → the incident's scope columns, read fresh (a reroute changes who may see it)."""

    def resolve(event: dict[str, Any]) -> Any:
        with db.session() as session:
            row = session.execute(
                select(Incident.id, Incident.unit_id, Incident.lead_unit_id, Incident.co_unit_ids,
                       Incident.pending_transfer_to, Incident.jurisdiction_id, Incident.jurisdiction_path)
                .where(Incident.id == str(event["incident_id"]))
            ).first()
        return None if row is None else SimpleNamespace(**row._asdict())

    return resolve


def make_server(app: FastAPI, *, host: str, port: int, log_level: str = "info", **config: Any) -> uvicorn.Server:
    """A uvicorn server for ``app`` that ends live streams when it shuts down.

    uvicorn waits for open responses before it stops, and an event stream never finishes by
    itself; this server tells the streams to end first, so Ctrl+C stops it in about a second.
    """
    closing = app.state.ctx.closing

    class _Server(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            closing.set()
            await super().shutdown(sockets=sockets)

    config.setdefault("timeout_graceful_shutdown", 5)
    return _Server(uvicorn.Config(app, host=host, port=port, log_level=log_level, **config))


def create_app(
    settings: Settings,
    db: Database,
    org: OrgDirectory,
    bus: Bus | None = None,
    workflow: Workflow | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """The API and dashboard over ``db``; ``bus`` feeds the live stream and receives events.

    ``settings.api.session_secret`` is required (``security.with_demo_secret`` for the demo).
    """
    secret = require_secret(settings)
    clock = clock or utc_now
    metrics = ApiMetrics(db, bus, settings, clock)
    hub = None
    if bus is not None:
        hub = EventHub(bus, settings.topics.incident_events, _snapshot_resolver(db), on_event=metrics.observe_event)
    ctx = AppState(
        settings=settings, db=db, org=org, bus=bus,
        workflow=workflow if workflow is not None else Workflow(db, org, settings, bus=bus),
        tokens=TokenService(secret, settings.api.token_ttl_s),
        throttle=LoginThrottle(settings.api.login_attempts_per_minute),
        metrics=metrics, hub=hub, clock=clock,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if hub is not None:
            hub.start()
        try:
            yield
        finally:
            if hub is not None:
                hub.close()

    app = api_app(lifespan)
    app.state.ctx = ctx
    return app


def api_app(lifespan: Callable[[FastAPI], Any] | None = None) -> FastAPI:
    """The routes, handlers and middleware, without state: ``create_app`` adds ``app.state.ctx``.

    Building it needs no database, so tools (the OpenAPI schema, schemathesis) can have it cheaply.
    """
    app = FastAPI(
        title="回音 Huiyin API",
        version="0.1.0",
        description="政务舆情监测、派单与回应时效。登录：`POST /api/auth/token`（OAuth2 password flow）。",
        lifespan=lifespan,
    )

    @app.exception_handler(WorkflowError)
    async def _workflow_error(_request: Request, exc: WorkflowError) -> JSONResponse:
        return JSONResponse({"detail": exc.reason}, status_code=status.HTTP_409_CONFLICT)

    @app.exception_handler(StoreError)
    @app.exception_handler(OperationalError)
    async def _store_error(_request: Request, exc: Exception) -> JSONResponse:
        log.error("database unavailable: %s", exc)
        return JSONResponse({"detail": "数据库暂不可用，请稍后重试"}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE)

    app.include_router(api_router)
    app.mount("/ui", StaticFiles(directory=UI_DIR), name="ui-static")
    app.include_router(ui.router)
    app.add_middleware(EdgeMiddleware)
    return app
