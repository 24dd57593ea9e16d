"""report.md and its five figures for one run (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import polars as pl

from world.metrics import HHI_HIGHLY_CONCENTRATED_2010, HHI_HIGHLY_CONCENTRATED_2023

if TYPE_CHECKING:
    from scenarios.run import RunResult

FIGURES = ("prices.png", "compute.png", "valuation.png", "firms.png", "events.png")
# event kinds drawn on the timeline, top to bottom
TIMELINE = ("policy", "funding_round", "round_failed", "write_down", "compute_contract", "covenant_breach",
            "fire_sale", "bankruptcy", "acquisition", "entry")


def _x(m: pl.DataFrame) -> np.ndarray:
    """Months as fractional years (2023.0 = 2023-01) for readable axes."""
    d = m["date"].to_list()
    return np.array([int(s[:4]) + (int(s[5:7]) - 1) / 12 for s in d])


def _save(fig: plt.Figure, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _prices(m: pl.DataFrame, path: Path) -> None:
    x = _x(m)
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    a.plot(x, m["api_price_index_usd_per_mtok"], label="all regions", lw=2)
    a.plot(x, m["api_price_index_us_usd_per_mtok"], label="US", lw=1, ls="--")
    a.plot(x, m["api_price_index_cn_usd_per_mtok"], label="CN", lw=1, ls=":")
    a.set_yscale("log")
    a.set_title("API price at constant capability (USD / Mtok)")
    a.legend()
    b.plot(x, m["gpu_hour_price_usd"], label="US, H100-class", lw=2)
    b.plot(x, m["gpu_hour_price_all_usd"], label="US, all classes", lw=1, ls="--")
    b.plot(x, m["gpu_hour_price_cn_usd"], label="CN, all classes", lw=1, ls=":")
    b.set_title("GPU-hour spot price (USD per H100e-hour)")
    b.legend()
    _save(fig, path)


def _compute(m: pl.DataFrame, path: Path) -> None:
    x = _x(m)
    fig, a = plt.subplots(figsize=(8, 4))
    a.plot(x, m["compute_capacity_h100e"] / 1e6, label="powered fleet", lw=2)
    a.plot(x, m["unpowered_h100e"] / 1e6, label="delivered, waiting for power", lw=1)
    a.set_ylabel("million H100-equivalents")
    a.set_title("Compute and utilisation")
    b = a.twinx()
    b.plot(x, m["compute_utilization"], color="tab:red", lw=1, label="utilisation")
    b.set_ylim(0, 1.05)
    b.set_ylabel("utilisation", color="tab:red")
    a.legend(loc="upper left")
    _save(fig, path)


def _valuation(m: pl.DataFrame, path: Path) -> None:
    x = _x(m)
    fig, a = plt.subplots(figsize=(8, 4))
    a.plot(x, m["valuation_index_usd"] / 1e9, label="valuation index", lw=2)
    a.plot(x, m["ai_revenue_usd"] * 12 / 1e9, label="AI revenue (annualised)", lw=1.5)
    a.plot(x, m["capex_usd"].rolling_sum(12, min_samples=1) / 1e9, label="AI capex (trailing 12 months)", lw=1)
    a.set_yscale("log")
    a.set_ylabel("USD bn")
    a.set_title("Valuation vs revenue vs capex")
    a.legend()
    _save(fig, path)


def _firms(m: pl.DataFrame, path: Path) -> None:
    x = _x(m)
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    a.plot(x, m["n_startups_alive"], label="startups alive", lw=2)
    a.plot(x, m["n_bankruptcies"], label="bankruptcies (cum.)", lw=1)
    a.plot(x, m["n_acquisitions"], label="acquisitions (cum.)", lw=1)
    a.set_title("Firms")
    a.legend()
    b.plot(x, m["hhi_compute"], label="HHI compute", lw=2)
    b.plot(x, m["hhi_tokens"], label="HHI tokens", lw=2)
    b.axhline(HHI_HIGHLY_CONCENTRATED_2023, color="grey", ls="--", lw=0.8)
    b.axhline(HHI_HIGHLY_CONCENTRATED_2010, color="grey", ls=":", lw=0.8)
    b.set_ylim(0, 10_000)
    b.set_title("Concentration (HHI; 1,800 and 2,500 thresholds)")
    b.legend()
    _save(fig, path)


def _events(m: pl.DataFrame, ev: pl.DataFrame, path: Path) -> None:
    fig, a = plt.subplots(figsize=(11, 3.6))
    x0 = _x(m)
    for row, kind in enumerate(TIMELINE):
        sub = ev.filter(pl.col("kind").str.starts_with(kind))
        if sub.height:
            xs = x0[np.clip(sub["step"].to_numpy(), 0, len(x0) - 1)]
            a.scatter(xs, np.full(xs.size, -row), s=12, alpha=0.6)
    a.set_yticks([-i for i in range(len(TIMELINE))], TIMELINE)
    a.set_xlim(x0[0] - 0.1, x0[-1] + 0.1)
    a.set_title("Event timeline")
    _save(fig, path)


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def write_report(result: RunResult, out: Path) -> None:
    """Write report.md and the PNGs next to it."""
    m, ev = result.model, result.events
    _prices(m, out / "prices.png")
    _compute(m, out / "compute.png")
    _valuation(m, out / "valuation.png")
    _firms(m, out / "firms.png")
    _events(m, ev, out / "events.png")
    man, s = result.manifest, result.summary
    lines = [
        f"# {man['scenario']}, seed {man['seed']}",
        "",
        man.get("description") or "",
        "",
        f"{man['months']} months from {man['start']}; aibubble {man['version']}.",
        "",
        "| measure | value |",
        "| --- | --- |",
        *[f"| {k} | {_fmt(v)} |" for k, v in s.items()],
        "",
    ]
    for fig, title in zip(FIGURES, ("Prices", "Compute and utilisation", "Valuation vs revenue",
                                    "Firm count and HHI", "Event timeline")):
        lines += [f"## {title}", "", f"![{title}]({fig})", ""]
    lines += _chain(s, ev, result.model["date"].to_list())
    (out / "report.md").write_text("\n".join(lines) + "\n")


def burst_line(summary: dict, dates: list[str]) -> str:
    """One line on the run's burst, dated: its month, depth and peak, or that there was none.

    The run's max drawdown is not the burst's depth: a run can fall further from its
    opening value than from the peak of its later boom.
    """
    if not summary.get("burst"):
        return f"no burst (max drawdown {summary['max_drawdown']:.0%})"
    return (f"burst in {dates[int(summary['burst_month'])]} (valuation -{summary['burst_depth']:.0%} "
            f"at the trough from its {dates[int(summary['burst_peak_month'])]} peak)")


def _chain(summary: dict, ev: pl.DataFrame, dates: list[str]) -> list[str]:
    """The events in the 12 months before a burst, counted by kind: the chain that led to it."""
    if not summary.get("burst"):
        return ["## No burst", "", "The valuation index never fell 50% from a run-up peak.", ""]
    b = int(summary["burst_month"])
    win = ev.filter((pl.col("step") > b - 12) & (pl.col("step") <= b))
    counts = win.group_by("kind").len().sort(["len", "kind"], descending=[True, False])
    out = [f"## The chain of events before the burst ({dates[b]}, month {b})", "",
           f"The {burst_line(summary, dates)}.", "", "| kind | events |", "| --- | --- |"]
    out += [f"| {k} | {n} |" for k, n in counts.iter_rows()]
    return out + [""]
