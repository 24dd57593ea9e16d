"""Global sensitivity studies (Sobol, Morris) with SALib, run through the sweep machinery.

SALib draws the parameter points and computes the indices; every point is run for seeds
0..M-1 as an ordinary sweep into the same folder (so a study resumes like a sweep), and the
metric is averaged over the seeds, because the indices need one deterministic output per
point. Writes DIR/indices.parquet, DIR/study.json and figures under DIR/figures/.
"""

from __future__ import annotations

import difflib
import os
import uuid
import warnings
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from SALib.analyze import morris as morris_analyze
from SALib.analyze import sobol as sobol_analyze
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample

from hardware_models.errors import InputError
from scenarios.executors import Executor, make_executor
from scenarios.study_plots import plot_morris, plot_phase, plot_sobol
from scenarios.sweep import check_ranges, execute, package_version, plan_runs

METHODS = ("sobol", "morris")
STUDY_SEED = zlib.crc32(b"study")
"""Seed of SALib's sampler and bootstrap: fixed, so a command always means the same points."""
MORRIS_LEVELS = 4


class StudyError(RuntimeError):
    """The runs finished but the analysis cannot proceed (e.g. every seed of a point failed)."""


def summary_metrics() -> dict[str, type]:
    """Names and types of world.metrics.run_summary's outputs, learnt from a tiny flat frame."""
    from world.metrics import SUMMARY_COLUMNS, run_summary

    flat = pl.DataFrame({c: [1.0, 1.0, 1.0] for c in SUMMARY_COLUMNS if c != "step"})
    summary = run_summary(flat.with_columns(step=pl.Series([0, 1, 2])))
    return {k: type(v) for k, v in summary.items()}


def _check_metrics(metrics: Sequence[str]) -> None:
    known = summary_metrics()
    if not metrics:
        raise InputError("--metric: give at least one, e.g. --metric burst")
    numeric = [k for k, t in known.items() if t in (bool, int, float, type(None))]
    for m in metrics:
        if m not in known:
            near = difflib.get_close_matches(m, numeric, n=3)
            hint = f"closest: {', '.join(near)}; " if near else ""
            raise InputError(f"--metric {m!r}: unknown; {hint}allowed: {', '.join(numeric)}")
        if m not in numeric:
            raise InputError(f"--metric {m!r}: is text, not a number; allowed: {', '.join(numeric)}")


def sample(method: str, problem: dict[str, Any], samples: int) -> np.ndarray:
    """SALib's sample matrix for the method (first-order and total Sobol; Morris trajectories)."""
    if method == "sobol":
        return sobol_sample.sample(problem, samples, calc_second_order=False, seed=STUDY_SEED)
    return morris_sample.sample(problem, samples, num_levels=MORRIS_LEVELS, seed=STUDY_SEED)


