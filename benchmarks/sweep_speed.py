"""Sweep throughput: 1 vs 2 local workers, and Dask LocalCluster against the local pool.

    .venv/bin/python benchmarks/sweep_speed.py [--runs 256] [--months 24] [--repeats 3]

Each configuration sweeps `runs` baseline seeds into a fresh folder (results written, as a
real sweep does) `repeats` times; figures are medians. Runs default to 24 months, which
keeps `make bench` to minutes and makes the per-run overheads (start-up, transfer,
writing) weigh more than in full 96-month runs: the ratios are conservative. Executor start-up (process pool,
LocalCluster) is timed separately from the runs. Targets (issue 5): speed-up >= 1.7x with
2 workers on 2 cores; Dask overhead <= 15%. The machine's load is printed alongside: on a
shared machine, other jobs slow the 2-worker case most.
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
          f"{args.repeats} repeats, {os.cpu_count()} CPUs, load before: {os.getloadavg()}")
    med: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in configs.items():
            times = [timed_sweep(make, specs, warm, Path(tmp), str(i)) for i in range(args.repeats)]
            start = statistics.median(t[0] for t in times)
            run = statistics.median(t[1] for t in times)
            med[name] = (start, run)
            print(f"  {name:32s} {args.runs / run:7.2f} runs/s  (runs {run:6.1f} s, "
                  f"start-up {start:4.1f} s; all: {', '.join(f'{t[1]:.1f}' for t in times)})")
    one, two, dask = (med[k] for k in configs)
    print(f"speed-up 2 workers vs 1: {one[1] / two[1]:.2f}x (target >= 1.7x)")
    print(f"Dask LocalCluster overhead vs pool: runs {dask[1] / two[1] - 1:+.1%}, "
          f"with start-up {(sum(dask)) / sum(two) - 1:+.1%} (target <= 15%)")
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
