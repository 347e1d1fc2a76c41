"""What every command receives: the settings object built once by the root callback."""

from __future__ import annotations

import typer

from huiyin.config.settings import Settings


def settings_from(ctx: typer.Context) -> Settings:
    """The settings object built once by ``huiyin``'s root callback."""
    return ctx.ensure_object(dict)["settings"]
