"""Batch sweeps: many runs of one scenario over seeds, grids and random samples.

`sweep(...)` checks every input before the first run, gives each run a stable id (a hash
of the scenario file, its resolved parameters and the seed), runs what is not finished yet
on the chosen executor, and returns runs.parquet as a polars frame. Results land in the
folder as described in sweep_store.py.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from scipy.stats import qmc

from hardware_models.errors import InputError
from scenarios.executors import Executor, make_executor
from scenarios.progress import SweepProgress
from scenarios.sweep_store import RunOutput, RunSpec, SweepStore

SAMPLE_STREAM = zlib.crc32(b"sweep-random")
"""Seed of the --random sampler: fixed, so the same command draws the same points (resume)."""

_SEEDS_RE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


def parse_seeds(text: str | Sequence[int] | range) -> list[int]:
    """'0-63', '1,5,9' or '0-9,20-29' (or a list of ints) to a sorted list of distinct seeds."""
    if not isinstance(text, str):
        seeds = [int(s) for s in text]
        if any(s < 0 for s in seeds):
            raise InputError(f"--seeds {list(text)}: seeds must be integers >= 0")
        return sorted(set(seeds))
    out: set[int] = set()
    for part in text.split(","):
        m = _SEEDS_RE.match(part)
        if not m:
            raise InputError(
                f"--seeds {text!r}: cannot read {part.strip()!r}; use ranges and lists of "
                "integers >= 0, e.g. 0-63 or 1,5,9"
            )
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi < lo:
            raise InputError(f"--seeds {text!r}: range {part.strip()!r} runs backwards")
        out.update(range(lo, hi + 1))
    return sorted(out)


def _split_key(item: str, flag: str, form: str) -> tuple[str, str]:
    key, sep, rest = item.partition("=")
    if not sep or not key.strip() or not rest.strip():
        raise InputError(f"{flag} {item!r}: expected {form}")
    return key.strip(), rest.strip()


def parse_grid(items: Sequence[str]) -> dict[str, list[str]]:
    """['a.b=1,2,3'] to {'a.b': ['1', '2', '3']}."""
    grid: dict[str, list[str]] = {}
    for item in items:
        key, rest = _split_key(item, "--grid", "key=v1,v2,...")
        values = [v.strip() for v in rest.split(",")]
        if any(not v for v in values):
            raise InputError(f"--grid {item!r}: empty value in the list")
        grid[key] = values
    return grid


def parse_random(items: Sequence[str]) -> dict[str, tuple[float, float]]:
    """['a.b=0.1:0.9'] to {'a.b': (0.1, 0.9)}."""
    out: dict[str, tuple[float, float]] = {}
    for item in items:
        key, rest = _split_key(item, "--random", "key=low:high")
        lo_s, sep, hi_s = rest.partition(":")
        try:
            lo, hi = float(lo_s), float(hi_s)
        except ValueError:
            sep = ""
        if not sep or not (np.isfinite(lo) and np.isfinite(hi)):
            raise InputError(f"--random {item!r}: expected key=low:high with two numbers")
        out[key] = (lo, hi)  # check_ranges checks low < high and the schema's limits
    return out


@dataclass(frozen=True)
class Plan:
    """A checked sweep: the scenario with --set applied, and the runs to do in plan order."""

    scenario: Any
    specs: list[RunSpec]
    swept: list[str]
    point_runs: list[list[str]]
    """Run ids of each point, one per seed (a point may repeat another: same ids)."""


def _check_keys(keys: Sequence[str], paths: Mapping[str, object], flag: str) -> None:
    for key in keys:
        if key not in paths:
            near = difflib.get_close_matches(key, list(paths), n=3)
            hint = f"; closest: {', '.join(near)}" if near else ""
            raise InputError(f"{flag} {key!r}: unknown parameter{hint} (see `aibubble run --help`)")


def _file_sha256(path: Path | None) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest() if path else ""


def run_id_for(identity: Mapping[str, object], params: Mapping[str, object], seed: int,
               months: int | None) -> str:
    """A stable id (sha256, never hash()) of scenario identity, resolved parameters and seed."""
    doc = json.dumps({"scenario": identity, "params": params, "seed": seed, "months": months},
                     sort_keys=True, default=str)
    return hashlib.sha256(doc.encode()).hexdigest()[:20]


def _random_points(random: Mapping[str, tuple[float, float]], samples: int,
                   paths: Mapping[str, object]) -> list[dict[str, object]]:
    """Latin hypercube points in the --random box; integer parameters get integers."""
    keys = list(random)
    unit = qmc.LatinHypercube(d=len(keys), rng=np.random.default_rng(SAMPLE_STREAM)).random(samples)
    points = []
    for row in unit:
        point: dict[str, object] = {}
        for key, u in zip(keys, row, strict=True):
            lo, hi = random[key]
            if isinstance(paths[key], int):
                first, last = int(np.ceil(lo)), int(np.floor(hi))
                point[key] = min(last, first + int(u * (last - first + 1)))
            else:
                point[key] = float(lo + u * (hi - lo))
        points.append(point)
    return points


def plan_runs(scenario: Any, points: Sequence[Mapping[str, object]], seeds: Sequence[int],
              sets: Sequence[str] = (), months: int | None = None) -> Plan:
    """Resolve and validate every parameter point, then one RunSpec per (point, seed).

    Each point is loaded through the scenario schema, so a wrong type or an out-of-range
    value stops the sweep here, before any run, with the schema's message.
    """
    from scenarios.config import load_scenario, parameter_paths

    base = load_scenario(scenario, overrides=list(sets))
    paths = parameter_paths(base)
    swept = list(dict.fromkeys(k for p in points for k in p))
    _check_keys(swept, paths, "parameter")
    overlap = [k for k in swept if any(s.partition("=")[0].strip() == k for s in sets)]
    if overlap:
        raise InputError(f"{overlap[0]!r} is both fixed by --set and swept; choose one")
    identity = {"name": base.name, "sha256": _file_sha256(base.path)}
    specs: list[RunSpec] = []
    point_runs: list[list[str]] = []
    seen: set[str] = set()
    loaded: dict[tuple[str, ...], tuple[Any, dict[str, object]]] = {}
    for i, point in enumerate(points):
        texts = tuple(f"{k}={_as_text(v)}" for k, v in point.items())
        if texts not in loaded:  # studies revisit points: validate each once
            try:
                resolved = load_scenario(scenario, overrides=list(sets) + list(texts))
            except InputError as exc:
                raise InputError(f"swept point {', '.join(texts)}: {exc}") from None
            loaded[texts] = (resolved, parameter_paths(resolved))
        resolved, rpaths = loaded[texts]
        typed = {k: rpaths[k] for k in point}
        n_months = resolved.months if months is None else months  # default and explicit: one id
        ids = []
        for seed in seeds:
            rid = run_id_for(identity, rpaths, seed, n_months)
            ids.append(rid)
            if rid not in seen:
                seen.add(rid)
                specs.append(RunSpec(rid, i, seed, typed, resolved, n_months))
        point_runs.append(ids)
    return Plan(base, specs, swept, point_runs)


def _as_text(value: object) -> str:
    """A value as --set would spell it (TOML-like: true/false, numbers, bare strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def check_ranges(scenario: Any, ranges: Mapping[str, tuple[float, float]], sets: Sequence[str],
                 flag: str) -> dict[str, object]:
    """Check key=low:high ranges: known numeric parameters whose both ends the schema accepts.

    Returns the scenario's parameter paths (with --set applied).
    """
    from scenarios.config import load_scenario, parameter_paths

    paths = parameter_paths(load_scenario(scenario, overrides=list(sets)))
    _check_keys(list(ranges), paths, flag)
    for key in ranges:
        if isinstance(paths[key], bool) or not isinstance(paths[key], (int, float)):
            raise InputError(
                f"{flag} {key!r}: needs a numeric parameter, but it is "
                f"{type(paths[key]).__name__} ({paths[key]!r}); only numbers can be sampled"
            )
        lo, hi = ranges[key]
        if not lo < hi:
            raise InputError(f"{flag} {key}={lo:g}:{hi:g}: low must be below high")
        ends = (int(np.ceil(lo)), int(np.floor(hi))) if isinstance(paths[key], int) else (lo, hi)
        if ends[1] < ends[0]:
            raise InputError(f"{flag} {key}={lo:g}:{hi:g}: no integer in the range")
        for value in ends:  # the schema's own range check, on both ends
            try:
                load_scenario(scenario, overrides=[*sets, f"{key}={value}"])
            except InputError as exc:
                raise InputError(f"{flag} {key}={lo:g}:{hi:g}: {exc}") from None
    return paths


def sweep_points(scenario: Any, grid: Mapping[str, Sequence[object]] | None = None,
                 random: Mapping[str, tuple[float, float]] | None = None,
                 samples: int | None = None, sets: Sequence[str] = ()) -> list[dict[str, object]]:
    """The grid's product times the random samples ([{}] when nothing is swept)."""
    from scenarios.config import load_scenario, parameter_paths

    grid, random = dict(grid or {}), dict(random or {})
    if random and not samples:
        raise InputError("--random needs --samples N (how many points to draw)")
    if samples is not None and not random:
        raise InputError("--samples only applies with --random key=low:high")
    if samples is not None and samples < 1:
        raise InputError(f"--samples {samples}: must be 1 or more")
    both = set(grid) & set(random)
    if both:
        raise InputError(f"{sorted(both)[0]!r} is given to both --grid and --random; choose one")
    paths = parameter_paths(load_scenario(scenario, overrides=list(sets)))
    _check_keys(list(grid), paths, "--grid")
    check_ranges(scenario, random, sets, "--random")
    grid_points = [dict(zip(grid, combo, strict=True))
                   for combo in itertools.product(*grid.values())]
    if not random:
        return grid_points
    rand = _random_points(random, samples or 0, paths)
    return [{**g, **r} for g in grid_points for r in rand]


def execute_run(spec: RunSpec) -> RunOutput:
    """The sweep task: one economy run, its monthly rows and summary (runs in a worker)."""
    from scenarios.run import run

    result = run(spec.payload, seed=spec.seed, months=spec.months)
    return RunOutput(result.model, result.summary)


def execute(specs: Sequence[RunSpec], out: Path, executor: Executor,
            task: Callable[[RunSpec], RunOutput] = execute_run, label: str = "sweep",
            progress: bool | None = None,
            meta: tuple[str, dict[str, Any]] | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Run the specs not finished in `out`, write each as it lands, rebuild the tables.

    `meta` is (file name, content) of the folder's description (sweep.json, study.json).
    Returns (runs, failures) for all specs, finished now or before.
    """
    store = SweepStore(out)
    store.prepare()
    try:
        if meta is not None:
            store.write_json(*meta)
        done = store.finished()
        todo = [s for s in specs if s.run_id not in done]
        bar = SweepProgress(len(todo), label, live=progress)
        try:
            for d in executor.imap_unordered(task, todo):
                spec = todo[d.index]
                ok = d.error is None
                if ok:
                    try:
                        store.commit(spec, d.value)
                    except Exception as exc:  # noqa: BLE001 - a malformed result fails that run only
                        ok = False
                        store.record_failure(spec, f"{type(exc).__name__}: {exc}", None)
                else:
                    store.record_failure(spec, d.error or "", d.traceback)
                bar.advance(ok)
        finally:
            bar.close()
        return store.rebuild(specs)
    finally:
        store.close()


def package_version() -> str:
    """aibubble's installed version, for sweep.json."""
    try:
        return version("aibubble")
    except PackageNotFoundError:
        return "unknown"


def command_line(scenario: Any, seeds: Sequence[int], sets: Sequence[str],
                 grid: Mapping[str, Sequence[object]], random: Mapping[str, tuple[float, float]],
                 samples: int | None, months: int | None) -> str:
    """The `aibubble sweep` command that reproduces this sweep (workers and executor aside)."""
    parts = ["aibubble", "sweep", str(scenario), "--seeds", ",".join(map(str, seeds))]
    parts += [a for s in sets for a in ("--set", s)]
    parts += [a for k, vs in grid.items() for a in ("--grid", f"{k}={','.join(map(_as_text, vs))}")]
    parts += [a for k, (lo, hi) in random.items() for a in ("--random", f"{k}={lo:g}:{hi:g}")]
    if samples is not None:
        parts += ["--samples", str(samples)]
    if months is not None:
        parts += ["--months", str(months)]
    return " ".join(parts)


def sweep(scenario: str | Path, out: str | Path, seeds: str | Sequence[int] = "0",
          sets: Sequence[str] = (), grid: Mapping[str, Sequence[object]] | None = None,
          random: Mapping[str, tuple[float, float]] | None = None, samples: int | None = None,
          months: int | None = None, workers: int | None = None, scheduler: str | None = None,
          executor: Executor | None = None, progress: bool | None = None) -> pl.DataFrame:
    """Run a sweep and return runs.parquet as a frame (one row per finished run).

    Args:
        scenario: library name ("baseline") or path to a scenario .toml.
        out: the sweep folder; re-running into it skips finished runs.
        seeds: "0-63", "1,5,9" or a list of ints.
        sets: "key=value" fixed for every run, as in `aibubble run --set`.
        grid: {key: [values]}; every combination is run.
        random: {key: (low, high)} with `samples` Latin-hypercube points.
        months: run length (default: the scenario's).
        workers: local processes (default: the cores); with scheduler="local", Dask workers.
        scheduler: None (local pool), "local" (Dask LocalCluster) or "tcp://host:port".
        executor: an executor object instead of workers/scheduler (tests, notebooks).
        progress: live bar (True), plain lines (False), or by whether stderr is a terminal.

    Raises:
        InputError: any bad input, before a single run starts.
    """
    seed_list = parse_seeds(seeds)
    if not seed_list:
        raise InputError("--seeds: no seeds given")
    if months is not None and months < 1:
        raise InputError(f"--months {months}: must be 1 or more")
    grid = {k: list(v) for k, v in (grid or {}).items()}
    random = dict(random or {})
    points = sweep_points(scenario, grid, random, samples, sets)
    plan = plan_runs(scenario, points, seed_list, sets, months)
    ex = executor or make_executor(workers, scheduler)
    try:
        meta = {
            "command": command_line(scenario, seed_list, sets, grid, random, samples, months),
            "scenario": plan.scenario.name,
            "scenario_path": str(plan.scenario.path or ""),
            "scenario_sha256": _file_sha256(plan.scenario.path),
            "version": package_version(),
            "seeds": seed_list,
            "swept": plan.swept,
            "runs": len(plan.specs),
        }
        runs, _ = execute(plan.specs, Path(out), ex, label=f"sweep {plan.scenario.name}",
                          progress=progress, meta=("sweep.json", meta))
    finally:
        if executor is None:
            ex.close()
    return runs
