"""`aibubble sweep` and `aibubble study`: thin Typer wrappers over scenarios.sweep / .study."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.console import Console
from rich.table import Table

from hardware_models.errors import InputError

_out = Console()
if not _out.is_terminal:  # logs: keep table cells whole rather than fit 80 columns
    _out = Console(width=200)
_err = Console(stderr=True)

Sets = Annotated[list[str], typer.Option("--set", help="key=value fixed for every run (as in `aibubble run`).")]
Months = Annotated[int | None, typer.Option("--months", help="Months per run (default: the scenario's).")]
Workers = Annotated[int | None, typer.Option("--workers", help="Local worker processes (default: the cores).")]
Scheduler = Annotated[str | None, typer.Option(
    "--scheduler", help="'local' for a Dask LocalCluster, or tcp://HOST:PORT of a running `dask scheduler`.")]
Out = Annotated[Path, typer.Option("--out", help="Output folder; re-running into it skips finished runs.")]


def sweep_command(
    scenario: Annotated[str, typer.Argument(help="Library name (e.g. baseline) or path to a .toml.")],
    out: Out,
    seeds: Annotated[str, typer.Option("--seeds", help="Ranges and lists: 0-63, 1,5,9.")] = "0",
    set_: Sets = [],  # noqa: B006 - Typer reads the default, never mutates it
    grid: Annotated[list[str], typer.Option("--grid", help="key=v1,v2,...: every combination.")] = [],  # noqa: B006
    random: Annotated[list[str], typer.Option("--random", help="key=low:high, drawn --samples times.")] = [],  # noqa: B006
    samples: Annotated[int | None, typer.Option("--samples", help="Points drawn for --random.")] = None,
    months: Months = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
) -> None:
    """Run a scenario over seeds, grids and random samples; write runs.parquet and model/."""
    from scenarios.sweep import parse_grid, parse_random, sweep

    runs = sweep(scenario, out, seeds=seeds, sets=set_, grid=parse_grid(grid),
                 random=parse_random(random), samples=samples, months=months,
                 workers=workers, scheduler=scheduler)
    failed = pl.read_parquet(out / "failures.parquet").height
    _out.print(f"{runs.height} runs finished, {failed} failed, in {out}/ "
               "(runs.parquet, model/, failures.parquet, sweep.json)", soft_wrap=True)


def _param(item: str) -> tuple[str, tuple[float, float]]:
    from scenarios.sweep import parse_random

    ((key, bounds),) = parse_random([item]).items()
    return key, bounds


def study_command(
    scenario: Annotated[str, typer.Argument(help="Library name (e.g. baseline) or path to a .toml.")],
    out: Out,
    method: Annotated[str, typer.Option("--method", help="sobol or morris.")],
    param: Annotated[list[str], typer.Option("--param", help="key=low:high, one per varied parameter.")],
    samples: Annotated[int, typer.Option("--samples", help="Sobol: N (power of two); Morris: trajectories.")],
    metric: Annotated[list[str], typer.Option("--metric", help="run_summary metric, e.g. burst.")],
    seeds: Annotated[int, typer.Option("--seeds", help="Seeds per point (0..M-1), averaged.")] = 1,
    phase: Annotated[str | None, typer.Option("--phase", help="KEY1,KEY2 for the phase diagram.")] = None,
    set_: Sets = [],  # noqa: B006
    months: Months = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
) -> None:
    """Sobol or Morris sensitivity study with SALib; write indices.parquet and figures/."""
    from scenarios.study import StudyError, study

    params = dict(_param(p) for p in param)
    if len(params) != len(param):
        raise InputError("--param: a parameter is given twice")
    pair = None
    if phase is not None:
        parts = [p.strip() for p in phase.split(",")]
        if len(parts) != 2:
            raise InputError(f"--phase {phase!r}: expected KEY1,KEY2")
        pair = (parts[0], parts[1])
    try:
        indices = study(scenario, out, method, params, samples, metric, seeds=seeds, sets=set_,
                        months=months, workers=workers, scheduler=scheduler, phase=pair)
    except StudyError as exc:
        _err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    table = Table(title=f"{method} indices ({out / 'indices.parquet'})")
    cols = [c for c in indices.columns if c != "method"]
    for c in cols:
        table.add_column(c)
    for row in indices.iter_rows(named=True):
        table.add_row(*(f"{row[c]:.3g}" if isinstance(row[c], float) else str(row[c]) for c in cols))
    _out.print(table)
    _out.print(f"figures in {out / 'figures'}/", soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add `sweep` and `study` to the `aibubble` app."""
    app.command("sweep")(sweep_command)
    app.command("study")(study_command)
