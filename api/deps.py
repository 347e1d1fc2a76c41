"""Shared dependencies as named ``Annotated`` types: ``SessionDep``, ``CurrentUser``, ``OrgDep``...

A caller proves who they are with a bearer token (``Authorization: Bearer …``, the OAuth2
password flow) or, in the browser, the HttpOnly session cookie holding the same token. A request
authenticated by cookie that changes something must also carry ``X-Huiyin-Client`` (a custom
header a cross-site form cannot send), on top of the cookie's SameSite=Strict.
The user row is read on every request, so a deactivated or changed account takes effect at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from huiyin.api.principal import Principal
from huiyin.api.security import TokenError
from huiyin.api.state import AppState
from huiyin.api.users import find_user
from huiyin.config.org import OrgDirectory
from huiyin.config.settings import Settings

SESSION_COOKIE = "huiyin_session"
CLIENT_HEADER = "X-Huiyin-Client"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="/api/auth/token",
    auto_error=False,
    scheme_name="OAuth2PasswordBearer",
    description="用户名和密码换取令牌 (OAuth2 password flow)",
)


def get_ctx(request: Request) -> AppState:
    return request.app.state.ctx


CtxDep = Annotated[AppState, Depends(get_ctx)]


def get_session(ctx: CtxDep) -> Iterator[Session]:
    """A read session for one request (commands go through the workflow's own transactions)."""
    with ctx.db.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_org(ctx: CtxDep) -> OrgDirectory:
    return ctx.org


OrgDep = Annotated[OrgDirectory, Depends(get_org)]


def get_settings(ctx: CtxDep) -> Settings:
    return ctx.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def _unauthorized(detail: str = "未登录或登录已过期") -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def get_current_user(
    request: Request,
    ctx: CtxDep,
    bearer: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    """The logged-in user, or 401. The user is read in a session of its own, closed at once, so a
    long response (the live stream) holds no database connection."""
    token = bearer
    if token is None:
        token = request.cookies.get(SESSION_COOKIE)
        if token is None:
            raise _unauthorized()
        if request.method not in _SAFE_METHODS and not request.headers.get(CLIENT_HEADER):
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail="请求缺少客户端标识 (X-Huiyin-Client)")
    try:
        claims = ctx.tokens.check(token)
    except TokenError:
        raise _unauthorized() from None
    with ctx.db.session() as session:
        user = find_user(session, claims.username)
        if user is None or not user.active:
            raise _unauthorized("账号不存在或已停用")
        return Principal.of(user, ctx.org)


CurrentUser = Annotated[Principal, Depends(get_current_user)]


def get_admin(user: CurrentUser) -> Principal:
    """The current user if an administrator, else 403."""
    if user.role != "admin":
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="仅管理员可以执行此操作")
    return user


AdminUser = Annotated[Principal, Depends(get_admin)]


def get_actor(user: CurrentUser) -> Principal:
    """The current user if they may change incidents (leaders are read-only), else 403."""
    if user.read_only:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="领导账号为只读，不能办理事项")
    return user


ActingUser = Annotated[Principal, Depends(get_actor)]
