"""The ``huiyin`` command. Each domain package contributes its own commands module.

The entry point is the only place that reads ``HUIYIN_CONFIG_DIR`` and the environment (through
``load_settings``); every command receives the resulting settings object.
"""

from __future__ import annotations

import importlib
import logging
import sys

import typer

from huiyin.config.errors import ConfigError, HuiyinError
from huiyin.api.context import settings_from  # noqa: F401 - re-exported for commands
from huiyin.config.settings import load_settings

app = typer.Typer(
    name="huiyin",
    help="回音 Huiyin — 政务舆情监测、派单与回应时效 (public-opinion monitoring, routing and response clocks).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Modules that register commands on ``app``; each is imported only if it exists.
COMMAND_MODULES = (
    "huiyin.config.commands",
    "huiyin.responder.store.commands",
    "huiyin.classifier.commands",
    "huiyin.classifier.route_command",
    "huiyin.crawler.commands",
    "huiyin.responder.commands",
    "huiyin.api.commands",
    "huiyin.api.run",
    "huiyin.api.bench",
)


@app.callback()
def _root(
    ctx: typer.Context,
    config_dir: str = typer.Option(None, "--config-dir", envvar="HUIYIN_CONFIG_DIR", help="额外配置目录 extra config folder(s)"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="详细日志 verbose logs"),
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not verbose:  # migrations and HTTP clients are chatty at INFO
        for noisy in ("alembic", "kafka", "scrapy", "httpx", "apscheduler"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    ctx.ensure_object(dict)["settings"] = load_settings(config_dir=config_dir)


def _register() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue  # that package has no commands yet
            raise
        module.register(app)


_register()


def main() -> None:
    """Console entry point: configuration errors end with a clear message and exit code 2."""
    try:
        app()
    except ConfigError as exc:
        typer.echo(f"配置错误 configuration error: {exc}", err=True)
        raise SystemExit(2) from None
    except HuiyinError as exc:
        typer.echo(f"错误 error: {exc}", err=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
