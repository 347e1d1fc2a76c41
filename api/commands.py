"""``huiyin serve`` (API and dashboard) and ``huiyin users …`` (accounts)."""

from __future__ import annotations

import typer

from huiyin.api.context import settings_from
from huiyin.config.errors import HuiyinError


def register(app: typer.Typer) -> None:
    """Add ``serve`` and the ``users`` group."""
    app.command("serve")(serve)
    users = typer.Typer(help="账号管理 accounts", no_args_is_help=True)
    users.command("add")(users_add)
    users.command("list")(users_list)
    users.command("deactivate")(users_deactivate)
    app.add_typer(users, name="users")


def serve(
    ctx: typer.Context,
    host: str = typer.Option(None, "--host", help="监听地址 (默认 settings.api.host)"),
    port: int = typer.Option(None, "--port", help="端口 (默认 settings.api.port)"),
) -> None:
    """提供 API 与看板 — serve the HTTP API and the dashboard (needs HUIYIN_API__SESSION_SECRET)."""
    from huiyin.api.app import create_app, make_server
    from huiyin.config.org import from_settings
    from huiyin.responder.bus import open_bus
    from huiyin.responder.store import open_database

    settings = settings_from(ctx)
    org = from_settings(settings)
    db = open_database(settings.db_url)
    bus = open_bus(settings)
    try:
        app = create_app(settings, db, org, bus=bus)
        host = host or settings.api.host
        port = port or settings.api.port
        typer.echo(f"回音 API 与看板：http://{host}:{port}/  (OpenAPI: /docs)")
        make_server(app, host=host, port=port).run()
    finally:
        bus.close()
        db.dispose()


def users_add(
    ctx: typer.Context,
    username: str = typer.Option(..., "--username", help="用户名"),
    password: str = typer.Option(..., "--password", help="密码（至少 8 位）", prompt=True, hide_input=True,
                                 confirmation_prompt=True),
    unit: str = typer.Option(..., "--unit", help="单位编号，如 130123.publicity（见 huiyin org show）"),
    role: str = typer.Option(..., "--role", help="publicity | unit | leader | admin"),
    display_name: str = typer.Option(None, "--name", help="显示名"),
) -> None:
    """新建账号 — create an account in a unit of the org directory."""
    from huiyin.api.users import add_user
    from huiyin.config.org import from_settings
    from huiyin.responder.store import open_database

    settings = settings_from(ctx)
    org = from_settings(settings)
    db = open_database(settings.db_url)
    try:
        with db.transaction() as session:
            add_user(session, org, username=username, password=password, unit_id=unit, role=role,
                     display_name=display_name)
    except HuiyinError as exc:
        typer.echo(f"错误 error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    typer.echo(f"已创建账号 created: {username} ({role}, {org.unit(unit).name})")


def users_list(ctx: typer.Context) -> None:
    """列出账号 — list accounts."""
    from sqlalchemy import select

    from huiyin.responder.store import open_database
    from huiyin.responder.store.tables import User

    db = open_database(settings_from(ctx).db_url)
    try:
        with db.session() as session:
            for u in session.scalars(select(User).order_by(User.username)):
                typer.echo(f"{u.username}\t{u.role}\t{u.unit_id}\t{'active' if u.active else 'inactive'}")
    finally:
        db.dispose()


def users_deactivate(ctx: typer.Context, username: str = typer.Argument(..., help="用户名")) -> None:
    """停用账号 — deactivate an account (it can no longer log in; its records stay)."""
    from huiyin.api.users import find_user
    from huiyin.responder.store import open_database

    db = open_database(settings_from(ctx).db_url)
    try:
        with db.transaction() as session:
            user = find_user(session, username)
            if user is None:
                typer.echo(f"错误 error: 账号不存在 no such user '{username}'", err=True)
                raise typer.Exit(1)
            user.active = False
    finally:
        db.dispose()
    typer.echo(f"已停用 deactivated: {username}")
