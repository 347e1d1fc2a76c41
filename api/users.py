"""Accounts: create, change and look up users; the demo's one account per role.

A user belongs to one unit of the org directory and has one role. There is no default account:
the first one comes from ``huiyin users add`` (or, in the embedded demo, ``create_demo_users``).
"""

from __future__ import annotations

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from huiyin.api.security import hash_password, random_password
from huiyin.config.errors import HuiyinError
from huiyin.config.org import OrgDirectory
from huiyin.config.settings import Settings
from huiyin.responder.store import Database
from huiyin.responder.store.tables import User

ROLES = ("publicity", "unit", "leader", "admin")
MIN_PASSWORD_LENGTH = 8


class AccountError(HuiyinError):
    """An account cannot be created or changed; the message is user-facing Chinese."""


def check_account(org: OrgDirectory, *, unit_id: str, role: str, password: str | None = None) -> None:
    """Refuse an unknown unit or role, or a short password."""
    if role not in ROLES:
        raise AccountError(f"未知角色 unknown role '{role}'（可选：{'、'.join(ROLES)}）")
    if unit_id not in org.units:
        raise AccountError(f"组织目录中没有该单位 unknown unit '{unit_id}'")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"密码至少 {MIN_PASSWORD_LENGTH} 位 password must have at least {MIN_PASSWORD_LENGTH} characters")


def find_user(session: Session, username: str) -> User | None:
    """The user with this username (case-sensitive), or None."""
    return session.scalar(select(User).where(User.username == username))


def add_user(
    session: Session,
    org: OrgDirectory,
    *,
    username: str,
    password: str,
    unit_id: str,
    role: str,
    display_name: str | None = None,
    hasher: PasswordHasher | None = None,
) -> User:
    """Create a user in ``session``'s transaction; AccountError if invalid or taken."""
    username = username.strip()
    if not username:
        raise AccountError("用户名不能为空 username is required")
    check_account(org, unit_id=unit_id, role=role, password=password)
    if find_user(session, username) is not None:
        raise AccountError(f"用户名已存在 username '{username}' is taken")
    user = User(
        username=username, password_hash=hash_password(password, hasher), unit_id=unit_id, role=role,
        display_name=display_name, active=True,
    )
    session.add(user)
    session.flush()
    return user


# The bundled demo corpus (crawler/demo) is centred on 正定县: its government's inbox has work.
DEMO_UNIT_JURISDICTION = "130123"


def demo_units(org: OrgDirectory, settings: Settings) -> dict[str, str]:
    """The unit of each demo account: the home jurisdiction's publicity office (publicity, admin)
    and government (leader), and 正定县人民政府 for the unit inbox (else the first jurisdiction
    below home)."""
    home = settings.home_jurisdiction
    children = org.children(home) if home in org.jurisdictions else []
    unit_jid = DEMO_UNIT_JURISDICTION if DEMO_UNIT_JURISDICTION in org.jurisdictions else (
        children[0].id if children else home)
    return {
        "publicity": org.publicity_office(home).id,
        "unit": org.government(unit_jid).id,
        "leader": org.government(home).id,
        "admin": org.publicity_office(home).id,
    }


def create_demo_users(db: Database, org: OrgDirectory, settings: Settings) -> list[tuple[str, str, str, str]]:
    """One account per role with a fresh random password: [(username, password, role, unit_id)].

    Existing demo accounts get a new password, so the printed ones always work.
    """
    created: list[tuple[str, str, str, str]] = []
    with db.transaction() as session:
        for role, unit_id in demo_units(org, settings).items():
            username = f"demo-{role}"
            password = random_password()
            user = find_user(session, username)
            if user is None:
                add_user(session, org, username=username, password=password, unit_id=unit_id, role=role,
                         display_name=f"演示{_ROLE_LABELS[role]}")
            else:
                user.password_hash = hash_password(password)
                user.active = True
            created.append((username, password, role, unit_id))
    return created


_ROLE_LABELS = {"publicity": "宣传部门", "unit": "责任单位", "leader": "领导", "admin": "管理员"}
ROLE_LABELS = dict(_ROLE_LABELS)
