"""Log in and out: the OAuth2 password flow for programs, an HttpOnly cookie for the browser."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response, status

from huiyin.api import schemas as s
from huiyin.api.deps import SESSION_COOKIE, CtxDep, CurrentUser, SessionDep
from huiyin.api.principal import Principal
from huiyin.api.security import verify_password
from huiyin.api.users import find_user
from huiyin.config.org import OrgDirectory

router = APIRouter(prefix="/api/auth", tags=["auth 登录"])

_ERRORS = {
    400: {"model": s.ErrorOut, "description": "请求体无法解析"},
    401: {"model": s.ErrorOut, "description": "用户名或密码错误"},
    429: {"model": s.ErrorOut, "description": "登录尝试过多，稍后再试"},
}


class LoginForm:
    """The OAuth2 password-flow form (``grant_type=password`` optional, as most clients send it)."""

    def __init__(
        self,
        username: Annotated[str, Form(min_length=1, max_length=100)],
        password: Annotated[str, Form(min_length=1, max_length=256)],
        grant_type: Annotated[str, Form(pattern="^password$")] = "password",
        scope: Annotated[str, Form(max_length=200)] = "",
    ) -> None:
        self.username = username
        self.password = password


FormDep = Annotated[LoginForm, Depends()]


def user_out(user: Principal, org: OrgDirectory) -> s.UserOut:
    unit = org.units.get(user.unit_id)
    j = org.jurisdictions.get(user.jurisdiction_id)
    return s.UserOut(
        username=user.username, role=user.role, unit_id=user.unit_id, unit_name=unit.name if unit else user.unit_id,
        jurisdiction_id=user.jurisdiction_id, jurisdiction_name=(j.full_name or j.name) if j else user.jurisdiction_id,
        display_name=user.display_name, active=True,
    )


def _authenticate(ctx: CtxDep, session: SessionDep, request: Request, form: LoginForm) -> Principal:
    username = form.username.strip()[:100]
    address = request.client.host if request.client else "?"
    wait = ctx.throttle.retry_after(username, address)
    if wait:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, detail=f"登录尝试过多，请 {wait} 秒后再试", headers={"Retry-After": str(wait)}
        )
    user = find_user(session, username)
    if not verify_password(form.password, user.password_hash if user else None) or user is None or not user.active:
        ctx.throttle.failed(username, address)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="用户名或密码错误", headers={"WWW-Authenticate": "Bearer"})
    ctx.throttle.succeeded(username, address)
    return Principal.of(user, ctx.org)


@router.post("/token", response_model=s.TokenOut, responses=_ERRORS, summary="令牌登录 (OAuth2 password flow)")
def login_for_token(ctx: CtxDep, session: SessionDep, request: Request, form: FormDep) -> s.TokenOut:
    user = _authenticate(ctx, session, request, form)
    return s.TokenOut(access_token=ctx.tokens.issue(user.username), expires_in=ctx.tokens.ttl_s)


def _secure_transport(request: Request) -> bool:
    """Browsers keep Secure cookies over https and on loopback; plain http elsewhere would lose them."""
    if request.url.scheme == "https":
        return True
    host = (request.url.hostname or "").strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@router.post("/login", response_model=s.UserOut, responses=_ERRORS, summary="网页登录（设置会话 Cookie）")
def login_with_cookie(ctx: CtxDep, session: SessionDep, request: Request, response: Response, form: FormDep) -> s.UserOut:
    user = _authenticate(ctx, session, request, form)
    response.set_cookie(
        SESSION_COOKIE, ctx.tokens.issue(user.username), max_age=ctx.tokens.ttl_s, httponly=True,
        secure=_secure_transport(request), samesite="strict", path="/",
    )
    response.headers["Cache-Control"] = "no-store"
    return user_out(user, ctx.org)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, summary="退出登录")
def logout(response: Response) -> Response:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    response.status_code = status.HTTP_204_NO_CONTENT
    return response


@router.get("/me", response_model=s.UserOut, responses={401: {"model": s.ErrorOut}}, summary="当前用户")
def me(ctx: CtxDep, user: CurrentUser) -> s.UserOut:
    return user_out(user, ctx.org)
