"""Speed and memory of the economy: the baseline's seconds per 96-month run (median), its
peak memory, and the cost curve at 10x and 100x the agents (near-linear is the target).

Run: .venv/bin/python benchmarks/sim_speed.py [--quick]
Prints figures; asserts nothing (targets from issue 3: <= 1 s per baseline run, < 300 MB).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
import tracemalloc

from scenarios.config import load_scenario
from world.model import ComputeEconomy

SCALED = ("startups.n", "investors.n_vc", "hyperscalers.n_us", "hyperscalers.n_cn",
          "hyperscalers.n_neocloud", "hyperscalers.n_state")


def scaled_params(k: int):
    """The baseline with every agent count multiplied by k (vendors stay the catalog's)."""
    base = load_scenario("baseline").params
    values = {"startups.n": base.startups.n, "investors.n_vc": base.investors.n_vc,
              "hyperscalers.n_us": base.hyperscalers.n_us, "hyperscalers.n_cn": base.hyperscalers.n_cn,
              "hyperscalers.n_neocloud": base.hyperscalers.n_neocloud, "hyperscalers.n_state": base.hyperscalers.n_state}
    over = {key: values[key] * k for key in SCALED}
    # entry scales with the population, so the 10x world stays 10x
    over["startups.entry_per_month"] = base.startups.entry_per_month * k
    return load_scenario("baseline", over).params


def one_run(params, seed: int, months: int) -> tuple[float, int]:
    t0 = time.perf_counter()
    m = ComputeEconomy(params, seed=seed)
    for _ in range(months):
        m.step()
    m.model_frame()
    m.agents_frame()
    return time.perf_counter() - t0, len(m.agents)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer repeats, 100x for 24 months only")
    args = ap.parse_args()
    reps = 3 if args.quick else 5
    base = scaled_params(1)
    one_run(base, 0, 12)  # warm the hardware-model caches
    times = [one_run(base, s, 96)[0] for s in range(reps)]
    tracemalloc.start()
    one_run(base, 0, 96)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"baseline, 96 months: median {statistics.median(times):.3f} s/run over {reps} seeds "
          f"(min {min(times):.3f}, max {max(times):.3f}); target <= 1 s")
    print(f"peak Python allocations during one run {peak / 2**20:.1f} MB; process max RSS {rss_mb:.0f} MB; target < 300 MB")
    print()
    print("| agents x | agents at start | months | s/run | s per agent-month | relative to 1x |")
    print("| --- | --- | --- | --- | --- | --- |")
    ref = None
    for k in (1, 10, 100):
        months = 24 if (k == 100 and args.quick) else 96
        secs, n = one_run(scaled_params(k), 0, months)
        per = secs / (n * months)
        ref = per if ref is None else ref
        print(f"| {k} | {n} | {months} | {secs:.2f} | {per * 1e6:.1f} us | {per / ref:.2f} |")


if __name__ == "__main__":
    main()
