"""The `aibubble` command line: one Typer app, each command group in its own module."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from hardware_models.errors import InputError
from scenarios import cli_hw, cli_run, cli_sweep, cli_viz

app = typer.Typer(
    name="aibubble",
    help="Agent-based simulation of the AI compute economy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
cli_hw.register(app)
cli_run.register(app)
cli_sweep.register(app)
cli_viz.register(app)

_err = Console(stderr=True)


def main() -> None:
    """Console entry point: bad input is one line on stderr and exit code 2."""
    try:
        app()
    except InputError as exc:
        _err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
