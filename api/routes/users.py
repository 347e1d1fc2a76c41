"""Accounts, for administrators: list, create, change (deactivate instead of delete)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import select

from huiyin.api import schemas as s
from huiyin.api.deps import AdminUser, CtxDep, SessionDep
from huiyin.api.principal import Principal
from huiyin.api.routes.auth import user_out
from huiyin.api.security import hash_password
from huiyin.api.users import AccountError, add_user, check_account, find_user
from huiyin.responder.store.tables import User

router = APIRouter(prefix="/api/users", tags=["users 账号管理"])
_ERRORS = {
    401: {"model": s.ErrorOut, "description": "未登录"},
    403: {"model": s.ErrorOut, "description": "仅管理员"},
}
_BODY_ERRORS = {**_ERRORS, 400: {"model": s.ErrorOut, "description": "请求体无法解析"},
                409: {"model": s.ErrorOut, "description": "用户名已存在或单位、角色、密码无效"}}


def _out(ctx: CtxDep, user: User) -> s.UserOut:
    return user_out(Principal.of(user, ctx.org), ctx.org).model_copy(update={"active": user.active})


@router.get("", response_model=list[s.UserOut], responses=_ERRORS, summary="账号列表")
def list_users(ctx: CtxDep, session: SessionDep, admin: AdminUser) -> list[s.UserOut]:
    return [_out(ctx, u) for u in session.scalars(select(User).order_by(User.username))]


@router.post("", response_model=s.UserOut, status_code=status.HTTP_201_CREATED,
             responses=_BODY_ERRORS,
             summary="新建账号")
def create_user(ctx: CtxDep, admin: AdminUser, body: s.UserCreateIn) -> s.UserOut:
    try:
        with ctx.db.transaction() as session:
            user = add_user(session, ctx.org, username=body.username, password=body.password, unit_id=body.unit_id,
                            role=body.role, display_name=body.display_name)
            return _out(ctx, user)
    except AccountError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None


@router.patch("/{username}", response_model=s.UserOut,
              responses={**_BODY_ERRORS, 404: {"model": s.ErrorOut, "description": "账号不存在"}}, summary="修改账号")
def update_user(ctx: CtxDep, admin: AdminUser, username: str, body: s.UserUpdateIn) -> s.UserOut:
    try:
        with ctx.db.transaction() as session:
            user = find_user(session, username)
            if user is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, detail="账号不存在")
            check_account(ctx.org, unit_id=body.unit_id or user.unit_id, role=body.role or user.role,
                          password=body.password)
            if user.username == admin.username and (body.active is False or (body.role and body.role != "admin")):
                raise AccountError("不能停用自己或取消自己的管理员角色")
            for name in ("role", "unit_id", "active", "display_name"):
                value = getattr(body, name)
                if value is not None:
                    setattr(user, name, value)
            if body.password:
                user.password_hash = hash_password(body.password)
            session.flush()
            return _out(ctx, user)
    except AccountError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
