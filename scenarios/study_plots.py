"""Study figures: Sobol S1/ST with confidence intervals, Morris mu*/sigma, a phase diagram.

Built on matplotlib's object API (Figure, no pyplot), so no global backend state and the
Agg canvas is used whatever the environment.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
from matplotlib.figure import Figure


def metric_label(metric: str) -> str:
    """Booleans averaged over seeds are probabilities: say so."""
    return {"burst": "burst probability", "consolidation": "consolidation probability",
            "jevons": "Jevons probability"}.get(metric, metric)


def plot_sobol(indices: pl.DataFrame, metric: str, path: Path) -> None:
    """First-order and total indices per parameter, with bootstrap confidence intervals."""
    names = indices["parameter"].to_list()
    pos = np.arange(len(names))
    fig = Figure(figsize=(1.6 + 1.3 * len(names), 4.2), layout="constrained")
    ax = fig.add_subplot()
    w = 0.38
    ax.bar(pos - w / 2, indices["S1"], w, yerr=indices["S1_conf"], capsize=4, label="S1 (first order)")
    ax.bar(pos + w / 2, indices["ST"], w, yerr=indices["ST_conf"], capsize=4, label="ST (total)")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(pos, names, rotation=20, ha="right")
    ax.set_ylabel("Sobol index (95% CI)")
    ax.set_title(f"Sobol indices of {metric_label(metric)}")
    ax.legend()
    fig.savefig(path, dpi=120)


def plot_morris(indices: pl.DataFrame, metric: str, path: Path) -> None:
    """mu* (importance) against sigma (interactions, non-linearity), with mu*'s CI."""
    fig = Figure(figsize=(6, 4.6), layout="constrained")
    ax = fig.add_subplot()
    mu, sigma, conf = (indices[c].to_numpy() for c in ("mu_star", "sigma", "mu_star_conf"))
    ax.errorbar(mu, sigma, xerr=conf, fmt="o", capsize=4)
    for name, xv, yv in zip(indices["parameter"], mu, sigma, strict=True):
        ax.annotate(name, (xv, yv), textcoords="offset points", xytext=(6, 6), fontsize=9)
    top = float(np.nanmax(np.r_[mu + conf, sigma, 1e-12])) * 1.15
    ax.plot([0, top], [0, top], ls="--", color="grey", lw=0.8, label="sigma = mu*")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("mu* (mean |elementary effect|, 95% CI)")
    ax.set_ylabel("sigma (spread of elementary effects)")
    ax.set_title(f"Morris screening of {metric_label(metric)}")
    ax.legend(loc="upper left")
    fig.savefig(path, dpi=120)


def plot_phase(xa: np.ndarray, xb: np.ndarray, y: np.ndarray, names: tuple[str, str],
               metric: str, seeds: int, path: Path, levels: int | None = None) -> None:
    """Mean of a metric over bins of two parameters (Morris: one bin per grid level)."""
    bins = levels or int(np.clip(np.sqrt(len(y) / 3), 3, 10))
    edges_a = np.linspace(xa.min(), xa.max(), bins + 1)
    edges_b = np.linspace(xb.min(), xb.max(), bins + 1)
    total, _, _ = np.histogram2d(xa, xb, bins=(edges_a, edges_b), weights=y)
    count, _, _ = np.histogram2d(xa, xb, bins=(edges_a, edges_b))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / count, np.nan)
    fig = Figure(figsize=(7.2, 5.4), layout="constrained")
    ax = fig.add_subplot()
    prob = metric in ("burst", "consolidation", "jevons")
    mesh = ax.pcolormesh(edges_a, edges_b, np.ma.masked_invalid(mean.T), cmap="viridis",
                         vmin=0 if prob else None, vmax=1 if prob else None)
    fig.colorbar(mesh, ax=ax, label=metric_label(metric))
    for i in range(bins):
        for j in range(bins):
            if count[i, j] > 0:
                ax.text((edges_a[i] + edges_a[i + 1]) / 2, (edges_b[j] + edges_b[j + 1]) / 2,
                        f"{mean[i, j]:.2g}\nn={int(count[i, j])}", ha="center", va="center",
                        fontsize=7, color="black" if mesh.norm(mean[i, j]) > 0.6 else "white")
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_title(f"{metric_label(metric)} over {names[0]} x {names[1]}\n"
                 f"(mean over {seeds} seed(s) per point and the other parameters; n = points)",
                 fontsize=9, wrap=True)
    fig.savefig(path, dpi=120)
