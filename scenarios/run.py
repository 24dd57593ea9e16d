"""Run one scenario and write what a user needs to see what happened.

`run` is pure (it writes nothing); `write_run` writes model.parquet, agents.parquet,
events.parquet, manifest.json and report.md with its figures into a temporary directory
next to the target and renames it into place, so an interrupted run leaves nothing
half-written. Parquet files are byte-identical for the same scenario, parameters and seed;
the wall time lives only in manifest.json.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import polars as pl

from scenarios.config import Scenario, ScenarioError, load_scenario
from world import metrics
from world.model import ComputeEconomy


@dataclass
class RunResult:
    """Everything one run produced, in memory."""

    model: pl.DataFrame
    agents: pl.DataFrame
    events: pl.DataFrame
    summary: dict
    manifest: dict


def _version() -> str:
    try:
        return version("aibubble")
    except PackageNotFoundError:
        return "0+unknown"


def run(scenario: Scenario | str | Path, seed: int = 0, months: int | None = None,
        overrides: Sequence[str] | Mapping[str, object] = (), progress: bool = False) -> RunResult:
    """Load (if needed), simulate and summarise one scenario; writes nothing.

    Args:
        scenario: a Scenario, a library name or a path to a .toml file.
        seed: the one seed of every random stream.
        months: months to simulate (default: the scenario's run.months).
        overrides: "a.b=value" strings or a {"a.b": value} mapping.
        progress: show a progress bar on stderr.
    """
    sc = scenario if isinstance(scenario, Scenario) and not overrides else load_scenario(scenario, overrides)
    n = sc.months if months is None else months
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ScenarioError(f"seed {seed!r}: expected a whole number >= 0")
    if not isinstance(n, int) or n < 1:
        raise ScenarioError(f"months {n!r}: expected a whole number >= 1")
    t0 = time.perf_counter()
    model = ComputeEconomy(sc.params, seed=seed)
    steps = range(n)
    if progress:
        from tqdm import tqdm

        steps = tqdm(steps, desc=f"{sc.name} seed {seed}", unit="month")
    for _ in steps:
        model.step()
    frame = model.model_frame()
    summary = metrics.run_summary(frame)
    summary["circular_deals"] = len(model.network.circular_deals())
    manifest = {
        "scenario": sc.name,
        "scenario_path": str(sc.path) if sc.path else None,
        "description": sc.description,
        "seed": seed,
        "months": n,
        "start": sc.start,
        "version": _version(),
        "parameters": sc.params.model_dump(mode="json"),
        "wall_time_s": round(time.perf_counter() - t0, 4),
    }
    return RunResult(frame, model.agents_frame(), model.events_frame(), summary, manifest)


def check_out_dir(out_dir: Path) -> None:
    """An output directory must be a directory (or not exist yet): checked before running."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ScenarioError(f"--out {out_dir}: exists and is not a directory; give a directory path")


def write_run(result: RunResult, out_dir: Path) -> Path:
    """Write a run's files atomically into out_dir (replacing an older run there)."""
    from scenarios.report import write_report

    out_dir = Path(out_dir)
    check_out_dir(out_dir)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    except OSError as exc:
        raise ScenarioError(f"--out {out_dir}: cannot write there ({exc.strerror})") from None
    try:
        result.model.write_parquet(tmp / "model.parquet", statistics=False)
        result.agents.write_parquet(tmp / "agents.parquet", statistics=False)
        result.events.write_parquet(tmp / "events.parquet", statistics=False)
        (tmp / "manifest.json").write_text(json.dumps({**result.manifest, "summary": result.summary},
                                                      indent=2, default=str) + "\n")
        write_report(result, tmp)
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{tmp.name[-8:]}")
            out_dir.rename(old)
            tmp.rename(out_dir)
            shutil.rmtree(old)
        else:
            tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir
