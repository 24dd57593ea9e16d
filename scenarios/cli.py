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
# Click's exceptions; newer typer vendors click (typer._click), so find them from a public name.
_click_exceptions = sys.modules[typer.BadParameter.__mro__[1].__module__]
_UsageError: type[Exception] = _click_exceptions.UsageError
_NoArgsIsHelp: type[Exception] | tuple[()] = getattr(_click_exceptions, "NoArgsIsHelpError", ())


def main() -> None:
    """Console entry point: bad input is one line on stderr and exit code 2."""
    try:
        code = app(standalone_mode=False)
    except InputError as exc:
        _fail(str(exc))
    except _NoArgsIsHelp as exc:
        exc.show()  # `aibubble` alone prints the help
        sys.exit(0)
    except _UsageError as exc:  # a bad flag or value: one line too, not click's usage box
        where = f"{exc.ctx.command_path}: " if exc.ctx is not None else ""
        _fail(where + exc.format_message())
    except typer.Abort:
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str) -> None:
    _err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    sys.exit(2)


if __name__ == "__main__":
    main()
