"""One router per resource, as in the full-stack FastAPI template."""

from fastapi import APIRouter

from huiyin.api.routes import auth, health, incidents, org, reports, stream, ui, users, workflow

api_router = APIRouter()
for _module in (health, auth, incidents, workflow, stream, org, reports, users):
    api_router.include_router(_module.router)

__all__ = ["api_router", "ui"]
