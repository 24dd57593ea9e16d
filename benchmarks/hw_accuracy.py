"""Accuracy of the serving model against published, measured LLM serving throughput.

    python benchmarks/hw_accuracy.py            # evaluate the shipped factors
    python benchmarks/hw_accuracy.py --write    # refit them into catalog/efficiency.toml

Prints predicted vs measured per row of ../shared/data/hw_benchmarks.csv, the median and
90th-percentile absolute percentage error overall, per chip and per workload, the fitted
efficiency factors, the leave-one-chip-out error (factors refitted without the chip, so
the chip is predicted from its specifications alone), and an out-of-sample latency check
on the TTFT rows of hw_benchmarks_other.csv. Writes docs/figures/hw_accuracy.png.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from hardware_models import calibration as cal  # noqa: E402
from hardware_models.efficiency import EFFICIENCY_FILE, Efficiency, fitted  # noqa: E402
from hardware_models.serving import serve_batch  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
FIGURE = REPO / "docs" / "figures" / "hw_accuracy.png"


def _stats(e: np.ndarray) -> str:
    e = e[np.isfinite(e)]
    if not len(e):
        return "n=0"
    return f"n={len(e):2d}  median {np.median(e):5.1f}%  p90 {np.percentile(e, 90):5.1f}%"


def _print_factors(eff: Efficiency) -> None:
    print("\nEfficiency factors (catalog/efficiency.toml):")
    print(f"  global      bw_eff {eff.bw_eff:.3f}  mfu {eff.mfu:.3f}  (chips of other generations)")
    for gen, bw, mfu in eff.by_generation:
        print(f"  {gen:11s} bw_eff {bw:.3f}  mfu {mfu:.3f}")
    print(f"  layer_us {eff.layer_us:.1f} (per layer per step)  seq_us {eff.seq_us:.2f} "
          f"(per sequence per step)  collective_us {eff.collective_us:.1f} (per all-reduce)")


def _ttft_check(eff: Efficiency, path: Path) -> None:
    """Batch-1 TTFT rows: latency the throughput fit never saw."""
    with open(path, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["metric"] == "ttft_ms" and r["input_len"]]
    if not rows:
        return
    res = serve_batch(
        [r["model"] for r in rows], [r["chip"] for r in rows], [int(r["n_chips"]) for r in rows],
        [r["precision"] for r in rows], [int(r["input_len"]) for r in rows],
        [int(r["output_len"]) for r in rows], [float(r["concurrency"]) for r in rows],
        efficiency=eff,
    )
    print(f"\nOut of sample: batch-1 TTFT rows of {path.name} (not used in the fit)")
    errs = []
    for i, r in enumerate(rows):
        pred, meas = res["ttft_ms"][i], float(r["value"])
        errs.append(abs(pred / meas - 1) * 100)
        print(f"  {r['id']} {r['model']:14s} {r['chip']:14s} x{r['n_chips']} {r['precision']:5s} "
              f"in={r['input_len']:>5s}  measured {meas:7.1f} ms  predicted {pred:7.1f} ms  {errs[-1]:5.1f}%")
    print(f"  TTFT: {_stats(np.array(errs))}")


def _figure(rows: list[cal.Row], pred: np.ndarray, loco: np.ndarray, path: Path) -> None:
    meas = np.array([r.value for r in rows])
    chips = sorted({r.chip for r in rows})
    colors = dict(zip(chips, plt.cm.tab10.colors))
    fig, axes = plt.subplots(1, 2, figsize=(11, 5.2), sharex=True, sharey=True)
    lo, hi = meas.min() / 2, meas.max() * 2
    for ax, p, title in ((axes[0], pred, "fitted on all rows"),
                         (axes[1], loco, "leave one chip out (chip never seen)")):
        x = np.geomspace(lo, hi, 10)
        ax.plot(x, x, "k-", lw=1)
        ax.fill_between(x, x * 0.85, x * 1.15, color="0.85", label="±15%")
        ax.plot(x, x * 1.4, "k:", lw=0.8, label="±40%")
        ax.plot(x, x * 0.6, "k:", lw=0.8)
        for c in chips:
            idx = [i for i, r in enumerate(rows) if r.chip == c]
            static = [i for i in idx if rows[i].workload == "static"]
            cont = [i for i in idx if rows[i].workload != "static"]
            ax.scatter(meas[cont], p[cont], color=colors[c], s=28, label=c, edgecolor="k", lw=0.3)
            ax.scatter(meas[static], p[static], color=colors[c], s=28, marker="s", edgecolor="k", lw=0.3)
        e = np.abs(p / meas - 1) * 100
        ax.set_title(f"{title}\nmedian {np.nanmedian(e):.1f}%, p90 {np.nanpercentile(e, 90):.1f}%", fontsize=10)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("measured output tokens/s (row's metric)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("predicted output tokens/s")
    axes[0].legend(fontsize=8, loc="upper left", title="circles: in-flight batching\nsquares: static batch",
                   title_fontsize=7)
    fig.suptitle("aibubble serving model vs published measurements (hw_benchmarks.csv)", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".png", dir=path.parent)
    os.close(fd)
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA / "hw_benchmarks.csv")
    parser.add_argument("--write", action="store_true", help="refit and write catalog/efficiency.toml")
    parser.add_argument("--figure", type=Path, default=FIGURE)
    args = parser.parse_args(argv)

    rows_all = cal.load_rows(args.data)
    rows = [r for r in rows_all if not r.workload.startswith("excluded")]
    meas = np.array([r.value for r in rows])
    loco = cal.leave_one_chip_out(rows)
    if args.write:
        eff = cal.fit(rows)
        e = cal.ape(cal.predict(rows, eff), meas)
        le = cal.ape(loco, meas)
        cal.write_efficiency(eff, {
            "rows": len(rows), "median_ape_pct": float(np.median(e)), "p90_ape_pct": float(np.percentile(e, 90)),
            "loco_median_ape_pct": float(np.median(le)), "loco_p90_ape_pct": float(np.percentile(le, 90)),
        }, EFFICIENCY_FILE)
        fitted.cache_clear()
        print(f"wrote {EFFICIENCY_FILE.relative_to(REPO)}")
    eff = fitted()
    pred = cal.predict(rows, eff)
    e, le = cal.ape(pred, meas), cal.ape(loco, meas)

    print(f"{'id':5s} {'model':15s} {'chip':14s} {'n':>3s} {'prec':5s} {'in/out':>11s} {'conc':>6s} "
          f"{'workload':10s} {'measured':>9s} {'predicted':>9s} {'err%':>6s} {'loco':>9s} {'err%':>6s}")
    for i, r in enumerate(rows):
        conc = "max" if r.concurrency is None else f"{r.concurrency:.0f}"
        unit = "/chip" if r.per_chip else ""
        print(f"{r.id:5s} {r.model:15s} {r.chip:14s} {r.n_chips:3d} {r.precision:5s} "
              f"{r.input_len:5d}/{r.output_len:<5d} {conc:>6s} {r.workload:10s} {r.value:9.0f} "
              f"{pred[i]:9.0f} {e[i]:6.1f} {loco[i]:9.0f} {le[i]:6.1f} {unit}")
    for r in rows_all:
        if r.workload.startswith("excluded"):
            print(f"{r.id:5s} {r.model:15s} {r.chip:14s} {r.n_chips:3d} not scored ({r.workload[10:]})")

    print(f"\nOverall (fitted factors):        {_stats(e)}")
    print(f"Overall (leave one chip out):    {_stats(le)}")
    print("\nPer chip                         fitted                              leave-one-chip-out")
    for chip in sorted({r.chip for r in rows}):
        idx = [i for i, r in enumerate(rows) if r.chip == chip]
        print(f"  {chip:14s}  {_stats(e[idx])}   {_stats(le[idx])}")
    print("\nPer workload")
    for w in sorted({r.workload for r in rows}):
        idx = [i for i, r in enumerate(rows) if r.workload == w]
        print(f"  {w:14s}  {_stats(e[idx])}")
    _print_factors(eff)
    _ttft_check(eff, args.data.parent / "hw_benchmarks_other.csv")
    _figure(rows, pred, loco, args.figure)
    print(f"\nwrote {args.figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
