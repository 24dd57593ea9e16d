"""The hardware-model demo that `make run` calls: what a million output tokens costs.

A dense 70B model and a large MoE, served on one 8-chip server of each kind at the same
rented price per chip-hour: the table and the figure show how memory bandwidth, capacity
and low-precision support, not list compute, set the price of a token.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from hardware_models import serving, specs, tco

MODELS = ("llama-3.3-70b", "qwen3-235b-a22b")  # dense 70B; MoE of 235B total, 22B active
LABELS = {"llama-3.3-70b": "dense: llama-3.3-70b", "qwen3-235b-a22b": "MoE: qwen3-235b-a22b"}
CHIPS = ("a100-80gb-sxm", "h100-sxm", "h20", "h200-sxm", "b200", "mi300x", "ascend-910c")
N_CHIPS = 8  # one server: the scale-up domain of most catalogued chips
INPUT_LEN, OUTPUT_LEN = 1024, 512  # a chat-like request
GPU_HOUR_USD = 2.0  # one rented price for every chip, so only the physics differs
FIGURE = Path("runs/demo/hw_demo.png")


def precision_for(chip: specs.Chip) -> str:
    """FP8 where the chip has FP8 tensor cores (how such chips are served), else BF16."""
    return "fp8" if chip.fp8_tflops else "bf16"


def demo_results() -> dict[str, np.ndarray]:
    """Every (model, chip) pair at its max-throughput point, in one vectorised call."""
    pairs = [(m, c) for m in MODELS for c in CHIPS]
    model = np.array([m for m, _ in pairs])
    chip = np.array([c for _, c in pairs])
    precision = np.array([precision_for(specs.get_chip(c)) for c in chip])
    n = len(pairs)
    res = serving.serve_batch(model, chip, np.full(n, N_CHIPS), precision,
                              np.full(n, INPUT_LEN), np.full(n, OUTPUT_LEN))
    ok = np.asarray(res["error"]) == ""
    tps = np.where(ok, np.asarray(res["output_tokens_per_s"], dtype=float), np.nan)
    return {"model": model, "chip": chip, "precision": precision, "tps": tps,
            "cost": tco.cost_per_mtok_usd(tps, np.full(n, N_CHIPS), GPU_HOUR_USD),
            "error": np.asarray(res["error"])}


def print_table(r: dict[str, np.ndarray], console: Console) -> None:
    table = Table(title=f"USD per million output tokens on {N_CHIPS} chips at "
                        f"${GPU_HOUR_USD:.2f}/chip-hour (input {INPUT_LEN}, output "
                        f"{OUTPUT_LEN} tokens, max-throughput point)",
                  caption=" / ".join(LABELS[m] for m in MODELS))
    table.add_column("chip", no_wrap=True)
    table.add_column("precision")
    for m in MODELS:
        kind = LABELS[m].split(":")[0]
        table.add_column(f"{kind}\ntok/s/chip", justify="right")
        table.add_column(f"{kind}\nUSD/Mtok", justify="right")
    for c in CHIPS:
        cells = [c, precision_for(specs.get_chip(c))]
        for m in MODELS:
            i = int(np.flatnonzero((r["model"] == m) & (r["chip"] == c))[0])
            if r["error"][i]:
                cells += ["-", "does not fit" if "fit" in r["error"][i] else "error"]
            else:
                cells += [f"{r['tps'][i] / N_CHIPS:,.0f}", f"{r['cost'][i]:.3f}"]
        table.add_row(*cells)
    console.print(table)


def save_figure(r: dict[str, np.ndarray], path: Path) -> Path:
    """Two panels (cost per Mtok, throughput per chip), written atomically as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), constrained_layout=True)
    x = np.arange(len(CHIPS))
    width = 0.38
    for k, m in enumerate(MODELS):
        sel = r["model"] == m
        off = (k - 0.5) * width
        bars = axes[0].bar(x + off, r["cost"][sel], width, label=LABELS[m])
        axes[0].bar_label(bars, fmt="%.2f", fontsize=7)
        axes[1].bar(x + off, r["tps"][sel] / N_CHIPS, width, label=LABELS[m])
        for xi in x[np.isnan(r["cost"][sel])]:
            for ax in axes:
                ax.text(xi + off, 0, "does not fit", rotation=90, ha="center",
                        va="bottom", fontsize=8)
    axes[0].set_ylabel("USD per million output tokens")
    axes[0].set_title(f"Cost at ${GPU_HOUR_USD:.0f}/chip-hour, {N_CHIPS} chips, "
                      "FP8 where the chip has it")
    axes[1].set_ylabel("output tokens/s per chip")
    axes[1].set_title(f"Throughput (input {INPUT_LEN}, output {OUTPUT_LEN})")
    labels = [f"{c}\n{precision_for(specs.get_chip(c))}" for c in CHIPS]
    for ax in axes:
        ax.set_xticks(x, labels, fontsize=8)
        ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".png", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; the figure is for everyone
    try:
        fig.savefig(tmp, dpi=120)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        Path(tmp).unlink(missing_ok=True)
    return path


def run_demo(console: Console, figure: Path = FIGURE) -> Path:
    """Print the table, write the figure, say where it is."""
    r = demo_results()
    print_table(r, console)
    out = save_figure(r, figure)
    console.print(f"figure: {out}")
    return out
