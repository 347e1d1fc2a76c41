"""``huiyin respond`` (the responder alone) and ``huiyin audit verify``."""

from __future__ import annotations

import signal
import threading

import typer


def register(app: typer.Typer) -> None:
    """Add the responder's commands to the ``huiyin`` app."""

    @app.command("respond")
    def respond(ctx: typer.Context) -> None:
        """运行回应环节：消费已派单事件并检查时限 run the responder stage and the deadline checker."""
        from huiyin.api.context import settings_from
        from huiyin.responder.service import run_responder

        stop = threading.Event()

        def _stop(signum: int, _frame: object) -> None:  # only flip the flag; the loop drains and commits
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        run_responder(settings_from(ctx), stop=stop)

    audit_app = typer.Typer(help="审计记录 audit trail", no_args_is_help=True)

    @audit_app.command("verify")
    def verify(ctx: typer.Context) -> None:
        """校验审计哈希链 check the audit trail's hash chain; exit 1 at the first broken link."""
        from huiyin.api.context import settings_from
        from huiyin.responder import audit
        from huiyin.responder.store.db import open_database

        db = open_database(settings_from(ctx).db_url)
        try:
            with db.session() as session:
                result = audit.verify(session)
        finally:
            db.dispose()
        if result.ok:
            typer.echo(f"审计链完好 audit chain intact: {result.records} 条记录 records, head {result.head}")
            return
        typer.echo(f"审计链断裂 audit chain BROKEN at seq {result.broken_seq}: {result.problem}"
                   f"（之前 {result.records} 条完好 records before it intact）", err=True)
        raise typer.Exit(1)

    app.add_typer(audit_app, name="audit")
