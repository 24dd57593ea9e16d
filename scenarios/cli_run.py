"""`aibubble run SCENARIO`: one simulation, written to runs/SCENARIO-seedS."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from scenarios.config import library_names


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `aibubble` app."""

    @app.command("run")
    def run_cmd(
        scenario: Annotated[str, typer.Argument(help=f"library name ({', '.join(library_names())}) or path to a .toml file")],
        seed: Annotated[int, typer.Option("--seed", min=0, help="the one seed of every random stream")] = 0,
        months: Annotated[int | None, typer.Option("--months", min=1, help="months to simulate (default: the scenario's)")] = None,
        set_: Annotated[list[str] | None, typer.Option("--set", help="override a parameter: key=value, e.g. investors.trend_following=false")] = None,
        out: Annotated[Path | None, typer.Option("--out", help="output directory (default: runs/SCENARIO-seedS)")] = None,
    ) -> None:
        """Run one scenario; write model/agents/events parquet, manifest.json and report.md."""
        from scenarios.config import load_scenario
        from scenarios.report import burst_line
        from scenarios.run import check_out_dir, run, write_run

        sc = load_scenario(scenario, set_ or [])
        target = out if out is not None else Path("runs") / f"{sc.name}-seed{seed}"
        check_out_dir(target)
        res = run(sc, seed=seed, months=months, progress=False)
        write_run(res, target)
        s, m = res.summary, res.model
        con = Console()
        first, last = m.row(0, named=True), m.row(m.height - 1, named=True)
        con.print(f"[bold]{res.manifest['scenario']}[/] seed {seed}: {m.height} months "
                  f"({first['date']} .. {last['date']}) in {res.manifest['wall_time_s']:.2f} s")
        burst = burst_line(s, m["date"].to_list())
        con.print(f"  {burst}; startups alive {last['n_startups_alive']} "
                  f"({last['n_bankruptcies']} bankruptcies, {last['n_acquisitions']} acquisitions)")
        con.print(f"  API price index ${first['api_price_index_usd_per_mtok']:.3g} -> "
                  f"${last['api_price_index_usd_per_mtok']:.3g} per Mtok; GPU-hour "
                  f"${first['gpu_hour_price_usd']:.2f} -> ${last['gpu_hour_price_usd']:.2f} "
                  f"(peak ${s['gpu_price_peak_usd']:.2f})")
        con.print(f"  report: {target / 'report.md'}")
