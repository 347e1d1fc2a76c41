"""``huiyin bench …``: benchmarks that print figures (never assertions). Each package adds its own."""

from __future__ import annotations

import importlib

import typer

BENCH_MODULES = ("huiyin.classifier.bench", "huiyin.crawler.bench", "huiyin.responder.bench")


def register(app: typer.Typer) -> None:
    """Add the ``bench`` group with every benchmark a package provides."""
    bench_app = typer.Typer(help="基准测试 benchmarks: print measured figures, last line JSON", no_args_is_help=True)
    found = False
    for name in BENCH_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue
            raise
        module.register_bench(bench_app)
        found = True
    if found:
        app.add_typer(bench_app, name="bench")
