"""Sweep throughput: 1 vs 2 local workers, and Dask LocalCluster against the local pool.

    .venv/bin/python benchmarks/sweep_speed.py [--runs 256] [--months 24] [--repeats 3]

Each round sweeps `runs` baseline seeds with each executor into a fresh folder (results
written, as a real sweep does); figures are medians over rounds, ratios are taken within a
round. Executor start-up (process pool, LocalCluster, one warm-up run per worker) is timed
apart from the runs. Runs default to 24 months, which keeps `make bench` to minutes and
makes the per-run overheads (transfer, writing) weigh more than in full 96-month runs: the
ratios are conservative. Targets (issue 5): speed-up >= 1.7x with 2 workers on 2 cores;
Dask overhead <= 15%. The load average is printed: on a shared machine other jobs slow
the 2-worker cases most.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from scenarios.executors import DaskExecutor, Executor, PoolExecutor, SerialExecutor
from scenarios.sweep import execute, execute_run, plan_runs


def timed_sweep(make: Callable[[], Executor], specs: list, warm: list, root: Path,
                tag: str) -> tuple[float, float]:
    """(start-up seconds, run seconds) of one sweep into a fresh folder.

    Start-up includes one 1-month run per worker, so that workers have imported the model
    before the clock for the runs starts.
    """
    t0 = time.perf_counter()
    ex = make()
    for _ in ex.imap_unordered(execute_run, warm[: ex.workers]):
        pass
    t1 = time.perf_counter()
    try:
        runs, failures = execute(specs, root / f"{tag}-{time.monotonic_ns()}", ex, progress=False)
    finally:
        ex.close()
    t2 = time.perf_counter()
    if failures.height or runs.height != len(specs):
        raise SystemExit(f"{tag}: {failures.height} runs failed; first: {failures['error'][0]}")
    return t1 - t0, t2 - t1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=256)
    ap.add_argument("--months", type=int, default=24, help="0: the scenario's (96)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    months = args.months or None
    specs = plan_runs("baseline", [{}], list(range(args.runs)), months=months).specs
    warm = plan_runs("baseline", [{}], [0, 1], months=1).specs
    configs: dict[str, Callable[[], Executor]] = {
        "1 worker (in process)": SerialExecutor,
        "2 workers (process pool)": lambda: PoolExecutor(2),
        "2 workers (Dask LocalCluster)": lambda: DaskExecutor("local", workers=2),
    }
    print(f"{args.runs} baseline runs, months={months or 'scenario default'}, "
          f"{args.repeats} rounds, {os.cpu_count()} CPUs, load before: {_load()}")
    # Rounds interleave the configurations, so a burst of load from other jobs on a
    # shared machine hits one round's three timings alike; ratios are taken per round.
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in configs}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for name, make in configs.items():
                times[name].append(timed_sweep(make, specs, warm, Path(tmp), f"{r}-{len(times[name])}"))
            print(f"  round {r + 1}: load {_load()}", flush=True)
    for name, ts in times.items():
        run = statistics.median(t[1] for t in ts)
        start = statistics.median(t[0] for t in ts)
        print(f"  {name:32s} {args.runs / run:7.2f} runs/s  (runs {run:6.1f} s, start-up "
              f"{start:4.1f} s; rounds: {', '.join(f'{t[1]:.1f}' for t in ts)})")
    one, two, dask = times.values()
    speedup = statistics.median(a[1] / b[1] for a, b in zip(one, two, strict=True))
    overhead = statistics.median(d[1] / p[1] - 1 for d, p in zip(dask, two, strict=True))
    with_start = statistics.median(sum(d) / sum(p) - 1 for d, p in zip(dask, two, strict=True))
    print(f"speed-up 2 workers vs 1 (median of rounds): {speedup:.2f}x (target >= 1.7x)")
    print(f"Dask LocalCluster overhead vs pool (median of rounds): runs {overhead:+.1%}, "
          f"with start-up {with_start:+.1%} (target <= 15%)")
    print(f"load after: {_load()}")


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg()) + " (1/5/15 min)"


if __name__ == "__main__":
    main()
