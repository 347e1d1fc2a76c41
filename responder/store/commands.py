"""``huiyin db …``: schema management."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    db_app = typer.Typer(help="数据库 database schema", no_args_is_help=True)

    @db_app.command("upgrade")
    def upgrade(ctx: typer.Context) -> None:
        """把数据库升级到最新结构 bring the database to the latest schema."""
        from huiyin.api.context import settings_from
        from huiyin.responder.store.db import open_database

        db = open_database(settings_from(ctx).db_url)
        typer.echo(f"数据库已是最新结构 schema at {db.current_revision()}: {db.safe_url}")
        db.dispose()

    app.add_typer(db_app, name="db")
