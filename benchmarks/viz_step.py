"""Time one Step of the step-through app: model.step() plus rendering every panel.

    .venv/bin/python benchmarks/viz_step.py [--scenario baseline] [--months 96]

A Step in the browser runs exactly this work on the server: the model's month, then the
four time-series figures and the deal network (SVG), the agents table and the month's
events. Target (issue 6): median <= 300 ms for the baseline. Browser and websocket time
come on top and are not measured here. The machine's load is printed alongside.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from viz.model import VizEconomy
from viz.panels import Dashboard
from viz.tables import agent_rows, event_rows

TARGET_MS = 300.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="baseline")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--months", type=int, default=None, help="default: the scenario's length")
    args = ap.parse_args()

    model = VizEconomy(args.scenario, seed=args.seed)
    months = args.months or model.scenario.months
    dashboard = Dashboard(model.scenario.months, model.scenario.start)
    dashboard.render(model.model_frame(), model.network.graph, model.agents_now())  # first draw
    step_ms, render_ms, total_ms = [], [], []
    while model.running and model.steps < months:
        t0 = time.perf_counter()
        model.step()
        t1 = time.perf_counter()
        dashboard.render(model.model_frame(), model.network.graph, model.agents_now())
        agent_rows(model.agents_now(), model.runways())
        event_rows(model.month_events(model.steps - 1))
        t2 = time.perf_counter()
        step_ms.append(1e3 * (t1 - t0))
        render_ms.append(1e3 * (t2 - t1))
        total_ms.append(1e3 * (t2 - t0))

    median = statistics.median(total_ms)
    q90 = statistics.quantiles(total_ms, n=10)[-1]
    print(f"viz step, {args.scenario} seed {args.seed}, {len(total_ms)} months "
          f"(load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)")
    print(f"  model.step()        median {statistics.median(step_ms):7.1f} ms")
    print(f"  panels + tables     median {statistics.median(render_ms):7.1f} ms")
    print(f"  Step total          median {median:7.1f} ms   p90 {q90:7.1f} ms   max {max(total_ms):7.1f} ms")
    print(f"  target <= {TARGET_MS:.0f} ms (median): {'met' if median <= TARGET_MS else 'NOT met'}")


if __name__ == "__main__":
    main()