def analyze(method: str, problem: dict[str, Any], x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """SALib's indices for one metric.

    A metric that never varies has no variance for Sobol to apportion (NaN indices); its
    Morris elementary effects are simply zero, as SALib computes.
    """
    names = problem["names"]
    if method == "sobol" and (not np.all(np.isfinite(y)) or np.ptp(y) == 0):
        return {k: np.full(len(names), np.nan) for k in ("S1", "S1_conf", "ST", "ST_conf")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if method == "sobol":
            return dict(sobol_analyze.analyze(problem, y, calc_second_order=False, seed=STUDY_SEED))
        return dict(morris_analyze.analyze(problem, x, y, num_levels=MORRIS_LEVELS, seed=STUDY_SEED))


def _points(problem: dict[str, Any], x: np.ndarray, ints: set[str]) -> list[dict[str, object]]:
    """Sample rows as parameter points; integer parameters rounded (analysis keeps x as drawn)."""
    return [
        {k: int(round(v)) if k in ints else float(v) for k, v in zip(problem["names"], row, strict=True)}
        for row in x
    ]


def _point_means(runs: pl.DataFrame, point_runs: list[list[str]], metric: str) -> np.ndarray:
    """Mean of a metric over each point's seeds (bools as 0/1: burst becomes a probability)."""
    values = dict(zip(runs["run_id"], runs[metric].cast(pl.Float64), strict=True)) if runs.height else {}
    out = np.empty(len(point_runs))
    for i, ids in enumerate(point_runs):
        got = [values[r] for r in ids if r in values and values[r] is not None]
        out[i] = np.mean(got) if got else np.nan
    return out


def study(scenario: str | Path, out: str | Path, method: str,
          params: Mapping[str, tuple[float, float]], samples: int, metrics: Sequence[str],
          seeds: int = 1, sets: Sequence[str] = (), months: int | None = None,
          workers: int | None = None, scheduler: str | None = None,
          executor: Executor | None = None, phase: tuple[str, str] | None = None,
          progress: bool | None = None) -> pl.DataFrame:
    """Run a Sobol or Morris study and return its indices (one row per metric x parameter).

    Args:
        scenario: library name or .toml path.
        out: study folder (runs as in a sweep, plus indices.parquet and figures/).
        method: "sobol" (samples = N, a power of two; N*(D+2) points) or
            "morris" (samples = trajectories; N*(D+1) points).
        params: {key: (low, high)} for each varied parameter.
        metrics: run_summary keys to analyse (e.g. "burst", "max_drawdown").
        seeds: seeds per point (0..M-1); the metric is averaged over them.
        phase: the two parameters of the phase diagram (default: the first two).
    """
    if method not in METHODS:
        raise InputError(f"--method {method!r}: allowed: {', '.join(METHODS)}")
    if not params:
        raise InputError("--param: give at least one, e.g. --param investors.trend_weight=0:1")
    if samples < 1 or (method == "sobol" and samples & (samples - 1)):
        raise InputError(f"--samples {samples}: must be >= 1 and, for sobol, a power of two")
    if seeds < 1:
        raise InputError(f"--seeds {seeds}: must be 1 or more")
    _check_metrics(metrics)
    names = list(params)
    phase = phase or (tuple(names[:2]) if len(names) >= 2 else None)  # type: ignore[assignment]
    if phase is not None and (len(phase) != 2 or any(p not in names for p in phase)):
        raise InputError(f"--phase {','.join(phase)}: must name two of the --param keys")
    paths = check_ranges(scenario, params, sets, "--param")
    ints = {k for k in names if isinstance(paths[k], int)}
    problem = {"num_vars": len(names), "names": names, "bounds": [list(params[k]) for k in names]}
    x = sample(method, problem, samples)
    plan = plan_runs(scenario, _points(problem, x, ints), list(range(seeds)), sets, months)

    out = Path(out)
    ex = executor or make_executor(workers, scheduler)
    try:
        meta = {
            "method": method, "scenario": plan.scenario.name, "problem": problem,
            "samples": samples, "points": len(x), "seeds": seeds, "metrics": list(metrics),
            "sets": list(sets), "months": months, "version": package_version(),
        }
        runs, failures = execute(plan.specs, out, ex, label=f"study {plan.scenario.name}",
                                 progress=progress, meta=("study.json", meta))
    finally:
        if executor is None:
            ex.close()

    rows: list[dict[str, Any]] = []
    fig_dir = out / "figures"
    fig_dir.mkdir(exist_ok=True)
    for metric in metrics:
        y = _point_means(runs, plan.point_runs, metric)
        if np.isnan(y).any():
            raise StudyError(
                f"{int(np.isnan(y).sum())} of {len(y)} points have no finished run with a value "
                f"for {metric!r} ({failures.height} runs failed: see {out / 'failures.parquet'})"
            )
        si = analyze(method, problem, x, y)
        for j, name in enumerate(names):
            rows.append({"method": method, "metric": metric, "parameter": name,
                         **{k: float(np.asarray(si[k])[j]) for k in si if k != "names"}})
        frame = pl.DataFrame([r for r in rows if r["metric"] == metric])
        if method == "sobol":
            plot_sobol(frame, metric, fig_dir / f"sobol_{metric}.png")
        else:
            plot_morris(frame, metric, fig_dir / f"morris_{metric}.png")
        if phase is not None:
            plot_phase(x[:, names.index(phase[0])], x[:, names.index(phase[1])], y, phase,
                       metric, seeds, fig_dir / f"phase_{metric}.png",
                       levels=MORRIS_LEVELS if method == "morris" else None)
    indices = pl.DataFrame(rows)
    tmp = out / f".indices.parquet.{uuid.uuid4().hex}"
    indices.write_parquet(tmp)
    os.replace(tmp, out / "indices.parquet")
    return indices
